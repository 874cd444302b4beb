/**
 * Registry pulls against a real registry on loopback: docker-registry
 * (distribution 2.8) with filesystem storage, filled by skopeo from a layout
 * of the busybox test rootfs; a counting proxy in front of it records what
 * was asked (and can cut a download short); a second registry on the same
 * storage demands Bearer tokens from a token server of this file.
 */
import { execFileSync, spawn, type ChildProcess } from "node:child_process";
import { createHash, createPrivateKey, randomBytes, sign, X509Certificate } from "node:crypto";
import { existsSync, mkdirSync, mkdtempSync, openSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync, writeSync, closeSync } from "node:fs";
import { createServer, request, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { setTimeout as sleep } from "node:timers/promises";
import { afterAll, beforeAll, describe, expect, it } from "vitest";

import { Container, DigestMismatchError, ImageStore, RegistryError } from "../../src/index.js";
import { ociLayoutFromDirectory } from "../../src/image/from-directory.js";
import type { PullProgress } from "../../src/index.js";
import { cleanupAll, IDLE, ownImages, rootfs, runtime, uniqueName } from "../helpers/env.js";

const tmp = mkdtempSync(join(tmpdir(), "warren-registry-"));
const storage = join(tmp, "storage");
const children: ChildProcess[] = [];
const servers: Server[] = [];
let registryPort = 0;
let proxyPort = 0;
let authPort = 0;
/** Requests that went through the proxy. */
const seen: { method: string; url: string; range?: string; status: number }[] = [];
/** When set, the proxy cuts the response to a GET of this blob after `cutAfter` body bytes. */
let cut: { digest: string; after: number } | undefined;
/** When set, the proxy drops Range headers (a server that always answers 200). */
let ignoreRange = false;

interface Pushed {
  manifest: string;
  layer: { digest: string; size: number };
  layoutDir: string;
}
let busybox: Pushed;
let small: Pushed;

function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const s = createServer();
    s.listen(0, "127.0.0.1", () => {
      const { port } = s.address() as AddressInfo;
      s.close(() => resolve(port));
    });
    s.on("error", reject);
  });
}

async function startRegistry(name: string, extra = ""): Promise<number> {
  const port = await freePort();
  const config = join(tmp, `${name}.yml`);
  writeFileSync(
    config,
    `version: 0.1
log:
  level: info
  accesslog:
    disabled: false
storage:
  filesystem:
    rootdirectory: ${storage}
  delete:
    enabled: true
http:
  addr: 127.0.0.1:${port}
${extra}`,
  );
  const log = openSync(join(tmp, `${name}.log`), "a");
  const child = spawn("/usr/bin/docker-registry", ["serve", config], { stdio: ["ignore", log, log] });
  closeSync(log);
  children.push(child);
  for (let i = 0; i < 100; i++) {
    try {
      const res = await fetch(`http://127.0.0.1:${port}/v2/`);
      if (res.status === 200 || res.status === 401) return port;
    } catch {
      /* not listening yet */
    }
    if (child.exitCode !== null) break;
    await sleep(100);
  }
  throw new Error(`docker-registry did not start: ${readFileSync(join(tmp, `${name}.log`), "utf8")}`);
}

/** A proxy to the registry that records each request and can cut a blob download short. */
function startProxy(target: () => number): Promise<number> {
  const server = createServer((req, res) => {
    const entry = { method: req.method!, url: req.url!, ...(req.headers.range && { range: req.headers.range }), status: 0 };
    seen.push(entry);
    if (ignoreRange) delete req.headers.range;
    const up = request(
      { host: "127.0.0.1", port: target(), method: req.method, path: req.url, headers: { ...req.headers, host: `127.0.0.1:${target()}` } },
      (upRes) => {
        entry.status = upRes.statusCode!;
        res.writeHead(upRes.statusCode!, upRes.headers);
        const c = cut;
        if (c && req.url!.endsWith(`/blobs/${c.digest}`)) {
          cut = undefined;
          let sent = 0;
          upRes.on("data", (chunk: Buffer) => {
            if (sent >= c.after) return;
            const part = chunk.subarray(0, c.after - sent);
            sent += part.length;
            res.write(part);
            if (sent >= c.after) setTimeout(() => res.socket?.destroy(), 50);
          });
          return;
        }
        upRes.pipe(res);
      },
    );
    up.on("error", () => res.destroy());
    req.pipe(up);
  });
  servers.push(server);
  return new Promise((resolve) => server.listen(0, "127.0.0.1", () => resolve((server.address() as AddressInfo).port)));
}

/** Token server for distribution's `auth: token`: RS256 JWTs with the signing cert in `x5c`, for user warren/secret only. */
function startTokenServer(keyPem: string, certPem: string): Promise<number> {
  const key = createPrivateKey(keyPem);
  const x5c = [new X509Certificate(certPem).raw.toString("base64")];
  const b64 = (v: unknown) => Buffer.from(JSON.stringify(v)).toString("base64url");
  const server = createServer((req, res) => {
    const url = new URL(req.url!, "http://x");
    if (req.headers.authorization !== `Basic ${Buffer.from("warren:secret").toString("base64")}`) {
      res.writeHead(401, { "content-type": "application/json" }).end(JSON.stringify({ details: "bad credentials" }));
      return;
    }
    const access = (url.searchParams.getAll("scope") ?? []).map((s) => {
      const [type, ...rest] = s.split(":");
      const actions = rest.pop()!.split(",").filter((a) => a === "pull");
      return { type, name: rest.join(":"), actions };
    });
    const now = Math.floor(Date.now() / 1000);
    const head = b64({ typ: "JWT", alg: "RS256", x5c });
    const claims = b64({ iss: "warren-test-issuer", sub: "warren", aud: url.searchParams.get("service"), exp: now + 300, nbf: now - 10, iat: now, jti: randomBytes(8).toString("hex"), access });
    const sig = sign("sha256", Buffer.from(`${head}.${claims}`), key).toString("base64url");
    res.writeHead(200, { "content-type": "application/json" }).end(JSON.stringify({ token: `${head}.${claims}.${sig}`, expires_in: 300 }));
  });
  servers.push(server);
  return new Promise((resolve) => server.listen(0, "127.0.0.1", () => resolve((server.address() as AddressInfo).port)));
}

async function push(src: string, name: string): Promise<Pushed> {
  const layoutDir = join(tmp, `layout-${name.replace(/[:/]/g, "-")}`);
  const manifest = await ociLayoutFromDirectory(src, layoutDir);
  execFileSync("skopeo", ["copy", "--insecure-policy", "--quiet", "--dest-tls-verify=false", `oci:${layoutDir}`, `docker://127.0.0.1:${registryPort}/${name}`], {
    stdio: ["ignore", "ignore", "pipe"],
  });
  const m = JSON.parse(readFileSync(join(layoutDir, "blobs/sha256", manifest.slice(7)), "utf8")) as { layers: { digest: string; size: number }[] };
  return { manifest, layer: m.layers[0]!, layoutDir };
}

/**
 * An image index of two platforms from a pushed layout: this machine's
 * (the original manifest) and another architecture (same layer, its own
 * config), pushed with `--all` as OCI and as a Docker manifest list.
 */
function pushIndex(p: Pushed, name: string): { index: string; other: string; otherManifest: string } {
  const dir = join(tmp, "layout-index");
  execFileSync("cp", ["-a", p.layoutDir, dir]);
  const put = (v: unknown) => {
    const data = Buffer.from(JSON.stringify(v));
    const hex = createHash("sha256").update(data).digest("hex");
    writeFileSync(join(dir, "blobs/sha256", hex), data);
    return { digest: `sha256:${hex}`, size: data.length };
  };
  const blob = (d: string) => JSON.parse(readFileSync(join(dir, "blobs/sha256", d.slice(7)), "utf8")) as Record<string, unknown> & { config: { digest: string } };
  const manifest = blob(p.manifest);
  const native = (blob(manifest.config.digest) as unknown as { architecture: string }).architecture;
  const other = native === "arm64" ? "amd64" : "arm64";
  const config = put({ ...blob(manifest.config.digest), architecture: other });
  const otherManifest = put({ ...manifest, config: { ...manifest.config, ...config } });
  const ociManifest = "application/vnd.oci.image.manifest.v1+json";
  const index = put({
    schemaVersion: 2,
    mediaType: "application/vnd.oci.image.index.v1+json",
    manifests: [
      { mediaType: ociManifest, ...otherManifest, platform: { os: "linux", architecture: other } },
      { mediaType: ociManifest, digest: p.manifest, size: statSync(join(dir, "blobs/sha256", p.manifest.slice(7))).size, platform: { os: "linux", architecture: native } },
    ],
  });
  writeFileSync(join(dir, "index.json"), JSON.stringify({ schemaVersion: 2, manifests: [{ mediaType: "application/vnd.oci.image.index.v1+json", ...index }] }));
  for (const [tag, format] of [[name, []], [`${name}-docker`, ["--format", "v2s2"]]] as const) {
    execFileSync("skopeo", ["copy", "--insecure-policy", "--quiet", "--all", ...format, "--dest-tls-verify=false", `oci:${dir}`, `docker://127.0.0.1:${registryPort}/busybox:${tag}`], {
      stdio: ["ignore", "ignore", "pipe"],
    });
  }
  return { index: index.digest, other, otherManifest: otherManifest.digest };
}

function layerBytes(p: Pushed): Buffer {
  return readFileSync(join(p.layoutDir, "blobs/sha256", p.layer.digest.slice(7)));
}

/** Leftover private directories of the store (pulls, imports). */
function scratch(store: ImageStore): string[] {
  return existsSync(store.dir) ? readdirSync(store.dir).filter((e) => e.startsWith(".pull-") || e.startsWith(".import-")) : [];
}

function tempStore(): ImageStore {
  return new ImageStore(mkdtempSync(join(tmp, "store-")));
}

beforeAll(async () => {
  registryPort = await startRegistry("open");
  proxyPort = await startProxy(() => registryPort);
  busybox = await push(rootfs(), "busybox:1");
  const tiny = join(tmp, "tiny");
  mkdirSync(join(tiny, "etc"), { recursive: true });
  writeFileSync(join(tiny, "etc/hello"), randomBytes(64 << 10).toString("hex"));
  small = await push(tiny, "small:1");
}, 60_000);

afterAll(async () => {
  await cleanupAll();
  for (const s of servers) s.closeAllConnections?.();
  await Promise.all(servers.map((s) => new Promise((r) => s.close(r))));
  for (const c of children) {
    if (c.exitCode === null && c.signalCode === null) {
      const gone = new Promise((r) => c.once("exit", r));
      c.kill("SIGTERM");
      await gone;
    }
  }
  rmSync(tmp, { recursive: true, force: true });
});

describe("pulling from a registry", () => {
  it("pulls by tag and by digest, and runs a container from the pulled image", async () => {
    const store = new ImageStore(runtime().root);
    const ref = `127.0.0.1:${registryPort}/busybox:1`;
    const events: PullProgress[] = [];
    const img = await store.pull(ref, { onProgress: (e) => events.push(e) });
    expect(img.digest).toBe(busybox.manifest);
    expect(img.tags).toEqual([ref]);
    expect(img.source).toBe(`${ref}@${busybox.manifest}`);
    expect(events[0]).toMatchObject({ phase: "manifest", digest: busybox.manifest });
    const layerEvents = events.filter((e) => e.phase === "layer");
    expect(layerEvents.at(-1)).toEqual({ phase: "layer", digest: busybox.layer.digest, bytes: busybox.layer.size, total: busybox.layer.size });
    expect(events.at(-1)).toMatchObject({ phase: "unpack", bytes: busybox.layer.size, total: busybox.layer.size });
    // The cache holds the verified blob.
    const cached = readFileSync(join(store.dir, ".blobs/sha256", busybox.layer.digest.slice(7)));
    expect(`sha256:${createHash("sha256").update(cached).digest("hex")}`).toBe(busybox.layer.digest);

    const byDigest = await store.pull(`127.0.0.1:${registryPort}/busybox@${busybox.manifest}`, { tag: "busybox:pulled" });
    expect(byDigest.id).toBe(img.id);
    expect(byDigest.tags.sort()).toEqual([ref, "busybox:pulled"].sort());
    expect(scratch(store)).toEqual([]);

    const c = await Container.create(uniqueName("pulled"), { image: ref, init: IDLE, stopTimeout: 2000 }, runtime());
    try {
      await c.start();
      expect((await c.execOutput(["busybox", "true"])).code).toBe(0);
      expect((await c.execOutput(["echo", "from the registry"])).stdout).toBe("from the registry\n");
      await c.stop({ timeout: 0 });
    } finally {
      await c.destroy({ force: true });
    }
    // prune keeps what a stored image is made of (its layer and config blobs)…
    const blobs = () => readdirSync(join(store.dir, ".blobs/sha256")).filter((f) => /^[0-9a-f]{64}$/.test(f)).sort();
    const before = blobs();
    expect(before).toContain(busybox.layer.digest.slice(7));
    expect((await store.prune()).blobs).toEqual([]);
    expect(blobs()).toEqual(before);
    await store.remove(ref);
    expect(ownImages(await store.list())).toEqual([]);
    // …and removes them once no image is.
    expect((await store.prune()).blobs.sort()).toEqual(before.map((h) => `sha256:${h}`));
    expect(blobs()).toEqual([]);
    rmSync(join(store.dir, ".blobs"), { recursive: true, force: true });
  });

  it("follows an OCI image index and a Docker manifest list to this platform's manifest, or the one asked for", async () => {
    const { index, other, otherManifest } = pushIndex(busybox, "multi");
    const store = tempStore();
    const ref = `127.0.0.1:${registryPort}/busybox:multi`;
    const native = await store.pull(ref);
    expect(native.digest).toBe(busybox.manifest);
    expect(native.source).toBe(`${ref}@${index}`);
    const foreign = await store.pull(ref, { platform: { os: "linux", architecture: other }, tag: "foreign:1" });
    expect(foreign.digest).toBe(otherManifest);
    expect(foreign.config.architecture).toBe(other);
    expect((await store.pull(`127.0.0.1:${registryPort}/busybox@${index}`, { tag: "by-index:1" })).digest).toBe(busybox.manifest);

    const listRef = `127.0.0.1:${registryPort}/busybox:multi-docker`;
    const head = await fetch(`http://127.0.0.1:${registryPort}/v2/busybox/manifests/multi-docker`, {
      headers: { accept: "application/vnd.docker.distribution.manifest.list.v2+json" },
    });
    expect(head.headers.get("content-type")).toBe("application/vnd.docker.distribution.manifest.list.v2+json");
    const fromList = await store.pull(listRef);
    expect(fromList.config.architecture).toBe(native.config.architecture);
    const meta = JSON.parse(readFileSync(join(store.dir, fromList.id, "image.json"), "utf8")) as { layers: string[] };
    expect(meta.layers).toEqual([busybox.layer.digest]);
    expect(readFileSync(join(fromList.rootfs, "bin/busybox")).length).toBeGreaterThan(0);
    expect(await store.pull(ref, { platform: { os: "linux", architecture: "s390x" } }).catch((e: unknown) => e)).toMatchObject({
      step: "manifest",
      message: expect.stringMatching(/: manifest: index sha256:[0-9a-f]{64} has no manifest for linux\/s390x$/),
    });
    expect(scratch(store)).toEqual([]);
  });

  it("names the step of a failure: an unknown tag, an unknown digest", async () => {
    const store = tempStore();
    const ref = `127.0.0.1:${registryPort}/busybox:nope`;
    await expect(store.pull(ref)).rejects.toThrow(new RegExp(`^pull ${ref.replace(/\./g, "\\.")}: manifest: HTTP 404 \\(MANIFEST_UNKNOWN: manifest unknown\\)`));
    const byDigest = `127.0.0.1:${registryPort}/busybox@sha256:${"0".repeat(64)}`;
    await expect(store.pull(byDigest)).rejects.toMatchObject({ name: "RegistryError", step: "manifest", status: 404 });
    expect(ownImages(await store.list())).toEqual([]);
    expect(scratch(store)).toEqual([]);
  });

  it("resumes a partial download with a Range request", async () => {
    const store = tempStore();
    const data = layerBytes(busybox);
    const half = Math.floor(data.length / 2);
    const dir = join(store.dir, ".blobs/sha256");
    mkdirSync(dir, { recursive: true });
    writeFileSync(join(dir, `${busybox.layer.digest.slice(7)}.partial`), data.subarray(0, half));
    seen.length = 0;
    const events: PullProgress[] = [];
    const img = await store.pull(`127.0.0.1:${proxyPort}/busybox:1`, { onProgress: (e) => events.push(e) });
    expect(img.digest).toBe(busybox.manifest);
    const blobGets = seen.filter((r) => r.method === "GET" && r.url.endsWith(`/blobs/${busybox.layer.digest}`));
    expect(blobGets).toEqual([{ method: "GET", url: `/v2/busybox/blobs/${busybox.layer.digest}`, range: `bytes=${half}-`, status: 206 }]);
    expect(events.find((e) => e.phase === "layer" && e.digest === busybox.layer.digest)).toMatchObject({ bytes: half });
    const cached = readFileSync(join(dir, busybox.layer.digest.slice(7)));
    expect(cached.equals(data)).toBe(true);
    expect(existsSync(join(dir, `${busybox.layer.digest.slice(7)}.partial`))).toBe(false);
  });

  it("keeps what arrived of an interrupted download and resumes from there", async () => {
    const store = tempStore();
    const data = layerBytes(busybox);
    const ref = `127.0.0.1:${proxyPort}/busybox:1`;
    cut = { digest: busybox.layer.digest, after: 100_000 };
    const err = await store.pull(ref).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(RegistryError);
    expect(err).toMatchObject({ step: "layer", blob: busybox.layer.digest, message: expect.stringContaining(`pull ${ref}: layer: ${busybox.layer.digest}: download interrupted`) });
    const partial = join(store.dir, ".blobs/sha256", `${busybox.layer.digest.slice(7)}.partial`);
    const got = statSync(partial).size;
    expect(got).toBeGreaterThan(0);
    expect(got).toBeLessThanOrEqual(100_000);
    expect(ownImages(await store.list())).toEqual([]);
    seen.length = 0;
    await store.pull(ref);
    expect(seen.filter((r) => r.url.endsWith(`/blobs/${busybox.layer.digest}`)).map((r) => [r.range, r.status])).toEqual([[`bytes=${got}-`, 206]]);
    expect(readFileSync(join(store.dir, ".blobs/sha256", busybox.layer.digest.slice(7))).equals(data)).toBe(true);
  });

  it("starts over when the server answers a Range request with the whole blob", async () => {
    const store = tempStore();
    const data = layerBytes(busybox);
    const dir = join(store.dir, ".blobs/sha256");
    mkdirSync(dir, { recursive: true });
    writeFileSync(join(dir, `${busybox.layer.digest.slice(7)}.partial`), data.subarray(0, 1000));
    seen.length = 0;
    ignoreRange = true;
    try {
      await store.pull(`127.0.0.1:${proxyPort}/busybox:1`);
    } finally {
      ignoreRange = false;
    }
    expect(seen.filter((r) => r.url.endsWith(`/blobs/${busybox.layer.digest}`)).map((r) => [r.range, r.status])).toEqual([["bytes=1000-", 200]]);
    expect(readFileSync(join(dir, busybox.layer.digest.slice(7))).equals(data)).toBe(true);
  });

  it("stops when its signal is aborted, leaving nothing half-made", async () => {
    const store = tempStore();
    const ac = new AbortController();
    const p = store.pull(`127.0.0.1:${proxyPort}/busybox:1`, { signal: ac.signal, onProgress: (e) => e.phase === "layer" && ac.abort() });
    await expect(p).rejects.toMatchObject({ name: "AbortError" });
    expect(ownImages(await store.list())).toEqual([]);
    expect(scratch(store)).toEqual([]);
  });

  it("two concurrent pulls of one image download each blob once and store one image", async () => {
    const root = mkdtempSync(join(tmp, "store-"));
    const [a, b] = [new ImageStore(root), new ImageStore(root)];
    seen.length = 0;
    const ref = `127.0.0.1:${proxyPort}/busybox:1`;
    const [x, y] = await Promise.all([a.pull(ref), b.pull(ref, { tag: "other:1" })]);
    expect(x.id).toBe(y.id);
    expect(ownImages(await a.list()).map((i) => [i.id, i.tags.sort()])).toEqual([[x.id, [ref, "other:1"].sort()]]);
    expect(seen.filter((r) => r.method === "GET" && r.url.endsWith(`/blobs/${busybox.layer.digest}`))).toHaveLength(1);
    expect(scratch(a)).toEqual([]);
    expect(readdirSync(join(a.dir, ".blobs/sha256")).filter((f) => f.endsWith(".partial"))).toEqual([]);
  });

  it("two processes pulling one image at once store it once", async () => {
    const root = mkdtempSync(join(tmp, "store-"));
    const ref = `127.0.0.1:${proxyPort}/busybox:1`;
    const script = `import("./src/index.ts").then(async ({ ImageStore }) => {
      const img = await new ImageStore(process.env.ROOT).pull(process.env.REF);
      process.stdout.write(img.id);
    })`;
    seen.length = 0;
    const run = () =>
      new Promise<string>((resolve, reject) => {
        const child = spawn(process.execPath, ["--import", "tsx", "-e", script], {
          cwd: join(import.meta.dirname, "../.."),
          env: { ...process.env, ROOT: root, REF: ref },
          stdio: ["ignore", "pipe", "pipe"],
        });
        children.push(child);
        let out = "";
        let err = "";
        child.stdout!.on("data", (b: Buffer) => (out += b));
        child.stderr!.on("data", (b: Buffer) => (err += b));
        child.on("exit", (code) => (code === 0 ? resolve(out) : reject(new Error(`pull process exited ${code}: ${err}`))));
      });
    const [x, y] = await Promise.all([run(), run()]);
    expect(x).toBe(busybox.manifest.slice(7));
    expect(y).toBe(x);
    const store = new ImageStore(root);
    expect(ownImages(await store.list()).map((i) => i.id)).toEqual([x]);
    expect(seen.filter((r) => r.method === "GET" && r.url.endsWith(`/blobs/${busybox.layer.digest}`))).toHaveLength(1);
    expect(scratch(store)).toEqual([]);
  });

  it("pulls through Bearer token auth (distribution's `auth: token`, RS256 JWT with x5c)", async () => {
    const key = join(tmp, "token.key");
    const cert = join(tmp, "token.crt");
    execFileSync("openssl", ["req", "-x509", "-newkey", "rsa:2048", "-nodes", "-keyout", key, "-out", cert, "-days", "1", "-subj", "/CN=warren-test-token"], { stdio: "ignore" });
    authPort = await startTokenServer(readFileSync(key, "utf8"), readFileSync(cert, "utf8"));
    const port = await startRegistry(
      "token",
      `auth:
  token:
    realm: http://127.0.0.1:${authPort}/token
    service: warren-test
    issuer: warren-test-issuer
    rootcertbundle: ${cert}
`,
    );
    const ref = `127.0.0.1:${port}/busybox:1`;
    const challenge = await fetch(`http://127.0.0.1:${port}/v2/busybox/manifests/1`);
    expect(challenge.status).toBe(401);
    expect(challenge.headers.get("www-authenticate")).toMatch(/^Bearer realm=/);

    const store = tempStore();
    await expect(store.pull(ref)).rejects.toMatchObject({ name: "RegistryError", step: "auth", status: 401 });
    await expect(store.pull(ref, { credentials: { username: "warren", password: "nope" } })).rejects.toThrow(`pull ${ref}: auth: token realm`);
    const img = await store.pull(ref, { credentials: { username: "warren", password: "secret" } });
    expect(img.digest).toBe(busybox.manifest);
    expect(scratch(store)).toEqual([]);
  });

  it("refuses a corrupted layer with a DigestMismatchError, keeping no image, partial or scratch directory", async () => {
    const hex = small.layer.digest.slice(7);
    const data = join(storage, "docker/registry/v2/blobs/sha256", hex.slice(0, 2), hex, "data");
    const fd = openSync(data, "r+");
    writeSync(fd, Buffer.from("corrupted!"), 0, 10, Math.floor(small.layer.size / 2));
    closeSync(fd);
    const store = tempStore();
    const ref = `127.0.0.1:${registryPort}/small:1`;
    const err = await store.pull(ref).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(DigestMismatchError);
    expect(err).toMatchObject({ step: "layer", expected: small.layer.digest, blob: small.layer.digest });
    expect((err as Error).message).toMatch(new RegExp(`^pull ${ref.replace(/\./g, "\\.")}: layer: ${small.layer.digest}: digest mismatch \\(content is sha256:[0-9a-f]{64}\\)$`));
    expect(ownImages(await store.list())).toEqual([]);
    expect(scratch(store)).toEqual([]);
    expect(existsSync(join(store.dir, ".blobs/sha256", `${hex}.partial`))).toBe(false);
    expect(existsSync(join(store.dir, ".blobs/sha256", hex))).toBe(false);
  });
});
