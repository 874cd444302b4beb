// Names the docs' code fragments use without defining them (src/docs.test.ts):
// the exports a fragment would import from "warren", and the few objects
// the prose around it has already introduced. A block that defines or
// imports one of these shadows it.
import type * as warren from "../../src/index.js";

declare global {
  const Container: typeof warren.Container;
  const ImageStore: typeof warren.ImageStore;
  const host: typeof warren.host;
  const doctor: typeof warren.doctor;
  /** "a container", as the prose says. */
  const c: warren.Container;
  /** A state root. */
  const root: string;
  /** An image store. */
  const store: warren.ImageStore;
}
