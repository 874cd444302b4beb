/**
 * Bundles test/vm/guest/NAME.mts with esbuild into one ESM file under
 * .cache/vm-guest/ that plain node runs in the VM (tsx's esbuild service
 * crashes now and then under TCG emulation; plain node does not). The
 * bundle sits in the repository, visible to the guest through the 9p
 * share, and finds the addon from there. Used by test/helpers/vm.ts and
 * the bench's VM sections.
 * @module
 */
import { resolve } from "node:path";

/** Returns the bundle's path (`.cache/vm-guest/<out ?? name>.mjs` under `repo`). */
export async function bundleGuestScript(repo, name, out = name) {
  const { build } = await import("esbuild");
  const bundle = resolve(repo, `.cache/vm-guest/${out}.mjs`);
  await build({
    entryPoints: [resolve(repo, `test/vm/guest/${name}.mts`)],
    outfile: bundle,
    bundle: true,
    platform: "node",
    format: "esm",
    target: "node20",
    banner: { js: "import { createRequire as __cr } from 'node:module'; const require = __cr(import.meta.url);" },
    logLevel: "warning",
  });
  return bundle;
}
