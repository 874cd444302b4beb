import { createHash } from "node:crypto";
import { describe, expect, it } from "vitest";

import { DigestMismatchError, RegistryError } from "../errors.js";
import { formatReference, parseReference, registryBaseUrl } from "./reference.js";
import { parseWwwAuthenticate, RegistryClient } from "./registry.js";

describe("parseReference", () => {
  it.each([
    ["busybox", { registry: "docker.io", repository: "library/busybox", tag: "latest" }],
    ["debian:bookworm", { registry: "docker.io", repository: "library/debian", tag: "bookworm" }],
    ["docker.io/library/debian:bookworm", { registry: "docker.io", repository: "library/debian", tag: "bookworm" }],
    ["index.docker.io/debian", { registry: "docker.io", repository: "library/debian", tag: "latest" }],
    ["user/app:1.2", { registry: "docker.io", repository: "user/app", tag: "1.2" }],
    ["127.0.0.1:5000/busybox:1", { registry: "127.0.0.1:5000", repository: "busybox", tag: "1" }],
    ["localhost/a/b/c", { registry: "localhost", repository: "a/b/c", tag: "latest" }],
    ["localhost:5000/x", { registry: "localhost:5000", repository: "x", tag: "latest" }],
    ["[::1]:5000/x:y", { registry: "[::1]:5000", repository: "x", tag: "y" }],
    ["ghcr.io/o/r@sha256:" + "a".repeat(64), { registry: "ghcr.io", repository: "o/r", digest: "sha256:" + "a".repeat(64) }],
    ["quay.io/o/r:t@sha256:" + "b".repeat(64), { registry: "quay.io", repository: "o/r", tag: "t", digest: "sha256:" + "b".repeat(64) }],
    ["my-reg.example.com/a__b/c-d.e:v_1", { registry: "my-reg.example.com", repository: "a__b/c-d.e", tag: "v_1" }],
  ])("%s", (ref, want) => {
    expect(parseReference(ref)).toEqual(want);
  });

  it.each([
    ["Busybox", "invalid repository name"],
    ["host/repo@sha256:abc", "invalid digest"],
    ["host/repo:-x", "invalid tag"],
    ["host/repo/", "invalid repository name"],
    ["", "invalid repository name"],
    ["a..b/c", "invalid registry"],
    ["x/" + "a".repeat(300), "repository name longer than 255"],
  ])("rejects %j", (ref, why) => {
    expect(() => parseReference(ref)).toThrow(RegistryError);
    expect(() => parseReference(ref)).toThrow(`pull ${ref}: reference: ${why}`);
  });

  it("formats the canonical reference", () => {
    expect(formatReference(parseReference("debian"))).toBe("docker.io/library/debian:latest");
    expect(formatReference(parseReference("127.0.0.1:5000/a:1"))).toBe("127.0.0.1:5000/a:1");
  });

  it("picks https except for loopback or when asked", () => {
    expect(registryBaseUrl(parseReference("debian"))).toBe("https://registry-1.docker.io");
    expect(registryBaseUrl(parseReference("ghcr.io/a/b"))).toBe("https://ghcr.io");
    expect(registryBaseUrl(parseReference("127.0.0.1:5000/a"))).toBe("http://127.0.0.1:5000");
    expect(registryBaseUrl(parseReference("localhost/a"))).toBe("http://localhost");
    expect(registryBaseUrl(parseReference("[::1]:1/a"))).toBe("http://[::1]:1");
    expect(registryBaseUrl(parseReference("reg.lan:5000/a"), { plainHttp: true })).toBe("http://reg.lan:5000");
    expect(registryBaseUrl(parseReference("reg.lan:5000/a"), { insecure: true })).toBe("http://reg.lan:5000");
  });
});

describe("parseWwwAuthenticate", () => {
  it("parses docker hub's bearer challenge", () => {
    expect(
      parseWwwAuthenticate('Bearer realm="https://auth.docker.io/token",service="registry.docker.io",scope="repository:library/debian:pull"'),
    ).toEqual([
      { scheme: "bearer", params: { realm: "https://auth.docker.io/token", service: "registry.docker.io", scope: "repository:library/debian:pull" } },
    ]);
  });

  it("handles spaces, unquoted values, escapes, commas inside quotes and several challenges", () => {
    expect(parseWwwAuthenticate('Basic realm="Registry Realm", Bearer realm="http://a/t?x=1", scope="repository:a:pull,push" , error=insufficient_scope')).toEqual([
      { scheme: "basic", params: { realm: "Registry Realm" } },
      { scheme: "bearer", params: { realm: "http://a/t?x=1", scope: "repository:a:pull,push", error: "insufficient_scope" } },
    ]);
    expect(parseWwwAuthenticate('bearer Realm=http://x/token,Service=svc')).toEqual([{ scheme: "bearer", params: { realm: "http://x/token", service: "svc" } }]);
    expect(parseWwwAuthenticate('Basic realm="a \\"quoted\\" name"')).toEqual([{ scheme: "basic", params: { realm: 'a "quoted" name' } }]);
    expect(parseWwwAuthenticate("Basic")).toEqual([{ scheme: "basic", params: {} }]);
    expect(parseWwwAuthenticate("")).toEqual([]);
  });
});

describe("RegistryClient (injected fetch)", () => {
  const manifest = Buffer.from(JSON.stringify({ schemaVersion: 2, mediaType: "application/vnd.oci.image.manifest.v1+json", config: {}, layers: [] }));
  const digest = `sha256:${createHash("sha256").update(manifest).digest("hex")}`;

  function fakeRegistry(scheme: "bearer" | "basic") {
    const seen: { url: string; authorization: string | null; accept: string | null }[] = [];
    const fetch = (async (input: string | URL, init?: RequestInit) => {
      const url = String(input);
      const h = new Headers(init?.headers);
      seen.push({ url, authorization: h.get("authorization"), accept: h.get("accept") });
      if (url.startsWith("http://auth/token")) {
        if (h.get("authorization") !== `Basic ${Buffer.from("u:p").toString("base64")}`) return new Response("", { status: 401 });
        return Response.json({ token: "T0K" });
      }
      const ok = scheme === "bearer" ? h.get("authorization") === "Bearer T0K" : h.get("authorization") === `Basic ${Buffer.from("u:p").toString("base64")}`;
      if (!ok) {
        const challenge = scheme === "bearer" ? 'Bearer realm="http://auth/token",service="reg"' : 'Basic realm="reg"';
        return new Response(JSON.stringify({ errors: [{ code: "UNAUTHORIZED", message: "authentication required" }] }), {
          status: 401,
          headers: { "www-authenticate": challenge },
        });
      }
      return new Response(manifest, { headers: { "content-type": "application/vnd.oci.image.manifest.v1+json", "docker-content-digest": digest } });
    }) as typeof globalThis.fetch;
    return { fetch, seen };
  }

  it("answers a bearer challenge with a token fetched with the credentials, asking for pull on the repository", async () => {
    const { fetch, seen } = fakeRegistry("bearer");
    const c = new RegistryClient(parseReference("127.0.0.1:1/a/b:1"), "127.0.0.1:1/a/b:1", { fetch, credentials: { username: "u", password: "p" } });
    const m = await c.manifest("1");
    expect(m.digest).toBe(digest);
    expect(seen.map((s) => s.url)).toEqual([
      "http://127.0.0.1:1/v2/a/b/manifests/1",
      "http://auth/token?service=reg&scope=repository%3Aa%2Fb%3Apull",
      "http://127.0.0.1:1/v2/a/b/manifests/1",
    ]);
    expect(seen[0]!.accept).toContain("application/vnd.docker.distribution.manifest.list.v2+json");
    expect(seen[0]!.accept).toContain("application/vnd.oci.image.index.v1+json");
  });

  it("names the step when the realm refuses, and uses Basic credentials when asked for them", async () => {
    const bearer = fakeRegistry("bearer");
    const anon = new RegistryClient(parseReference("127.0.0.1:1/a:1"), "127.0.0.1:1/a:1", { fetch: bearer.fetch });
    await expect(anon.manifest("1")).rejects.toThrow(/^pull 127\.0\.0\.1:1\/a:1: auth: token realm http:\/\/auth\/token answered HTTP 401 \(no credentials given\)$/);

    const basic = fakeRegistry("basic");
    const c = new RegistryClient(parseReference("127.0.0.1:1/a:1"), "127.0.0.1:1/a:1", { fetch: basic.fetch, credentials: { username: "u", password: "p" } });
    expect((await c.manifest("1")).digest).toBe(digest);
    const none = new RegistryClient(parseReference("127.0.0.1:1/a:1"), "127.0.0.1:1/a:1", { fetch: basic.fetch });
    await expect(none.manifest("1")).rejects.toMatchObject({ step: "manifest", status: 401 });
  });

  it("checks a manifest against the digest asked for", async () => {
    const { fetch } = fakeRegistry("basic");
    const c = new RegistryClient(parseReference("127.0.0.1:1/a:1"), "x", { fetch, credentials: { username: "u", password: "p" } });
    const other = "sha256:" + "0".repeat(64);
    const err = await c.manifest(other, { digest: other }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(DigestMismatchError);
    expect(err).toMatchObject({ step: "manifest", expected: other, actual: digest, message: `pull x: manifest: ${other}: digest mismatch (content is ${digest})` });
  });
});
