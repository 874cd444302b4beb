/**
 * Validation entry points: turn user input into a {@link ResolvedConfig}
 * or a {@link ConfigError} whose issues name each offending field.
 * @module
 */
import type { z } from "zod";

import { ConfigError, type ConfigIssue } from "../errors.js";
import { containerSchema, NAME_PATTERN, type ContainerConfig, type ResolvedConfig } from "./schema.js";

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

/** Throws {@link ConfigError} unless `name` is a valid container name. */
export function validateName(name: unknown): string {
  if (typeof name !== "string" || !NAME_PATTERN.test(name)) {
    throw new ConfigError([
      {
        path: "name",
        message:
          typeof name === "string" && name.includes("/")
            ? `must not contain \`/\` (got ${JSON.stringify(name)})`
            : `must be 1-63 characters of letters, digits, \`_\`, \`.\` or \`-\`, starting with a letter or digit (got ${JSON.stringify(name)})`,
      },
    ]);
  }
  return name;
}

/** Validates a container configuration and fills in defaults. */
export function resolveConfig(input: ContainerConfig | undefined, container?: string): ResolvedConfig {
  const parsed = containerSchema.safeParse(input ?? {});
  if (!parsed.success) throw new ConfigError(issuesOf(parsed.error), container === undefined ? undefined : { container });
  return parsed.data;
}
