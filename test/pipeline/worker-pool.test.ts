import assert from 'node:assert/strict';
import { test } from 'node:test';
import { readResults } from '../../src/pipeline/batch-codec.js';
import { type BatchDone, startWorkerPool } from '../../src/pipeline/worker-pool.js';

const HANDLER = new URL('./gated-handler.js', import.meta.url);

/** Runs one batch and reads its replies back as text (copied: a shared region is reused later). */
function run(pool: Awaited<ReturnType<typeof startWorkerPool>>, datagrams: Uint8Array[]): Promise<string[]> {
  return new Promise((resolve, reject) =>
    pool.submit(datagrams, undefined, (result: BatchDone | Error) => {
      if (result instanceof Error) return reject(result);
      const replies: string[] = [];
      readResults(result.output, (_, reply) => replies.push(Buffer.from(reply!).toString('latin1')));
      resolve(replies);
    }),
  );
}

const batchOf = (count: number, bytes: number, tag: string): Uint8Array[] =>
  Array.from({ length: count }, (_, i) => new Uint8Array(Buffer.from(`x${tag}${i}`.padEnd(bytes, '.'), 'latin1')));

test('batches cross in shared regions, reused batch after batch; one too large for a region is transferred', async () => {
  const pool = await startWorkerPool({ handlerModule: HANDLER, init: {}, workers: 1 });
  try {
    for (let round = 0; round < 6; round++) {
      const small = batchOf(20, 1100, `s${round}-`);
      assert.deepEqual(
        await run(pool, small),
        small.map((d) => `R${Buffer.from(d).toString('latin1').slice(1)}`),
      );
    }
    // 400 × 1,400 bytes: more than a 512 KiB region.
    const large = batchOf(400, 1400, 'L');
    const replies = await run(pool, large);
    assert.equal(replies.length, 400);
    assert.equal(replies[399], `R${Buffer.from(large[399]!).toString('latin1').slice(1)}`);
  } finally {
    await pool.close();
  }
});

test('a result region the socket may still read is not written again until it may (replies stay intact)', async () => {
  let reusable = false;
  const pool = await startWorkerPool({
    handlerModule: HANDLER,
    init: {},
    workers: 1,
    resultsReusable: () => reusable,
  });
  try {
    const kept: Array<{ views: Uint8Array[]; expected: string[] }> = [];
    for (let round = 0; round < 5; round++) {
      const batch = batchOf(8, 1100, `k${round}-`);
      // Keep the views themselves (as a queued send would), not copies.
      const views = await new Promise<Uint8Array[]>((resolve, reject) =>
        pool.submit(batch, undefined, (result) => {
          if (result instanceof Error) return reject(result);
          const out: Uint8Array[] = [];
          readResults(result.output, (_, reply) => out.push(reply!));
          resolve(out);
        }),
      );
      kept.push({ views, expected: batch.map((d) => `R${Buffer.from(d).toString('latin1').slice(1)}`) });
    }
    for (const { views, expected } of kept)
      assert.deepEqual(
        views.map((v) => Buffer.from(v).toString('latin1')),
        expected,
        'no later batch overwrote a lent region',
      );
    reusable = true;
    const after = batchOf(4, 1100, 'after');
    assert.equal((await run(pool, after)).length, 4);
  } finally {
    await pool.close();
  }
});
