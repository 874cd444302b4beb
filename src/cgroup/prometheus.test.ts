import { describe, expect, it } from "vitest";

import { parseExposition } from "../../test/helpers/prometheus.js";
import { escapeHelp, escapeLabelValue, formatExposition, formatValue } from "./prometheus.js";

describe("Prometheus text exposition", () => {
  it("writes HELP and TYPE once per family, then the samples", () => {
    const text = formatExposition([
      { name: "w_cpu_seconds_total", help: "CPU time", type: "counter", samples: [{ labels: { name: "a", mode: "user" }, value: 1.5 }, { labels: { name: "b", mode: "user" }, value: 0 }] },
      { name: "w_empty", help: "nothing", type: "gauge", samples: [] },
      { name: "w_procs_total", help: "tasks", type: "gauge", samples: [{ labels: {}, value: 3 }] },
    ]);
    expect(text).toBe(
      [
        "# HELP w_cpu_seconds_total CPU time",
        "# TYPE w_cpu_seconds_total counter",
        'w_cpu_seconds_total{name="a",mode="user"} 1.5',
        'w_cpu_seconds_total{name="b",mode="user"} 0',
        "# HELP w_procs_total tasks",
        "# TYPE w_procs_total gauge",
        "w_procs_total 3",
        "",
      ].join("\n"),
    );
    expect(formatExposition([])).toBe("");
  });

  it("escapes label values and HELP text as the format says, and an independent parser reads them back", () => {
    const nasty = 'a\\b"c\nd}{,=';
    expect(escapeLabelValue(nasty)).toBe('a\\\\b\\"c\\nd}{,=');
    expect(escapeHelp('x\\y\n"z"')).toBe('x\\\\y\\n"z"');
    const text = formatExposition([{ name: "w_x", help: 'help \\ with\nnewline "q"', type: "gauge", samples: [{ labels: { name: nasty, project: "" }, value: 2 }] }]);
    const [f] = parseExposition(text);
    expect(f!.help).toBe('help \\ with\nnewline "q"');
    expect(f!.type).toBe("GAUGE");
    expect(f!.metrics[0]!.labels).toEqual({ name: nasty, project: "" });
  });

  it("spells special values as Go's parser reads them", () => {
    expect([NaN, Infinity, -Infinity, 1e21, 0.1, 12].map(formatValue)).toEqual(["NaN", "+Inf", "-Inf", "1e+21", "0.1", "12"]);
  });

  it("refuses names the format does not allow (one bad name fails the whole scrape)", () => {
    expect(() => formatExposition([{ name: "1bad", help: "", type: "gauge", samples: [{ labels: {}, value: 1 }] }])).toThrow(/metric name/);
    expect(() => formatExposition([{ name: "ok", help: "", type: "gauge", samples: [{ labels: { "a-b": "x" }, value: 1 }] }])).toThrow(/label name/);
    expect(() => formatExposition([{ name: "ok", help: "", type: "gauge", samples: [{ labels: { __name__: "x" }, value: 1 }] }])).toThrow(/label name/);
  });
});
