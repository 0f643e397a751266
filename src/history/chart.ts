// A price chart over time for a terminal (asciichart): one line per series (region or availability zone), sampled
// on an even time grid; each series is the price of the period covering each instant. asciichart cannot draw gaps
// (a NaN spoils its scale), so before its first period a series shows its first price and in a gap its last one:
// the table above the chart is the record, the chart shows the movement.
import { createRequire } from "node:module";

export interface Period {
  series: string;
  price: number;
  from: Date;
  to: Date | null;
}

interface AsciiChart {
  plot(
    series: number[][],
    cfg: { height?: number; min?: number; max?: number; colors?: string[]; format?: (x: number) => string },
  ): string;
  [color: string]: unknown;
}
const asciichart = createRequire(import.meta.url)("asciichart") as AsciiChart;
const COLORS = ["blue", "green", "magenta", "cyan", "yellow", "red"];
const MAX_SERIES = COLORS.length;

export function chart(periods: Period[], opts: { width?: number; now?: Date } = {}): string {
  if (periods.length === 0) return "";
  const width = opts.width ?? 60;
  const names = [...new Set(periods.map((p) => p.series))].slice(0, MAX_SERIES);
  const start = Math.min(...periods.map((p) => p.from.getTime()));
  const end = Math.max((opts.now ?? new Date()).getTime(), ...periods.map((p) => (p.to ?? p.from).getTime()));
  const at = (i: number) => start + ((end - start) * i) / Math.max(1, width - 1);
  const lines = names.map((name) => {
    const own = periods.filter((p) => p.series === name);
    let last = own[0]!.price;
    return Array.from({ length: width }, (_, i) => {
      const t = at(i);
      const p = own.find((x) => x.from.getTime() <= t && (x.to === null || t < x.to.getTime()));
      if (p) last = p.price;
      return last;
    });
  });
  const colors = names.map((_, i) => asciichart[COLORS[i]!] as string);
  // asciichart takes its range from the first point unless told: give it the finite range (gaps are NaN).
  const prices = periods.map((p) => p.price);
  const min = Math.min(...prices);
  const max = Math.max(...prices);
  const plot = asciichart.plot(lines, {
    height: 10,
    min,
    max: max > min ? max : min + 1e-4,
    colors,
    format: (x) => x.toFixed(4).padStart(10),
  });
  const legend = names.map((n, i) => `${colors[i]}── ${n}\x1b[0m`).join("  ");
  const span = `${new Date(start).toISOString().slice(0, 16)}Z … ${new Date(end).toISOString().slice(0, 16)}Z`;
  return `${plot}\n${" ".repeat(12)}${span}\n${" ".repeat(12)}${legend}\n`;
}
