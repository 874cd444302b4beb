/**
 * The YAML subset of LXC/Incus `metadata.yaml` (what distrobuilder and
 * `incus image export` write): block mappings and sequences, plain and quoted
 * scalars, block scalars, comments. Enough to read an image's metadata
 * without a YAML dependency; anything beyond it is refused, naming the line.
 * @module
 */
import { ImageError } from "../errors.js";

export type YamlValue = string | null | YamlValue[] | { [k: string]: YamlValue };

interface Line {
  indent: number;
  text: string;
  no: number;
}

/** Drops a comment: `#` at the start or after a blank, outside quotes. */
function stripComment(s: string): string {
  let q: string | null = null;
  for (let i = 0; i < s.length; i++) {
    const c = s[i]!;
    if (q) {
      if (c === "\\" && q === '"') i++;
      else if (c === q) q = null;
    } else if (c === '"' || c === "'") {
      if (i === 0 || /[\s:[{,-]/.test(s[i - 1]!)) q = c;
    } else if (c === "#" && (i === 0 || /\s/.test(s[i - 1]!))) {
      return s.slice(0, i);
    }
  }
  return s;
}

function yamlError(no: number, msg: string): ImageError {
  return new ImageError(`metadata.yaml line ${no}: ${msg}`);
}

function scalar(raw: string, no: number): YamlValue {
  const s = raw.trim();
  if (s === "" || s === "~" || s === "null") return null;
  if (s.startsWith('"')) {
    if (!s.endsWith('"') || s.length < 2) throw yamlError(no, "unterminated double-quoted string");
    try {
      return JSON.parse(s.replace(/\\x([0-9a-fA-F]{2})/g, "\\u00$1").replace(/\\([0\s/])/g, (_, c: string) => (c === "0" ? "\\u0000" : c))) as string;
    } catch {
      throw yamlError(no, `bad double-quoted string ${s}`);
    }
  }
  if (s.startsWith("'")) {
    if (!s.endsWith("'") || s.length < 2) throw yamlError(no, "unterminated single-quoted string");
    return s.slice(1, -1).replace(/''/g, "'");
  }
  if (s === "{}") return {};
  if (s === "[]") return [];
  if (s.startsWith("[") && s.endsWith("]")) {
    // Flow sequences of plain or quoted scalars (`when: [create, copy]`).
    return s
      .slice(1, -1)
      .split(",")
      .map((x) => scalar(x, no));
  }
  if (s.startsWith("{") || s.startsWith("[") || s.startsWith("&") || s.startsWith("*") || s.startsWith("!")) {
    throw yamlError(no, `unsupported YAML (${s.slice(0, 20)})`);
  }
  return s;
}

/** Splits `key: value` (the key plain or quoted); null when the line is not a mapping entry. */
function splitKey(text: string, no: number): [string, string] | null {
  const m = /^("(?:[^"\\]|\\.)*"|'(?:[^']|'')*'|[^\s"'#-][^:]*?|-[^\s:][^:]*?)\s*:(?:\s+(.*))?$/.exec(text);
  if (!m) return null;
  const key = scalar(m[1]!, no);
  return [typeof key === "string" ? key : String(key), m[2] ?? ""];
}

/**
 * Parses the YAML subset of LXC's metadata.yaml: block mappings and
 * sequences by indentation, plain/single/double-quoted scalars, `|`/`>`
 * block scalars, `{}`/`[]` and simple flow sequences, comments. Scalars stay
 * strings (`null` for empty/`~`). Anchors, tags, multi-document streams and
 * flow mappings are refused with an ImageError naming the line.
 *
 * @example
 * ```ts
 * parseYamlSubset("architecture: x86_64\nproperties:\n  os: debian\n"); // {architecture: "x86_64", properties: {os: "debian"}}
 * ```
 */
export function parseYamlSubset(text: string): YamlValue {
  const raw = text.replace(/^\uFEFF/, "").split(/\r?\n/);
  const lines: Line[] = [];
  for (const [i, l] of raw.entries()) {
    if (/^\t/.test(l)) throw yamlError(i + 1, "tabs are not allowed for indentation");
    const t = stripComment(l).replace(/\s+$/, "");
    if (t.trim() === "" || t === "---" || t === "...") {
      // Blank lines count inside block scalars; keep them as empty markers.
      lines.push({ indent: -1, text: "", no: i + 1 });
      continue;
    }
    lines.push({ indent: t.length - t.trimStart().length, text: t.trimStart(), no: i + 1 });
  }
  let pos = 0;
  const peek = (): Line | undefined => {
    while (pos < lines.length && lines[pos]!.indent < 0) pos++;
    return lines[pos];
  };

  const blockScalar = (style: string, parentIndent: number): string => {
    const body: string[] = [];
    let indent = -1;
    while (pos < lines.length) {
      const l = lines[pos]!;
      if (l.indent >= 0 && l.indent <= parentIndent) break;
      const original = raw[l.no - 1]!;
      if (l.indent >= 0 && indent < 0) indent = l.indent;
      body.push(l.indent < 0 ? "" : original.slice(indent));
      pos++;
    }
    while (body.length && body[body.length - 1] === "") body.pop();
    const keep = style.includes("+");
    const strip = style.includes("-");
    const joined = style.startsWith(">") ? body.join("\n").replace(/([^\n])\n(?=[^\n ])/g, "$1 ") : body.join("\n");
    return strip ? joined : keep ? `${joined}\n` : joined ? `${joined}\n` : "";
  };

  const value = (rest: string, indent: number, no: number): YamlValue => {
    if (/^[|>][+-]?$/.test(rest)) return blockScalar(rest, indent);
    if (rest !== "") return scalar(rest, no);
    const next = peek();
    if (next && next.indent > indent) return block(next.indent);
    // A sequence may sit at its key's own indentation.
    if (next && next.indent === indent && /^-(\s|$)/.test(next.text)) return sequence(indent);
    return null;
  };

  const sequence = (indent: number): YamlValue[] => {
    const out: YamlValue[] = [];
    for (let l = peek(); l && l.indent === indent && /^-(\s|$)/.test(l.text); l = peek()) {
      const item = l.text.slice(1).trimStart();
      const itemIndent = indent + (l.text.length - item.length);
      if (item === "") {
        pos++;
        out.push(value("", indent, l.no));
      } else if (splitKey(item, l.no)) {
        // "- key: value" opens a mapping at the item's column.
        lines[pos] = { indent: itemIndent, text: item, no: l.no };
        out.push(mapping(itemIndent));
      } else {
        pos++;
        out.push(value(item, indent, l.no));
      }
    }
    return out;
  };

  const mapping = (indent: number): { [k: string]: YamlValue } => {
    const out: { [k: string]: YamlValue } = {};
    for (let l = peek(); l && l.indent === indent && !/^-(\s|$)/.test(l.text); l = peek()) {
      const kv = splitKey(l.text, l.no);
      if (!kv) throw yamlError(l.no, `expected "key: value", got ${JSON.stringify(l.text.slice(0, 40))}`);
      if (Object.prototype.hasOwnProperty.call(out, kv[0])) throw yamlError(l.no, `duplicate key ${JSON.stringify(kv[0])}`);
      pos++;
      Object.defineProperty(out, kv[0], { value: value(kv[1], indent, l.no), enumerable: true, writable: true, configurable: true });
    }
    return out;
  };

  const block = (indent: number): YamlValue => {
    const l = peek()!;
    if (/^-(\s|$)/.test(l.text)) return sequence(indent);
    if (!splitKey(l.text, l.no)) {
      pos++;
      return scalar(l.text, l.no);
    }
    return mapping(indent);
  };

  const first = peek();
  if (!first) return null;
  const doc = block(first.indent);
  const left = peek();
  if (left) throw yamlError(left.no, `unexpected indentation or content ${JSON.stringify(left.text.slice(0, 40))}`);
  return doc;
}
