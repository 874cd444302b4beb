/**
 * `warren metrics`: the running containers' figures in the Prometheus text
 * exposition format, for a node exporter's textfile collector or a scrape
 * wrapper. One call of `Container.metrics()`.
 * @module
 */
import { Container } from "../container/container.js";
import { COMMON_OPTIONS, splitArgs, stateRoot } from "./args.js";
import type { Io } from "./io.js";
import { USAGE } from "./usage.js";

export async function metricsCommand(argv: string[], io: Io): Promise<number> {
  const options = { ...COMMON_OPTIONS, prefix: { type: "string" }, project: { type: "string" } } as const;
  const parsed = splitArgs(argv, options, Number.POSITIVE_INFINITY, "metrics");
  if (parsed.values.help) {
    io.out(USAGE.metrics!);
    return 0;
  }
  const text = await Container.metrics({
    root: stateRoot(parsed.values),
    ...(parsed.positionals.length ? { names: parsed.positionals } : {}),
    ...(typeof parsed.values.prefix === "string" ? { prefix: parsed.values.prefix } : {}),
    ...(typeof parsed.values.project === "string" ? { project: parsed.values.project } : {}),
  });
  if (text) io.out(text);
  return 0;
}
