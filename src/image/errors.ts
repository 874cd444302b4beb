/**
 * Errors of warren's image support (tar reading, layer application, OCI import).
 * @module
 */
import { WarrenError } from "../errors.js";

/** An image, layer or blob could not be read or applied. */
export class ImageError extends WarrenError {
  /** The blob concerned (`sha256:…`), when there is one. */
  readonly blob?: string;
  /** The archive entry concerned, when there is one. */
  readonly entry?: string;

  constructor(message: string, options?: { blob?: string; entry?: string; cause?: unknown }) {
    super(message, "ERR_WARREN_IMAGE", options?.cause === undefined ? undefined : { cause: options.cause });
    if (options?.blob !== undefined) this.blob = options.blob;
    if (options?.entry !== undefined) this.entry = options.entry;
  }
}

/** The archive is compressed with something this reader does not handle (zstd, xz, bzip2, lz4). */
export class UnsupportedCompressionError extends ImageError {
  readonly compression: string;
  constructor(compression: string, options?: { blob?: string }) {
    super(`unsupported compression: ${compression} (gzip, xz, zstd and uncompressed tar are handled)`, options);
    this.compression = compression;
  }
}

/**
 * A registry pull failed. The message names the reference and the step
 * (`reference`, `auth`, `manifest`, `config`, `layer`, `unpack`):
 * ``pull 127.0.0.1:5000/busybox:1: manifest: HTTP 404 (MANIFEST_UNKNOWN: manifest unknown)``.
 */
export class RegistryError extends ImageError {
  /** The reference as given to `pull`. */
  readonly reference: string;
  /** The step that failed. */
  readonly step: string;
  /** The HTTP status, when the registry answered with an error. */
  readonly status?: number;

  constructor(reference: string, step: string, detail: string, options?: { status?: number; blob?: string; cause?: unknown }) {
    super(`pull ${reference}: ${step}: ${detail}`, options);
    this.reference = reference;
    this.step = step;
    if (options?.status !== undefined) this.status = options.status;
  }
}

/**
 * What the registry sent is not what its digest names: a blob or manifest
 * whose sha256 (or size) does not match. Nothing of it is kept.
 */
export class DigestMismatchError extends RegistryError {
  /** The digest asked for. */
  readonly expected: string;
  /** The digest of what arrived, or `N bytes` when the size was already wrong. */
  readonly actual: string;

  constructor(reference: string, step: string, expected: string, actual: string) {
    super(reference, step, `${expected}: ${actual.startsWith("sha") ? `digest mismatch (content is ${actual})` : `size mismatch (${actual})`}`, {
      blob: expected,
    });
    this.expected = expected;
    this.actual = actual;
  }
}
