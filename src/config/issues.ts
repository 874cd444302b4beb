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
  return issuesFrom(error.issues, []);
}

function issuesFrom(issues: readonly z.core.$ZodIssue[], base: readonly PropertyKey[]): ConfigIssue[] {
  const out: ConfigIssue[] = [];
  for (const raw of issues) {
    const issue = { ...raw, path: [...base, ...raw.path] };
    // "Invalid input" says nothing when one option of a union was clearly
    // meant (`seccomp: {profile}` with a typo deep inside): report the
    // option whose problems lie deepest, the one that matched furthest.
    if (issue.code === "invalid_union" && issue.errors.length) {
      const depth = (option: readonly z.core.$ZodIssue[]) =>
        Math.max(...option.map((i) => i.path.length + (i.code === "unrecognized_keys" || i.code === "invalid_type" ? 0 : 1)));
      const best = issue.errors.reduce((a, b) => (depth(b) > depth(a) ? b : a));
      if (depth(best) > 1) {
        out.push(...issuesFrom(best, issue.path));
        continue;
      }
    }
    if (issue.code === "unrecognized_keys") {
      for (const key of issue.keys) out.push({ path: formatPath([...issue.path, key]), message: "unknown field" });
    } else {
      out.push({ path: formatPath(issue.path), message: issue.message });
    }
  }
  return out;
}
