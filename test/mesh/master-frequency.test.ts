import assert from 'node:assert/strict';
import { test } from 'node:test';
import fc from 'fast-check';
import type { OffsetInterval } from '../../src/estimate/interval.js';
import type { Consensus } from '../../src/mesh/consensus.js';
import { MASTER_FREQUENCY_CAPACITY, MasterFrequency } from '../../src/mesh/master-frequency.js';

const S = 1_000_000_000n;
const INTERVAL_NS = 10e9;

/** A consensus whose agreed time is `agreed` (agreed − master), with or without a majority. */
function vote(agreed: OffsetInterval | undefined): Consensus {
  return { majority: agreed !== undefined, agreed, agree: 4, of: 5, falsetickers: [], nodes: new Map() };
}

/** The agreed time's offset from a master running `ppm` fast, `second`s in, ± `errorNs`. */
function agreedAt(second: number, ppm: number, errorNs: number, startNs = 0): OffsetInterval {
  const agreedMinusMaster = -(startNs + ppm * 1e3 * second);
  return { loNs: agreedMinusMaster - errorNs, hiNs: agreedMinusMaster + errorNs };
}

test('a master running 1,000 ppm fast against the agreed time: its frequency is +1,000 ppm (master − agreed)', () => {
  const rate = new MasterFrequency(INTERVAL_NS);
  rate.observe(0n, vote(agreedAt(0, 1000, 100e3)));
  assert.equal(rate.frequency, undefined, 'one instant bounds no rate');
  for (let second = 1; second <= 600; second++) rate.observe(BigInt(second) * S, vote(agreedAt(second, 1000, 100e3)));
  const f = rate.frequency!;
  assert.ok(f.loPpm <= 1000 && 1000 <= f.hiPpm, `${f.loPpm}..${f.hiPpm}`);
  assert.ok(f.hiPpm - f.loPpm < 2 * 5 + 1, 'within the wander the model allows, plus the intervals over 10 minutes');
  assert.ok(rate.length <= MASTER_FREQUENCY_CAPACITY);
});

test('at most one agreed offset per master interval; none, and no frequency, without a majority', () => {
  const rate = new MasterFrequency(INTERVAL_NS);
  for (let second = 0; second < 10; second++) rate.observe(BigInt(second) * S, vote(agreedAt(second, 50, 1e3)));
  assert.equal(rate.length, 1);
  rate.observe(10n * S, vote(agreedAt(10, 50, 1e3)));
  assert.equal(rate.length, 2);
  assert.ok(rate.frequency!.loPpm <= 50 && 50 <= rate.frequency!.hiPpm);
  rate.observe(11n * S, vote(undefined));
  assert.equal(rate.frequency, undefined, 'no agreed time, no frequency relative to it');
  assert.equal(rate.length, 2);
  rate.observe(12n * S, vote(agreedAt(12, 50, 1e3)));
  assert.ok(rate.frequency!.loPpm <= 50 && 50 <= rate.frequency!.hiPpm, 'back with the majority');
});

test('an agreed time that jumps (the majority changed) restarts the history instead of reading as a rate', () => {
  const rate = new MasterFrequency(INTERVAL_NS);
  for (let second = 0; second <= 60; second += 10) rate.observe(BigInt(second) * S, vote(agreedAt(second, 0, 1e3)));
  rate.observe(70n * S, vote(agreedAt(70, 0, 1e3, 300e6)));
  assert.equal(rate.frequency, undefined);
  assert.equal(rate.length, 1);
});

test('property: for any master rate and start offset, the frequency bound holds the truth and the memory stays bounded', () => {
  fc.assert(
    fc.property(
      fc.double({ min: -5000, max: 5000, noNaN: true }),
      fc.double({ min: -1e9, max: 1e9, noNaN: true }),
      fc.array(fc.integer({ min: 0, max: 200_000 }), { minLength: 3, maxLength: 200 }),
      fc.integer({ min: 1, max: 30 }),
      (ppm, startNs, errorsNs, stepS) => {
        const rate = new MasterFrequency(INTERVAL_NS);
        errorsNs.forEach((errorNs, i) => {
          const second = i * stepS;
          // The agreed time anywhere in its interval: the truth off-centre by up to the error.
          const truth = agreedAt(second, ppm, 0, startNs).loNs;
          const skew = ((i * 7919) % 11) / 10 - 0.5;
          const centre = truth + skew * errorNs;
          rate.observe(BigInt(second) * S, vote({ loNs: centre - errorNs, hiNs: centre + errorNs }));
        });
        const f = rate.frequency;
        if (stepS * (errorsNs.length - 1) >= INTERVAL_NS / 1e9) {
          assert.ok(f !== undefined);
          assert.ok(f.loPpm <= ppm && ppm <= f.hiPpm, `${ppm} not in ${f.loPpm}..${f.hiPpm}`);
        }
        assert.ok(rate.length <= MASTER_FREQUENCY_CAPACITY);
      },
    ),
  );
});
