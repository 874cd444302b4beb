/**
 * Validation entry point: turn user input into a {@link ResolvedConfig}
 * or a {@link ConfigError} whose issues name each offending field. This
 * module loads zod and builds the schemas: import it lazily, where a
 * configuration is validated (see `constants.ts`).
 * @module
 */
import { ConfigError } from "../errors.js";
import { issuesOf } from "./issues.js";
import { containerSchema, type ContainerConfig, type ResolvedConfig } from "./schema.js";

/** Validates a container configuration and fills in defaults. */
export function resolveConfig(input: ContainerConfig | undefined, container?: string): ResolvedConfig {
  const parsed = containerSchema.safeParse(input ?? {});
  if (!parsed.success) throw new ConfigError(issuesOf(parsed.error), container === undefined ? undefined : { container });
  return parsed.data;
}
