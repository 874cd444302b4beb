/**
 * zod errors as {@link ConfigIssue}s. Kept apart from `resolve.ts` (which
 * imports the container schema) so that modules which validate lazily
 * (exec options, NICs, limits) can use it without loading zod up front.
 * @module
 */
import type { z } from "zod";

import type { ConfigIssue } from "../errors.js";

/** `mounts[1].target` from zod's `["mounts", 1, "target"]`. */
export function formatPath(path: readonly PropertyKey[]): string {
  let out = "";
  for (const p of path) {
    if (typeof p === "number") out += `[${p}]`;
    else out += out ? `.${String(p)}` : String(p);
  }
  return out;
}

export function issuesOf(error: z.ZodError): ConfigIssue[] {
  const out: ConfigIssue[] = [];
  for (const issue of error.issues) {
    if (issue.code === "unrecognized_keys") {
      for (const key of issue.keys) out.push({ path: formatPath([...issue.path, key]), message: "unknown field" });
    } else {
      out.push({ path: formatPath(issue.path), message: issue.message });
    }
  }
  return out;
}
