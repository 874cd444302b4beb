/**
 * Small statistics and formatting helpers for bench/run.mjs.
 * @module
 */

/** The q-quantile (0..1) of an ascending array, linearly interpolated (R type 7, as numpy's default). */
export function quantile(sorted, q) {
  if (sorted.length === 0) return NaN;
  const pos = (sorted.length - 1) * q;
  const lo = Math.floor(pos);
  const hi = Math.ceil(pos);
  return sorted[lo] + (sorted[hi] - sorted[lo]) * (pos - lo);
}

/** Median, p10, p90, min, max and mean of samples in ms, rounded to 2 decimals (µs). */
export function summarize(samples) {
  const s = [...samples].sort((a, b) => a - b);
  const mean = s.reduce((a, b) => a + b, 0) / (s.length || 1);
  return {
    runs: s.length,
    median_ms: round2(quantile(s, 0.5)),
    p10_ms: round2(quantile(s, 0.1)),
    p90_ms: round2(quantile(s, 0.9)),
    min_ms: round2(s[0] ?? NaN),
    max_ms: round2(s[s.length - 1] ?? NaN),
    mean_ms: round2(mean),
  };
}

export function round2(x) {
  return Number.isFinite(x) ? Math.round(x * 100) / 100 : null;
}

/** a / b rounded to 2 decimals, or null when either is missing. */
export function ratio(a, b) {
  return a == null || b == null || !(b > 0) ? null : round2(a / b);
}

/** A number with 2 decimals, right-aligned in `width` ("-" when missing). */
export function num(x, width = 8) {
  return (x == null ? "-" : x.toFixed(2)).padStart(width);
}

/** A ratio like "1.23×", right-aligned. */
export function times(x, width = 8) {
  return (x == null ? "-" : `${x.toFixed(2)}×`).padStart(width);
}
