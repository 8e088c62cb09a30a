/**
 * Closed intervals of possible offsets, in nanoseconds. An interval with loNs > hiNs is empty;
 * helpers return such an interval rather than throwing, so callers test `isEmpty` once.
 */

/** A closed interval [loNs, hiNs] of offsets (slave − master), in nanoseconds. */
export interface OffsetInterval {
  loNs: number;
  hiNs: number;
}

/** True when the interval holds no point (loNs > hiNs, or a NaN bound). */
export function isEmpty(interval: OffsetInterval): boolean {
  return !(interval.loNs <= interval.hiNs);
}

/** The intersection of two intervals (possibly empty). */
export function intersect(a: OffsetInterval, b: OffsetInterval): OffsetInterval {
  return { loNs: Math.max(a.loNs, b.loNs), hiNs: Math.min(a.hiNs, b.hiNs) };
}

/** The interval grown by `byNs` on each side. */
export function widen(interval: OffsetInterval, byNs: number): OffsetInterval {
  return { loNs: interval.loNs - byNs, hiNs: interval.hiNs + byNs };
}

/** The centre of the interval: the offset estimate. */
export function midpoint(interval: OffsetInterval): number {
  return (interval.loNs + interval.hiNs) / 2;
}

/** Half the width of the interval: the error bound around the midpoint. */
export function halfWidth(interval: OffsetInterval): number {
  return (interval.hiNs - interval.loNs) / 2;
}

/** The interval midpoint ± halfWidth, the inverse of midpoint/halfWidth. */
export function around(centreNs: number, halfWidthNs: number): OffsetInterval {
  return { loNs: centreNs - halfWidthNs, hiNs: centreNs + halfWidthNs };
}
