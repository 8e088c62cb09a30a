import assert from 'node:assert/strict';
import { test } from 'node:test';
import { BatchOutput, packBatch, readResults, unpackBatch } from '../../src/pipeline/batch-codec.js';
import { DurationHistogram } from '../../src/pipeline/stats.js';

test('a batch survives packing and unpacking', () => {
  const datagrams = [new Uint8Array([1, 2, 3]), new Uint8Array(0), new Uint8Array(1024).fill(7)];
  const unpacked = unpackBatch(packBatch(datagrams));
  assert.deepEqual(
    unpacked.map((d) => [...d]),
    datagrams.map((d) => [...d]),
  );
});

test('results carry replies and drop codes in request order; a reply larger than its request is refused', () => {
  const out = new BatchOutput([4, 4, 2]);
  out.reply(3)!.set([9, 8, 7]);
  out.drop('SATURN_ERR_RT_VERSION');
  assert.equal(out.reply(3), undefined);
  const seen: Array<[number, number[] | undefined, string | undefined]> = [];
  readResults(out.finish(), (i, reply, code) => seen.push([i, reply && [...reply], code]));
  assert.deepEqual(seen, [
    [0, [9, 8, 7], undefined],
    [1, undefined, 'SATURN_ERR_RT_VERSION'],
    [2, undefined, 'SATURN_ERR_REPLY_TOO_LARGE'],
  ]);
});

test('finish insists on one outcome per request', () => {
  const out = new BatchOutput([4, 4]);
  out.drop('SATURN_ERR_REPLY_TOO_LARGE');
  assert.throws(() => out.finish(), RangeError);
});

test('the histogram reports quantiles within a bucket of the truth', () => {
  const histogram = new DurationHistogram();
  for (let i = 1; i <= 1000; i++) histogram.record(i * 1000);
  const summary = histogram.summary();
  assert.equal(summary.count, 1000);
  assert.equal(summary.meanUs, 500.5);
  assert.ok(summary.p50Us >= 500 && summary.p50Us <= 500 * 1.2, `p50 ${summary.p50Us}`);
  assert.ok(summary.p99Us >= 990 && summary.p99Us <= 1000, `p99 ${summary.p99Us}`);
  assert.equal(summary.maxUs, 1000);
});
