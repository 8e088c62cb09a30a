/**
 * Test helper: simulates one check's exchanges between a master and a slave whose clocks read
 * true time (slave: plus its offset) give or take anything less than their resolution (truncation,
 * rounding, or worse), so samples carry the errors real timestamps can. Not a test file itself.
 */
import fc from 'fast-check';
import type { Nanos } from '../../src/clock/clock.js';
import { type Estimate, estimateCheck } from '../../src/estimate/check.js';
import { type Sample, sampleFrom } from '../../src/estimate/sample.js';

/** One sample's true one-way delays and the slave's processing time, in ns. */
export interface Leg {
  outNs: number; // master -> slave
  backNs: number; // slave -> master
  processNs: number; // slave: receive -> next send
  gapNs: number; // master: this sample's end -> next sample's start
  /** Error of each reading t1..t4 as a fraction of its clock's resolution, in [−1, 1]. */
  readingErrors?: readonly [number, number, number, number];
}

/** A clock that reads true time plus `offsetNs`, wrong by less than `resolutionNs` (fraction `error` of it). */
function read(trueNs: bigint, offsetNs: number, resolutionNs: number, error = 0): Nanos {
  return trueNs + BigInt(offsetNs) + BigInt(Math.round(error * (resolutionNs - 1)));
}

/** The samples a check would measure; instants start at `startNs` (true time). */
export function simulateCheck(
  startNs: bigint,
  offsetNs: number,
  legs: readonly Leg[],
  masterResolutionNs = 1,
  slaveResolutionNs = 1,
): Sample[] {
  const samples: Sample[] = [];
  let now = startNs;
  for (const leg of legs) {
    const [e1, e2, e3, e4] = leg.readingErrors ?? [0, 0, 0, 0];
    const t1 = read(now, 0, masterResolutionNs, e1);
    now += BigInt(leg.outNs);
    const t2 = read(now, offsetNs, slaveResolutionNs, e2);
    now += BigInt(leg.processNs);
    const t3 = read(now, offsetNs, slaveResolutionNs, e3);
    now += BigInt(leg.backNs);
    const t4 = read(now, 0, masterResolutionNs, e4);
    now += BigInt(leg.gapNs);
    samples.push(sampleFrom(t1, t2, t3, t4));
  }
  return samples;
}

export const NS_PER_S = 1_000_000_000;
/** About 2023-11 in ns since the epoch: realistic magnitudes, far beyond 2^53. */
export const EPOCH_2023_NS = 1_700_000_000_000_000_000n;

/** True offsets within ±10 s. */
export const offsetArb = fc.integer({ min: -10 * NS_PER_S, max: 10 * NS_PER_S });

const delayArb = fc.oneof(fc.integer({ min: 0, max: NS_PER_S }), fc.constant(0), fc.integer({ min: 0, max: 1000 }));
const processArb = fc.oneof(fc.integer({ min: 0, max: NS_PER_S }), fc.constant(0));
const gapArb = fc.integer({ min: 0, max: NS_PER_S });
const fractionArb = fc.oneof(fc.double({ min: -1, max: 1, noNaN: true }), fc.constantFrom(-1, 0, 1));
const readingErrorsArb = fc.tuple(fractionArb, fractionArb, fractionArb, fractionArb);

/** Delays 0..1 s each way: independent (so often asymmetric, up to all one way) or symmetric. */
export const legArb: fc.Arbitrary<Leg> = fc.oneof(
  fc.record({
    outNs: delayArb,
    backNs: delayArb,
    processNs: processArb,
    gapNs: gapArb,
    readingErrors: readingErrorsArb,
  }),
  fc
    .record({ oneWayNs: delayArb, processNs: processArb, gapNs: gapArb, readingErrors: readingErrorsArb })
    .map(({ oneWayNs, ...rest }) => ({ outNs: oneWayNs, backNs: oneWayNs, ...rest })),
);

/** Clock resolutions from 1 ns to 1 ms (Date.now()-like). */
export const resolutionArb = fc.constantFrom(1, 100, 1000, 1_000_000);

/**
 * The checks of a slave whose offset grows at `ppm` from `startOffsetNs` (at EPOCH_2023_NS), each
 * `gapMs` after the one before; a check is instantaneous next to the drift (its samples see the
 * offset of its instant, rounded to the ns). Yields each check's instant, true offset and estimate.
 */
export function* driftingChecks(
  startOffsetNs: number,
  ppm: number,
  checks: readonly { gapMs: number; legs: readonly Leg[] }[],
  resolutionNs: number,
): Generator<{ at: Nanos; truthNs: number; estimate: Estimate }> {
  let at = EPOCH_2023_NS;
  for (const check of checks) {
    at += BigInt(check.gapMs) * 1_000_000n;
    const truthNs = Math.round(startOffsetNs + (ppm * Number(at - EPOCH_2023_NS)) / 1e6);
    const outcome = estimateCheck(simulateCheck(at, truthNs, check.legs, resolutionNs, resolutionNs), 2 * resolutionNs);
    if (!outcome.ok) throw new Error(`a check of honest samples gave no estimate: ${outcome.detail}`);
    yield { at, truthNs, estimate: outcome.estimate };
  }
}
