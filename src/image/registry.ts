/**
 * Pulls from an OCI distribution registry (HTTP API v2): answers
 * `WWW-Authenticate` challenges (anonymous, Bearer tokens, Basic), resolves a
 * tag or digest through image indexes to the platform's manifest, and lays
 * the blobs, fetched into the content cache (./blob-cache.ts), out as an OCI
 * image layout for the store's importer. References: ./reference.ts.
 * @module
 */
import { createHash } from "node:crypto";
import { promises as fsp } from "node:fs";
import { join } from "node:path";

import { codeOf } from "../linux/errno.js";
import { fetchBlob } from "./blob-cache.js";
import { DigestMismatchError, RegistryError } from "../errors.js";
import { matches, MEDIA, ociArchitecture, type Descriptor, type Platform } from "./oci.js";
import { DIGEST_RE, parseReference, registryBaseUrl, type ImageReference } from "./reference.js";

/** One challenge of a `WWW-Authenticate` header. */
export interface AuthChallenge {
  /** Lower-cased scheme: `bearer`, `basic`. */
  scheme: string;
  /** Parameters, names lower-cased. */
  params: Record<string, string>;
}

/** A progress event of a pull. `bytes`/`total` count manifest bytes, a layer's bytes, or the layers' bytes while unpacking. */
export interface PullProgress {
  phase: "manifest" | "layer" | "unpack";
  digest?: string;
  bytes: number;
  total: number;
}

export interface RegistryOptions {
  /** Sent to a Bearer token realm (as Basic auth) or to a registry that asks for Basic auth. */
  credentials?: { username: string; password: string };
  /** Speak plain HTTP (the default for loopback registries: 127.0.0.0/8, `localhost`, `[::1]`). */
  plainHttp?: boolean;
  /** Same as `plainHttp`. */
  insecure?: boolean;
  signal?: AbortSignal;
  onProgress?: (event: PullProgress) => void;
  /** The fetch to use (a seam for tests); default the global one. */
  fetch?: typeof fetch;
}

/**
 * Parses a `WWW-Authenticate` header (RFC 7235: challenges, each a scheme
 * and `name=value` or `name="quoted, value"` parameters, separated by commas).
 *
 * @example
 * ```ts
 * parseWwwAuthenticate('Bearer realm="https://auth.docker.io/token",service="registry.docker.io"');
 * // [{ scheme: "bearer", params: { realm: "https://auth.docker.io/token", service: "registry.docker.io" } }]
 * ```
 */
export function parseWwwAuthenticate(header: string): AuthChallenge[] {
  const out: AuthChallenge[] = [];
  let i = 0;
  const n = header.length;
  const ws = () => {
    while (i < n && /[\s,]/.test(header[i]!)) i++;
  };
  const token = () => {
    const s = i;
    while (i < n && /[!#$%&'*+.^_`|~0-9A-Za-z/-]/.test(header[i]!)) i++;
    return header.slice(s, i);
  };
  while (i < n) {
    ws();
    const scheme = token();
    if (!scheme) {
      i++;
      continue;
    }
    const ch: AuthChallenge = { scheme: scheme.toLowerCase(), params: {} };
    out.push(ch);
    for (;;) {
      while (i < n && /[ \t]/.test(header[i]!)) i++;
      const save = i;
      if (header[i] === ",") i++;
      while (i < n && /[ \t,]/.test(header[i]!)) i++;
      const name = token();
      while (i < n && /[ \t]/.test(header[i]!)) i++;
      if (!name || header[i] !== "=") {
        i = save; // the next challenge's scheme (or a token68, which no registry uses)
        break;
      }
      i++;
      while (i < n && /[ \t]/.test(header[i]!)) i++;
      let value = "";
      if (header[i] === '"') {
        for (i++; i < n && header[i] !== '"'; i++) value += header[i] === "\\" && i + 1 < n ? header[++i] : header[i];
        i++;
      } else {
        const s = i;
        while (i < n && header[i] !== "," && !/\s/.test(header[i]!)) i++;
        value = header.slice(s, i);
      }
      ch.params[name.toLowerCase()] = value;
    }
    if (i < n && header[i] !== ",") ws();
  }
  return out;
}

const MANIFEST_ACCEPT = [MEDIA.ociIndex, MEDIA.ociManifest, MEDIA.dockerList, MEDIA.dockerManifest].join(", ");
const INDEX_TYPES = new Set<string>([MEDIA.ociIndex, MEDIA.dockerList]);
const MANIFEST_TYPES = new Set<string>([MEDIA.ociManifest, MEDIA.dockerManifest]);
const MAX_MANIFEST = 4 << 20;

/** A connection to one repository of a registry, with its authorization. */
export class RegistryClient {
  readonly base: string;
  private authorization?: string;
  private readonly fetch: typeof fetch;

  constructor(
    readonly ref: ImageReference,
    /** The reference as the caller wrote it, for messages. */
    readonly label: string,
    readonly options: RegistryOptions = {},
  ) {
    this.base = registryBaseUrl(ref, options);
    this.fetch = options.fetch ?? globalThis.fetch;
  }

  fail(step: string, detail: string, extra?: { status?: number; blob?: string; cause?: unknown }): RegistryError {
    return new RegistryError(this.label, step, detail, extra);
  }

  /**
   * GETs `/v2/<repo>/<path>`; on 401 answers the challenge once and retries.
   * Statuses other than 2xx (and those in `accept`) throw, naming `step`.
   */
  async get(path: string, step: string, headers: Record<string, string>, accept: number[] = [], subject?: string): Promise<Response> {
    const url = `${this.base}/v2/${this.ref.repository}/${path}`;
    let res = await this.send(url, headers, step);
    if (res.status === 401) {
      const challenge = res.headers.get("www-authenticate") ?? "";
      await res.body?.cancel();
      await this.authorize(challenge, step);
      res = await this.send(url, headers, step);
    }
    if (!res.ok && !accept.includes(res.status)) {
      let why = "";
      try {
        const body = (await res.json()) as { errors?: { code?: string; message?: string }[] };
        why = (body.errors ?? []).map((e) => `${e.code}: ${e.message}`).join("; ");
      } catch {
        /* not a registry error body */
      }
      throw this.fail(step, `${subject ? `${subject}: ` : ""}HTTP ${res.status}${why ? ` (${why})` : ` ${res.statusText}`} from ${url}`, {
        status: res.status,
        ...(subject?.startsWith("sha") && { blob: subject }),
      });
    }
    return res;
  }

  private async send(url: string, headers: Record<string, string>, step: string): Promise<Response> {
    const h: Record<string, string> = { "user-agent": "warren", ...headers };
    if (this.authorization) h.authorization = this.authorization;
    try {
      return await this.fetch(url, { headers: h, redirect: "follow", ...(this.options.signal && { signal: this.options.signal }) });
    } catch (err) {
      this.options.signal?.throwIfAborted();
      throw this.fail(step, `cannot reach ${url}: ${(err as Error).cause instanceof Error ? ((err as Error).cause as Error).message : (err as Error).message}`, { cause: err });
    }
  }

  /** Answers a 401's challenge: fetches a Bearer token from its realm, or uses the credentials for Basic. */
  private async authorize(header: string, step: string): Promise<void> {
    const creds = this.options.credentials;
    const basic = creds ? `Basic ${Buffer.from(`${creds.username}:${creds.password}`).toString("base64")}` : undefined;
    const challenges = parseWwwAuthenticate(header);
    const bearer = challenges.find((c) => c.scheme === "bearer");
    if (bearer) {
      const realm = bearer.params.realm;
      if (!realm) throw this.fail("auth", `Bearer challenge without a realm: ${header}`, { status: 401 });
      const url = new URL(realm);
      if (bearer.params.service) url.searchParams.set("service", bearer.params.service);
      url.searchParams.set("scope", bearer.params.scope ?? `repository:${this.ref.repository}:pull`);
      let res: Response;
      try {
        res = await this.fetch(url, {
          headers: { "user-agent": "warren", ...(basic && { authorization: basic }) },
          ...(this.options.signal && { signal: this.options.signal }),
        });
      } catch (err) {
        this.options.signal?.throwIfAborted();
        throw this.fail("auth", `cannot reach the token realm ${url.origin}${url.pathname}: ${(err as Error).message}`, { cause: err });
      }
      if (!res.ok) {
        await res.body?.cancel();
        throw this.fail("auth", `token realm ${url.origin}${url.pathname} answered HTTP ${res.status}${creds ? "" : " (no credentials given)"}`, { status: res.status });
      }
      const body = (await res.json().catch(() => ({}))) as { token?: string; access_token?: string };
      const token = body.token ?? body.access_token;
      if (typeof token !== "string" || !token) throw this.fail("auth", `token realm ${url.origin}${url.pathname} sent no token`);
      this.authorization = `Bearer ${token}`;
      return;
    }
    if (challenges.some((c) => c.scheme === "basic") && basic && this.authorization !== basic) {
      this.authorization = basic;
      return;
    }
    throw this.fail(step, `HTTP 401 unauthorized${creds ? " (credentials refused)" : " (no credentials given)"}${header ? `: ${header}` : ""}`, { status: 401 });
  }

  /** A manifest or index by tag or digest, its bytes checked against `digest` when one is known. */
  async manifest(tagOrDigest: string, expect?: { digest: string; size?: number }): Promise<{ bytes: Buffer; mediaType: string; digest: string }> {
    const res = await this.get(`manifests/${tagOrDigest}`, "manifest", { accept: MANIFEST_ACCEPT });
    const len = Number(res.headers.get("content-length") ?? 0);
    if (len > MAX_MANIFEST) {
      await res.body?.cancel();
      throw this.fail("manifest", `manifest of ${len} bytes is too large`);
    }
    const bytes = Buffer.from(await res.arrayBuffer());
    if (bytes.length > MAX_MANIFEST) throw this.fail("manifest", `manifest of ${bytes.length} bytes is too large`);
    const digest = `sha256:${createHash("sha256").update(bytes).digest("hex")}`;
    const want = expect?.digest ?? res.headers.get("docker-content-digest") ?? undefined;
    if (want?.startsWith("sha256:") && want !== digest) throw new DigestMismatchError(this.label, "manifest", want, digest);
    if (expect?.digest?.startsWith("sha512:")) {
      const d512 = `sha512:${createHash("sha512").update(bytes).digest("hex")}`;
      if (d512 !== expect.digest) throw new DigestMismatchError(this.label, "manifest", expect.digest, d512);
    }
    if (expect?.size !== undefined && expect.size !== bytes.length) {
      throw new DigestMismatchError(this.label, "manifest", expect.digest, `${bytes.length} bytes, descriptor says ${expect.size}`);
    }
    let mediaType = (res.headers.get("content-type") ?? "").split(";")[0]!.trim();
    try {
      const v = JSON.parse(bytes.toString("utf8")) as { mediaType?: unknown };
      if (typeof v.mediaType === "string") mediaType = v.mediaType;
    } catch (err) {
      throw this.fail("manifest", `${digest} is not JSON`, { cause: err, blob: digest });
    }
    this.options.onProgress?.({ phase: "manifest", digest, bytes: bytes.length, total: bytes.length });
    return { bytes, mediaType, digest: expect?.digest ?? digest };
  }
}

function descriptor(client: RegistryClient, v: unknown, where: string): Descriptor {
  const d = v as Partial<Descriptor> | null;
  if (!d || typeof d !== "object" || typeof d.mediaType !== "string" || typeof d.digest !== "string" || !DIGEST_RE.test(d.digest) || !Number.isSafeInteger(d.size) || d.size! < 0) {
    throw client.fail("manifest", `${where}: invalid descriptor ${JSON.stringify(v)?.slice(0, 200)}`);
  }
  return d as Descriptor;
}

export interface ResolvedImage {
  /** The platform manifest's descriptor (its digest is the store's id). */
  manifest: Descriptor;
  manifestBytes: Buffer;
  config: Descriptor;
  layers: Descriptor[];
  /** Digest of what the tag or digest named (an index, or the manifest itself). */
  digest: string;
}

/** Follows a tag or digest through image indexes to the manifest for `platform`. */
export async function resolveImage(client: RegistryClient, platform?: Platform): Promise<ResolvedImage> {
  const p: Platform = platform ?? { os: "linux", architecture: ociArchitecture() };
  const r = client.ref;
  let m = await client.manifest(r.digest ?? r.tag!, r.digest ? { digest: r.digest } : undefined);
  const top = m.digest;
  for (let depth = 0; INDEX_TYPES.has(m.mediaType); depth++) {
    if (depth > 8) throw client.fail("manifest", "image indexes nested too deeply");
    const list = (JSON.parse(m.bytes.toString("utf8")) as { manifests?: unknown }).manifests;
    if (!Array.isArray(list)) throw client.fail("manifest", `index ${m.digest} has no manifests array`);
    const found = list
      .map((x, i) => descriptor(client, x, `index ${m.digest}: manifests[${i}]`))
      .find((d) => (INDEX_TYPES.has(d.mediaType) || MANIFEST_TYPES.has(d.mediaType)) && matches(d, p));
    if (!found) throw client.fail("manifest", `index ${m.digest} has no manifest for ${p.os}/${p.architecture}${p.variant ? `/${p.variant}` : ""}`);
    m = await client.manifest(found.digest, { digest: found.digest, size: found.size });
  }
  if (!MANIFEST_TYPES.has(m.mediaType)) throw client.fail("manifest", `unsupported manifest mediaType ${JSON.stringify(m.mediaType)}`, { blob: m.digest });
  const body = JSON.parse(m.bytes.toString("utf8")) as { config?: unknown; layers?: unknown };
  if (!Array.isArray(body.layers)) throw client.fail("manifest", `manifest ${m.digest} has no layers array`, { blob: m.digest });
  return {
    manifest: { mediaType: m.mediaType, digest: m.digest, size: m.bytes.length },
    manifestBytes: m.bytes,
    config: descriptor(client, body.config, `manifest ${m.digest}: config`),
    layers: body.layers.map((l, i) => descriptor(client, l, `manifest ${m.digest}: layers[${i}]`)),
    digest: top,
  };
}

/**
 * Pulls `ref` into an OCI image layout at `layoutDir` whose blobs are hard
 * links to the verified cache (`cacheDir`), ready for the layout importer.
 * Returns what was resolved.
 */
export async function pullToLayout(ref: string, cacheDir: string, layoutDir: string, options: RegistryOptions & { platform?: Platform } = {}): Promise<ResolvedImage & { reference: ImageReference }> {
  const parsed = parseReference(ref);
  const client = new RegistryClient(parsed, ref, options);
  const img = await resolveImage(client, options.platform);
  const paths = new Map<string, string>();
  paths.set(img.config.digest, await fetchBlob(client, cacheDir, img.config, "config", options));
  for (const l of img.layers) paths.set(l.digest, await fetchBlob(client, cacheDir, l, "layer", options));

  const blobs = join(layoutDir, "blobs");
  await fsp.mkdir(blobs, { recursive: true });
  const put = async (digest: string, from: string | Buffer) => {
    const [alg, hex] = digest.split(":") as [string, string];
    await fsp.mkdir(join(blobs, alg), { recursive: true });
    const to = join(blobs, alg, hex);
    if (Buffer.isBuffer(from)) return fsp.writeFile(to, from);
    try {
      await fsp.link(from, to);
    } catch (e) {
      if (codeOf(e) === "EEXIST") return;
      await fsp.symlink(from, to); // a cache on another filesystem (or links refused)
    }
  };
  await put(img.manifest.digest, img.manifestBytes);
  for (const [digest, path] of paths) await put(digest, path);
  await fsp.writeFile(join(layoutDir, "oci-layout"), JSON.stringify({ imageLayoutVersion: "1.0.0" }));
  await fsp.writeFile(join(layoutDir, "index.json"), JSON.stringify({ schemaVersion: 2, manifests: [img.manifest] }));
  return { ...img, reference: parsed };
}
