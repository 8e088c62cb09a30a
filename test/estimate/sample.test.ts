import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { sampleFrom, sampleInterval } from '../../src/estimate/sample.js';
import { EPOCH_2023_NS } from './exchange.js';

describe('sampleFrom', () => {
  it('computes θ and δ with the slave-minus-master sign', () => {
    // Slave 5 ms ahead, 1 ms each way, 2 ms processing at the slave.
    const t1 = EPOCH_2023_NS;
    const t2 = t1 + 1_000_000n + 5_000_000n;
    const t3 = t2 + 2_000_000n;
    const t4 = t3 - 5_000_000n + 1_000_000n;
    assert.deepEqual(sampleFrom(t1, t2, t3, t4), { thetaNs: 5_000_000, delayNs: 2_000_000 });
  });

  it('gives a negative θ when the slave is behind', () => {
    const t1 = EPOCH_2023_NS;
    const t2 = t1 + 100n - 7_000n;
    const t3 = t2 + 50n;
    const t4 = t3 + 7_000n + 100n;
    assert.deepEqual(sampleFrom(t1, t2, t3, t4), { thetaNs: -7_000, delayNs: 200 });
  });

  it('keeps nanosecond precision on instants far beyond 2^53', () => {
    // Converting the instants to number first would round them to multiples of 256 ns.
    const t1 = EPOCH_2023_NS + 1n;
    const t2 = EPOCH_2023_NS + 4n;
    const t3 = EPOCH_2023_NS + 6n;
    const t4 = EPOCH_2023_NS + 8n;
    assert.deepEqual(sampleFrom(t1, t2, t3, t4), { thetaNs: 0.5, delayNs: 5 });
  });

  it('has the interval [t3 − t4, t2 − t1], widened by the resolution', () => {
    const t1 = EPOCH_2023_NS;
    const t2 = t1 + 300n;
    const t3 = t2 + 1_000n;
    const t4 = t3 + 100n;
    const sample = sampleFrom(t1, t2, t3, t4);
    assert.deepEqual(sampleInterval(sample, 0), { loNs: -100, hiNs: 300 });
    assert.deepEqual(sampleInterval(sample, 10), { loNs: -110, hiNs: 310 });
  });
});
