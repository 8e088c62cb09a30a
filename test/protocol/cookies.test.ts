/**
 * The cookie jar on its own: a leg 0 opens a check only with a cookie minted for its source under
 * one of the two latest secrets, never twice, and the memory of opened checks stays bounded (a
 * full generation rotates early) without ever letting a forgotten opening in again.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { COOKIE_BYTES, CookieJar } from '../../src/protocol/cookies.js';

const S = 1_000_000_000n;
const ROTATION_NS = 60e9;

/** Opens check `session` from `ip` at `now` as the responder does: check, then remember. */
function open(jar: CookieJar, cookie: Uint8Array, ip: string, session: bigint, now: bigint) {
  const verdict = jar.check(cookie, ip, session, now);
  if (verdict.ok) jar.remember(session, verdict.generation, now);
  return verdict;
}

test('a replayed opening is refused under the current generation and under the previous one', () => {
  const jar = new CookieJar({ rotationNs: ROTATION_NS });
  const cookie = jar.mint('10.0.0.1', 0n);
  assert.equal(cookie.length, COOKIE_BYTES);
  assert.deepEqual(open(jar, cookie, '10.0.0.1', 1n, 0n), { ok: true, generation: 0 });
  assert.deepEqual(open(jar, cookie, '10.0.0.1', 1n, 1n * S), { ok: false, code: 'replay' }, 'current generation');
  // One rotation later the cookie's generation is the previous one: still valid, still remembered.
  const later = 61n * S;
  assert.equal(jar.mint('10.0.0.1', later)[0], 1, 'the secret rotated');
  assert.deepEqual(open(jar, cookie, '10.0.0.1', 2n, later), { ok: true, generation: 0 }, 'a new check: fine');
  assert.deepEqual(open(jar, cookie, '10.0.0.1', 1n, later), { ok: false, code: 'replay' }, 'previous generation');
  assert.deepEqual(open(jar, cookie, '10.0.0.1', 2n, later), { ok: false, code: 'replay' });
  // Two rotations later the generation is retired, its memory with it, and so is the cookie.
  assert.deepEqual(open(jar, cookie, '10.0.0.1', 1n, 121n * S), { ok: false, code: 'stale' });
});

test('a cookie minted for one address opens nothing from another, nor does a forged or cut one', () => {
  const jar = new CookieJar({ rotationNs: ROTATION_NS });
  const cookie = jar.mint('10.0.0.1', 0n);
  assert.deepEqual(open(jar, cookie, '10.0.0.2', 1n, 0n), { ok: false, code: 'stale' });
  assert.deepEqual(open(jar, cookie, '::ffff:10.0.0.1', 1n, 0n), { ok: false, code: 'stale' });
  const forged = cookie.slice();
  forged[COOKIE_BYTES - 1]! ^= 0x01;
  assert.deepEqual(open(jar, forged, '10.0.0.1', 1n, 0n), { ok: false, code: 'stale' });
  assert.deepEqual(open(jar, cookie.subarray(0, COOKIE_BYTES - 1), '10.0.0.1', 1n, 0n), { ok: false, code: 'stale' });
  assert.deepEqual(open(jar, new Uint8Array(0), '10.0.0.1', 1n, 0n), { ok: false, code: 'stale' });
  assert.equal(jar.remembered, 0, 'refusals are not remembered');
  assert.deepEqual(open(jar, cookie, '10.0.0.1', 1n, 0n), { ok: true, generation: 0 }, 'its own address: fine');
});

test('once maxRemembered openings fill a generation the secret rotates early: memory stays bounded, no replay gets in', () => {
  const maxRemembered = 8;
  const jar = new CookieJar({ rotationNs: ROTATION_NS, maxRemembered });
  const now = 5n * S; // all inside one rotation period: only early rotation can retire a generation
  const opened: { cookie: Uint8Array; session: bigint }[] = [];
  const generations = new Set<number>();
  for (let session = 1n; session <= 100n; session++) {
    const cookie = jar.mint('10.0.0.1', now);
    const verdict = open(jar, cookie, '10.0.0.1', session, now);
    assert.ok(verdict.ok, `opening ${session}`);
    generations.add(verdict.generation);
    opened.push({ cookie, session });
    assert.ok(jar.remembered <= 2 * maxRemembered, `${jar.remembered} remembered after ${session} openings`);
  }
  assert.ok(generations.size >= 100 / maxRemembered, `rotated early: ${generations.size} generations`);
  // Every opening ever made, replayed now: remembered ones are replays, forgotten ones are stale.
  for (const { cookie, session } of opened) {
    const verdict = jar.check(cookie, '10.0.0.1', session, now);
    assert.equal(verdict.ok, false, `replay of opening ${session} let in`);
  }
  const last = opened.at(-1)!;
  assert.deepEqual(jar.check(last.cookie, '10.0.0.1', last.session, now), { ok: false, code: 'replay' });
  assert.deepEqual(jar.check(opened[0]!.cookie, '10.0.0.1', opened[0]!.session, now), { ok: false, code: 'stale' });
});

test('bad options are programming errors', () => {
  assert.throws(() => new CookieJar({ rotationNs: 0 }), RangeError);
  assert.throws(() => new CookieJar({ maxRemembered: 0 }), RangeError);
});
