import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { originalEstimate } from '../../src/estimate/original.js';
import type { Sample } from '../../src/estimate/sample.js';

const s = (thetaNs: number, delayNs: number): Sample => ({ thetaNs, delayNs });
/** n samples with distinct delays 100, 101, …, θ = delay, in shuffled order. */
const ramp = (n: number): Sample[] =>
  Array.from({ length: n }, (_, i) => s(100 + i, 100 + i)).sort((a, b) => (a.delayNs % 3) - (b.delayNs % 3));
const mean = (xs: number[]): number => xs.reduce((a, b) => a + b, 0) / xs.length;

describe('originalEstimate (the accuracy bench baseline)', () => {
  it('is undefined without samples', () => {
    assert.equal(originalEstimate([]), undefined);
  });

  it('averages all samples when n <= 2', () => {
    assert.equal(originalEstimate([s(10, 999)]), 10);
    assert.equal(originalEstimate([s(10, 1), s(20, 999)]), 15);
  });

  it('keeps delays strictly below sorted[min(n-1, max(3, floor(0.6 n)))]', () => {
    // Kept count with distinct delays equals idx.
    const expectedKept: Record<number, number> = { 3: 2, 4: 3, 5: 3, 6: 3, 7: 4, 8: 4, 10: 6, 16: 9 };
    for (const [nText, kept] of Object.entries(expectedKept)) {
      const n = Number(nText);
      const expected = mean(Array.from({ length: kept }, (_, i) => 100 + i));
      assert.equal(originalEstimate(ramp(n)), expected, `n = ${n}`);
    }
  });

  it('is undefined when every delay ties (nothing strictly below the cut)', () => {
    assert.equal(originalEstimate([s(1, 50), s(2, 50), s(3, 50), s(4, 50), s(5, 50)]), undefined);
  });

  it('drops ties at the cut', () => {
    // n = 5: cut = sorted[3] = 20; only the two delays of 10 are strictly below it.
    assert.equal(originalEstimate([s(1, 10), s(3, 10), s(100, 20), s(100, 20), s(100, 20)]), 2);
  });

  it('keeps the sign: a slave ahead gives a positive offset, not shrunk', () => {
    assert.equal(originalEstimate([s(4_000_000, 10), s(4_000_000, 12)]), 4_000_000);
  });
});
