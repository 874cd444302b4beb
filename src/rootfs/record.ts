/**
 * How a container's root filesystem is laid out on disk, as recorded at
 * create time in its state directory.
 * @module
 */

export type RootfsRecord =
  | {
      /** The embedded default: a writable skeleton with the host's `/usr` (and friends) bound read-only. */
      kind: "embedded";
      /** The skeleton directory (`<state>/rootfs`). */
      path: string;
      /** Host directories bound read-only at the same path (`/usr`, and `/lib64` etc. where not symlinks). */
      binds: string[];
    }
  | {
      /** An image from the store, under a writable overlay kept in the state directory. */
      kind: "image";
      /** Image id (manifest digest hex). */
      image: string;
      /** The image's unpacked rootfs (the overlay's lower layer, never written). */
      lower: string;
      /** The container's own changes (`<state>/upper`; `work` beside it). */
      upper: string;
      work: string;
    }
  | {
      kind: "directory";
      path: string;
      mode: "rw" | "ro" | "overlay";
      /** Mounted idmapped through the container's user namespace. */
      idmap?: boolean;
    };
