import assert from 'node:assert/strict';
import { test } from 'node:test';
import { SlaveWatch } from '../../src/fleet/slave-watch.js';

const S = 1_000_000_000n;
const web1 = { id: 'web-1', addr: '127.0.0.1:1' };
const web2 = { id: 'web-2', addr: '127.0.0.1:2' };

test('lost after 3 intervals of silence, announced once, again only after coming back', () => {
  const watch = new SlaveWatch(30e9); // 3 × 10 s
  const t0 = 1_700_000_000n * S;
  watch.seen(web1, t0);
  watch.seen(web2, t0 + 20n * S);
  assert.deepEqual(watch.sweep(t0 + 29n * S), []);
  assert.deepEqual(watch.sweep(t0 + 30n * S), [{ node: web1, lastSeenAt: t0 }]);
  assert.deepEqual(watch.sweep(t0 + 45n * S), []); // not again
  assert.ok(watch.isLost('web-1'));
  assert.equal(watch.seen(web1, t0 + 46n * S), true); // it was lost: the caller can say so
  assert.deepEqual(
    watch.sweep(t0 + 50n * S).map((l) => l.node.id),
    ['web-2'],
  );
  assert.deepEqual(
    watch.sweep(t0 + 76n * S).map((l) => l.node.id),
    ['web-1'],
  );
});

test('a clock that went backwards never makes a slave lost early', () => {
  const watch = new SlaveWatch(30e9);
  const t0 = 1_700_000_000n * S;
  watch.seen(web1, t0);
  watch.seen(web1, t0 - 100n * S); // an earlier instant does not move lastSeen back
  assert.deepEqual(watch.sweep(t0 + 10n * S), []);
  assert.throws(() => new SlaveWatch(0), RangeError);
});
