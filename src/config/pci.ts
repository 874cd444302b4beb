/**
 * PCI names the `gpu` kind and its schema share (kept free of zod: the
 * device core loads this on every start with devices).
 * @module
 */

/** PCI vendor ids of the names a `gpu` device's `vendor` accepts. */
export const GPU_VENDORS = { nvidia: "10de", amd: "1002", intel: "8086" } as const;

/** A PCI function's address as sysfs names it. */
export const PCI_ADDRESS = /^[0-9a-f]{4}:[0-9a-f]{2}:[0-9a-f]{2}\.[0-7]$/;
