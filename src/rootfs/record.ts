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
      /** Absent in records written before there was a choice. */
      storage?: "overlay";
      /** Image id (manifest digest hex). */
      image: string;
      /** The image's unpacked rootfs (the overlay's lower layer, never written). */
      lower: string;
      /** The container's own changes (`<state>/upper`; `work` beside it). */
      upper: string;
      work: string;
      /**
       * The image's filesystem cannot be idmapped here: `lower` is then the
       * container's own copy of the image (`<state>/lower`), its owners
       * shifted once to the container's range, used as it is.
       */
      shifted?: true;
    }
  | {
      /**
       * An image from the store, the container's root a writable btrfs
       * snapshot of the image's subvolume. Same `kind` as the overlay form,
       * so everything that asks "which image does it use" (the image
       * store's in-use check) sees it.
       */
      kind: "image";
      storage: "btrfs";
      /** Image id (manifest digest hex). */
      image: string;
      /**
       * The container's own subvolume (`<state>/fs/root`), the tree its root
       * is made from (idmapped through its user namespace when it has one, so
       * the ids on disk are the ids the container sees). Named like the
       * overlay's lower layer because it plays that part for the start path:
       * the tree to idmap, where `/etc/resolv.conf` is looked for.
       */
      lower: string;
    }
  | {
      kind: "directory";
      path: string;
      mode: "rw" | "ro" | "overlay";
      /** Mounted idmapped through the container's user namespace. */
      idmap?: boolean;
      /**
       * Where the tree is attached before pivot_root when not at `path`
       * itself: an imported tree kept below a private (0700) directory,
       * which the container's root could not traverse to reach `path`.
       */
      mountpoint?: string;
    };

/** The image-based forms. */
export type ImageRootfs = Extract<RootfsRecord, { kind: "image" }>;
/** The overlay form of an image-based rootfs. */
export type OverlayRootfs = Extract<RootfsRecord, { kind: "image"; upper: string }>;
/** The btrfs form of an image-based rootfs. */
export type BtrfsRootfs = Extract<RootfsRecord, { kind: "image"; storage: "btrfs" }>;
