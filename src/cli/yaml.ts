/**
 * A YAML writer for JSON data (what `warren config show` prints): block
 * style, strings quoted (JSON style, which YAML reads) whenever a plain
 * scalar could be read as something else. Only writes; warren reads no YAML.
 * @module
 */

const PLAIN = /^[A-Za-z_/][A-Za-z0-9_./@+-]*$/;
/** Plain words YAML 1.1 or 1.2 readers take for booleans or null. */
const RESERVED = /^(true|false|yes|no|on|off|y|n|null|~)$/i;

function scalar(v: unknown): string {
  if (v === null || v === undefined) return "null";
  if (typeof v === "string") return PLAIN.test(v) && !RESERVED.test(v) ? v : JSON.stringify(v);
  return JSON.stringify(v);
}

function key(k: string): string {
  return PLAIN.test(k) && !RESERVED.test(k) ? k : JSON.stringify(k);
}

const isNested = (v: unknown): v is object =>
  typeof v === "object" && v !== null && (Array.isArray(v) ? v.length > 0 : Object.keys(v).length > 0);

function empty(v: unknown): string | undefined {
  if (Array.isArray(v) && v.length === 0) return "[]";
  if (typeof v === "object" && v !== null && !Array.isArray(v) && Object.keys(v).length === 0) return "{}";
  return undefined;
}

function lines(v: unknown, indent: string): string[] {
  const out: string[] = [];
  if (Array.isArray(v)) {
    for (const item of v) {
      if (isNested(item)) {
        const [first, ...rest] = lines(item, `${indent}  `);
        out.push(`${indent}- ${first!.slice(indent.length + 2)}`, ...rest);
      } else out.push(`${indent}- ${empty(item) ?? scalar(item)}`);
    }
    return out;
  }
  for (const [k, item] of Object.entries(v as Record<string, unknown>)) {
    if (item === undefined) continue;
    if (isNested(item)) out.push(`${indent}${key(k)}:`, ...lines(item, `${indent}  `));
    else out.push(`${indent}${key(k)}: ${empty(item) ?? scalar(item)}`);
  }
  return out;
}

/** `value` (JSON data: no functions, no cycles) as a YAML document, ending in a newline. */
export function toYaml(value: unknown): string {
  if (!isNested(value)) return `${empty(value) ?? scalar(value)}\n`;
  return lines(value, "").join("\n") + "\n";
}
