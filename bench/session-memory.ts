/**
 * Memory per session on a responder: N half-open checks (leg 0 answered, nothing after), the
 * heap measured after a full GC before and after. Baseline in the same run: the same number of
 * empty Map entries keyed by bigint (the least a session table can cost).
 *
 *   node --expose-gc dist/bench/session-memory.js [N]
 */
import { CheckInitiator } from '../src/protocol/initiator.js';
import { CheckResponder } from '../src/protocol/responder.js';
import { Envelope } from '../src/wire/envelope.js';
import { KeyRing } from '../src/wire/keys.js';

const n = Number(process.argv[2] ?? 50_000);
const gc = (globalThis as { gc?: () => void }).gc;
if (!gc) throw new Error('run with node --expose-gc');
const heap = () => {
  gc();
  gc();
  return process.memoryUsage().heapUsed + process.memoryUsage().arrayBuffers;
};

const keys = KeyRing.single(new TextEncoder().encode('session-memory-key-0123456789'));
const responder = new CheckResponder({ envelope: new Envelope(keys), sourceRate: 1e9, maxSessions: 2 * n });
const initiator = new CheckInitiator({ envelope: new Envelope(keys), nodeId: 'web-3' });
const at = { wall: 1_700_000_000_000_000_000n, mono: 1n };
// The cookie first, as any slave gets it.
const cookie = responder.handle(initiator.start('master', 0).outgoing.build(at), '127.0.0.1', 4123, at, 0);
if (cookie.kind === 'reply') initiator.handle(cookie.reply.build(at), at, 0);

const baseMap = new Map<bigint, object>();
const beforeMap = heap();
for (let i = 0; i < n; i++) baseMap.set(BigInt(i) << 20n, {});
const map = heap() - beforeMap;
baseMap.clear();

const before = heap();
for (let i = 0; i < n; i++) {
  // Each opening is built on the spot, in its own buffer as a socket delivers it: only what the session keeps stays.
  const outcome = responder.handle(initiator.start('master', 0).outgoing.build(at), '127.0.0.1', 4123, at, 0);
  if (outcome.kind !== 'reply') throw new Error(`opening refused: ${JSON.stringify(outcome)}`);
  outcome.reply.build(at);
}
const sessions = heap() - before;
if (responder.sessions.size !== n) throw new Error(`${responder.sessions.size} sessions, not ${n}`);

console.log(`${n} half-open sessions: ${(sessions / n).toFixed(0)} bytes each (heap + array buffers, after GC)`);
console.log(`baseline: a Map entry keyed by bigint with an empty object: ${(map / n).toFixed(0)} bytes each`);
console.log(`ratio: ${(sessions / map).toFixed(2)}x`);
