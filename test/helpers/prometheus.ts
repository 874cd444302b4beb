/**
 * Prometheus text-format parsing for tests, by an independent parser
 * (parse-prometheus-text-format, the format as Prometheus's own Go parser
 * reads it), so warren's formatter is not checked by its own reading.
 */
import { createRequire } from "node:module";

export interface ParsedFamily {
  name: string;
  help: string;
  type: "COUNTER" | "GAUGE" | "SUMMARY" | "HISTOGRAM" | "UNTYPED";
  metrics: { value: string; labels?: Record<string, string> }[];
}

const parse = createRequire(import.meta.url)("parse-prometheus-text-format") as (text: string) => ParsedFamily[];

/** Parses exposition text; throws on any line the format does not allow. */
export function parseExposition(text: string): ParsedFamily[] {
  return parse(text);
}

/** The value of `family`'s sample whose labels include `labels`, or undefined. */
export function sampleValue(families: readonly ParsedFamily[], family: string, labels: Record<string, string>): number | undefined {
  const f = families.find((x) => x.name === family);
  const m = f?.metrics.find((s) => Object.entries(labels).every(([k, v]) => s.labels?.[k] === v));
  return m ? Number(m.value) : undefined;
}
