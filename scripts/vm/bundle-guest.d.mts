/** Bundles test/vm/guest/NAME.mts for plain node in the VM; returns the bundle's path (see bundle-guest.mjs). */
export function bundleGuestScript(repo: string, name: string, out?: string): Promise<string>;
