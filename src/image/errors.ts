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
    super(`unsupported compression: ${compression} (only gzip and uncompressed tar are handled)`, options);
    this.compression = compression;
  }
}
