/**
 * The benchmark's arithmetic, apart from its runs: percentiles of samples, and the median and
 * spread of each figure over several runs. Pure, so that it is tested, and shared by every mode
 * of the benchmark.
 */

/** One run's figures: every value a measured number; a ratio is computed within its run. */
export type Figures = Record<string, number>;

export interface Spread {
  median: number;
  min: number;
  max: number;
}

/** The p-th percentile (nearest rank below) of samples; NaN without samples. */
export function percentile(xs: readonly number[], p: number): number {
  if (xs.length === 0) return NaN;
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.min(s.length - 1, Math.floor((p / 100) * s.length))];
}

export const round2 = (x: number): number => Math.round(x * 100) / 100;

/**
 * Median and range of each figure over the runs. A figure a run could not measure (NaN, e.g. no
 * samples) is left out for that run; a figure no run measured is left out.
 */
export function summarise(runs: readonly Figures[]): Record<string, Spread> {
  const out: Record<string, Spread> = {};
  const keys = [...new Set(runs.flatMap((r) => Object.keys(r)))];
  for (const key of keys) {
    const xs = runs.map((r) => r[key]).filter((x): x is number => typeof x === 'number' && Number.isFinite(x));
    if (xs.length === 0) continue;
    const s = [...xs].sort((a, b) => a - b);
    const mid = s.length >> 1;
    const median = s.length % 2 === 1 ? s[mid] : (s[mid - 1] + s[mid]) / 2;
    out[key] = { median: round2(median), min: s[0], max: s[s.length - 1] };
  }
  return out;
}

/**
 * A run's numbers for the summary: its numeric figures, and those of one level of nesting under a
 * dotted name (`press1_plugin_loop_lag_ms.p99`, `press1_cpu_percent.asterisk`). Lists (the steps)
 * stay in per_run.
 */
export function numericFigures(run: Record<string, unknown>): Figures {
  const out: Figures = {};
  for (const [k, v] of Object.entries(run)) {
    if (typeof v === 'number') out[k] = v;
    else if (v && typeof v === 'object' && !Array.isArray(v))
      for (const [k2, v2] of Object.entries(v as Record<string, unknown>)) if (typeof v2 === 'number') out[`${k}.${k2}`] = v2;
  }
  return out;
}

/** The summary as a text table: figure, median, min, max. */
export function figuresTable(figures: Record<string, Spread>): string {
  const head = ['figure', 'median', 'min', 'max'];
  const rows = Object.entries(figures).map(([k, v]) => [k, String(v.median), String(v.min), String(v.max)]);
  const widths = head.map((_, c) => Math.max(...[head, ...rows].map((r) => (r[c] ?? '').length)));
  const line = (r: string[]): string => r.map((x, c) => (c === 0 ? x.padEnd(widths[c] ?? 0) : x.padStart(widths[c] ?? 0))).join('  ');
  return [line(head), ...rows.map(line)].join('\n');
}
