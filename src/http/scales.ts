/**
 * Axis scales and round ticks for the dashboard's plots. Pure arithmetic, no SVG.
 *
 * - Linear: ticks at 1, 2 or 5 × 10^k, zero among them whenever it is in range.
 * - Symmetric log: small offsets next to large ones on one axis (10 µs and 750 ms both readable):
 *   y = sign(v) · log10(1 + |v| / c), linear near zero, logarithmic beyond c; ticks at 0 and
 *   ±c·10^k.
 * - Time: ticks at round spans before now (10 s, 1 min, 15 min, ...).
 */

/** A one-dimensional scale: value to a position in [0, 1], and the round ticks to label it with. */
export interface Scale {
  /** Position of `value` in [0, 1] (0 = low end). */
  position(value: number): number;
  readonly ticks: readonly number[];
  readonly lo: number;
  readonly hi: number;
  /** The distance between ticks, for a linear scale (labels keep enough decimals to differ). */
  readonly step?: number;
}

/** The round step for about `count` intervals over `span`: 1, 2 or 5 × 10^k. */
export function niceStep(span: number, count: number): number {
  if (!(span > 0) || !(count > 0)) throw new RangeError(`span and count must be > 0, got ${span}, ${count}`);
  const raw = span / count;
  const power = 10 ** Math.floor(Math.log10(raw));
  const fraction = raw / power;
  return (fraction <= 1 ? 1 : fraction <= 2 ? 2 : fraction <= 5 ? 5 : 10) * power;
}

/** A linear scale over [lo, hi] widened to round ticks (about `count` intervals). */
export function linearScale(lo: number, hi: number, count = 4): Scale {
  if (!(hi > lo)) {
    const pad = Math.abs(lo) * 0.1 || 1;
    lo -= pad;
    hi += pad;
  }
  const step = niceStep(hi - lo, count);
  const from = Math.floor(lo / step) * step;
  const to = Math.ceil(hi / step) * step;
  const ticks: number[] = [];
  // Integer steps so rounding never skips or repeats a tick.
  for (let i = 0; from + i * step <= to + step * 1e-9; i++) ticks.push(roundTo(from + i * step, step));
  return { lo: from, hi: to, step, ticks, position: (v) => (v - from) / (to - from) };
}

/** A symmetric-log scale over [lo, hi] (lo < 0 < hi after widening), linear within ±c. */
export function symlogScale(lo: number, hi: number, c: number): Scale {
  if (!(c > 0)) throw new RangeError(`c must be > 0, got ${c}`);
  const t = (v: number) => Math.sign(v) * Math.log10(1 + Math.abs(v) / c);
  // Round the ends out to the next decade of c, and always show both signs and zero.
  const decade = (v: number) => c * 10 ** Math.ceil(Math.log10(1 + Math.abs(v) / c));
  const top = Math.max(decade(Math.max(hi, 0)), c);
  const bottom = -Math.max(decade(Math.min(lo, 0)), c);
  const ticks = [0];
  for (let v = c; v <= top * (1 + 1e-9); v *= 10) ticks.push(v);
  for (let v = c; v <= -bottom * (1 + 1e-9); v *= 10) ticks.unshift(-v);
  const tLo = t(bottom);
  const tHi = t(top);
  return { lo: bottom, hi: top, ticks, position: (v) => (t(v) - tLo) / (tHi - tLo) };
}

const TIME_STEPS_S = [1, 2, 5, 10, 15, 30, 60, 120, 300, 600, 900, 1800, 3600, 7200, 10800, 21600];

/** A tick of a time axis: how long before now, and its label. */
export interface TimeTick {
  readonly beforeNowNs: number;
  readonly label: string;
}

/**
 * Ticks for a span of `spanNs` ending now, at a round step (about `count` intervals), labelled in
 * one unit chosen by the step: `now`, `−30 s`, `−60 s`; `−10 min`; `−2 h`.
 */
export function timeTicks(spanNs: number, count = 6): TimeTick[] {
  const spanS = spanNs / 1e9;
  const step = TIME_STEPS_S.find((s) => spanS / s <= count) ?? TIME_STEPS_S.at(-1)!;
  const [unitS, unit] = step < 60 ? [1, 's'] : step < 3600 ? [60, 'min'] : [3600, 'h'];
  const ticks: TimeTick[] = [];
  for (let s = 0; s <= spanS + 1e-9; s += step) {
    ticks.push({ beforeNowNs: s * 1e9, label: s === 0 ? 'now' : `−${Math.round(s / unitS)} ${unit}` });
  }
  return ticks;
}

/**
 * An offset in nanoseconds as an axis label: `0`, `+20 µs`, `−1.5 ms`, `+750 ms`, `+2 s`. With
 * `stepNs` (the distance between neighbouring ticks) it keeps enough decimals to tell them apart:
 * `+749.95 ms`, `+750.00 ms`.
 */
export function offsetLabel(ns: number, stepNs?: number): string {
  if (ns === 0) return '0';
  const sign = ns > 0 ? '+' : '−';
  const a = Math.abs(ns);
  const [unitNs, unit] = a >= 1e9 ? [1e9, 's'] : a >= 1e6 ? [1e6, 'ms'] : a >= 1e3 ? [1e3, 'µs'] : [1, 'ns'];
  const value = a / unitNs;
  if (stepNs === undefined) return `${sign}${Number(value.toPrecision(3))} ${unit}`;
  const decimals = Math.max(0, Math.min(9, Math.ceil(-Math.log10(stepNs / unitNs) - 1e-9)));
  return `${sign}${value.toFixed(decimals)} ${unit}`;
}

function roundTo(value: number, step: number): number {
  const digits = Math.max(0, -Math.floor(Math.log10(step)) + 1);
  return Number(value.toFixed(Math.min(20, digits)));
}
