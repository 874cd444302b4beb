/**
 * Image references, `[registry/]repo[:tag][@digest]`: parsed the way docker
 * parses them, written back in canonical form, and the registry's base URL.
 * @module
 */
import { RegistryError } from "../errors.js";

/** A parsed image reference. */
export interface ImageReference {
  /** The registry as named (`docker.io`, `127.0.0.1:5000`). */
  registry: string;
  /** The repository path (`library/debian`). */
  repository: string;
  /** Tag; `latest` when neither tag nor digest was given. */
  tag?: string;
  digest?: string;
}

const DOMAIN = /^(?:localhost|\[[0-9a-fA-F:.]+\]|[a-zA-Z0-9](?:[a-zA-Z0-9-]*[a-zA-Z0-9])?(?:\.[a-zA-Z0-9](?:[a-zA-Z0-9-]*[a-zA-Z0-9])?)*)(?::[0-9]{1,5})?$/;
const COMPONENT = /^[a-z0-9]+(?:(?:[._]|__|-+)[a-z0-9]+)*$/;
const TAG_RE = /^[\w][\w.-]{0,127}$/;
/** A digest as a reference or descriptor may carry it. */
export const DIGEST_RE = /^(sha256:[a-f0-9]{64}|sha512:[a-f0-9]{128})$/;

/**
 * Parses `[registry/]repo[:tag][@digest]` the way docker does: the first
 * component is a registry when it has a `.` or `:` or is `localhost`;
 * otherwise the registry is `docker.io`, where a one-component name is
 * under `library/`. Throws a {@link RegistryError} (step `reference`).
 *
 * @example
 * ```ts
 * parseReference("debian:bookworm"); // { registry: "docker.io", repository: "library/debian", tag: "bookworm" }
 * ```
 */
export function parseReference(ref: string): ImageReference {
  const bad = (why: string) => new RegistryError(ref, "reference", why);
  let rest = ref;
  let digest: string | undefined;
  const at = rest.indexOf("@");
  if (at >= 0) {
    digest = rest.slice(at + 1);
    rest = rest.slice(0, at);
    if (!DIGEST_RE.test(digest)) throw bad(`invalid digest ${JSON.stringify(digest)}`);
  }
  let tag: string | undefined;
  const colon = rest.lastIndexOf(":");
  if (colon > rest.lastIndexOf("/")) {
    tag = rest.slice(colon + 1);
    rest = rest.slice(0, colon);
    if (!TAG_RE.test(tag)) throw bad(`invalid tag ${JSON.stringify(tag)}`);
  }
  const parts = rest.split("/");
  let registry = "docker.io";
  if (parts.length > 1 && (/[.:]/.test(parts[0]!) || parts[0] === "localhost" || parts[0]!.startsWith("["))) {
    registry = parts.shift()!;
    if (!DOMAIN.test(registry)) throw bad(`invalid registry ${JSON.stringify(registry)}`);
  }
  if (registry === "index.docker.io" || registry === "registry-1.docker.io") registry = "docker.io";
  if (registry === "docker.io" && parts.length === 1) parts.unshift("library");
  for (const p of parts) if (!COMPONENT.test(p)) throw bad(`invalid repository name ${JSON.stringify(parts.join("/"))}`);
  const repository = parts.join("/");
  if (repository.length > 255) throw bad("repository name longer than 255 characters");
  if (tag === undefined && digest === undefined) tag = "latest";
  return { registry, repository, ...(tag !== undefined && { tag }), ...(digest !== undefined && { digest }) };
}

/** The canonical form, `registry/repository[:tag][@digest]`. */
export function formatReference(r: ImageReference): string {
  return `${r.registry}/${r.repository}${r.tag !== undefined ? `:${r.tag}` : ""}${r.digest !== undefined ? `@${r.digest}` : ""}`;
}

/** `https://registry-1.docker.io` for docker.io; `http://` for loopback or when asked. */
export function registryBaseUrl(r: ImageReference, options: { plainHttp?: boolean; insecure?: boolean } = {}): string {
  const host = r.registry === "docker.io" ? "registry-1.docker.io" : r.registry;
  const name = host.replace(/:[0-9]+$/, "");
  const loopback = name === "localhost" || /^127\.\d+\.\d+\.\d+$/.test(name) || name === "[::1]";
  return `${options.plainHttp || options.insecure || loopback ? "http" : "https"}://${host}`;
}
