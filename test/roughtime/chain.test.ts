import assert from 'node:assert/strict';
import { test } from 'node:test';
import {
  buildMalfeasanceReport,
  chainNonce,
  findContradictions,
  nonceSource,
  runChain,
  verifyMalfeasanceReport,
} from '../../src/roughtime/chain.js';
import { hashParts } from '../../src/roughtime/crypto.js';
import { frame, unframe } from '../../src/roughtime/frame.js';
import { RtMessage, encodeMessage } from '../../src/roughtime/message.js';
import { decodeRequest } from '../../src/roughtime/request.js';
import { tagValue } from '../../src/roughtime/tags.js';
import type { VerifyResult } from '../../src/roughtime/verify.js';
import { DRAFT_08, GOOGLE, RFC } from '../../src/roughtime/versions.js';
import { b64, draft19Report, vectorsDir } from './vectors.js';

test('the draft-19 report is a valid proof that one server lies', (t) => {
  const dir = vectorsDir();
  const report = draft19Report(dir);
  // Its nonces are H(previous response packet ‖ rand), the frame included.
  for (let i = 1; i < report.responses.length; i++) {
    const entry = report.responses[i]!;
    assert.deepEqual(
      chainNonce(RFC, b64(report.responses[i - 1]!.response), b64(entry.rand!)),
      decodeRequest(b64(entry.request)).nonce,
    );
  }
  const verdict = verifyMalfeasanceReport(report);
  assert.equal(verdict.reason, null);
  assert.equal(verdict.valid, true);
  assert.deepEqual(verdict.contradictions, [
    { earlier: 0, later: 1 },
    { earlier: 0, later: 2 },
  ]);
  assert.equal(verdict.results.length, 3);
});

test('a tampered, reordered, unchained or consistent report is not a proof', (t) => {
  const dir = vectorsDir();
  const report = draft19Report(dir);
  const [first, second, third] = report.responses as [
    (typeof report.responses)[0] & object,
    (typeof report.responses)[0] & object,
    (typeof report.responses)[0] & object,
  ];
  const reason = (value: unknown): string | null => verifyMalfeasanceReport(value).reason;
  assert.match(
    reason({ responses: [first, { ...second, rand: third.rand }, third] })!,
    /entry 1 nonce is not chained from entry 0/,
  );
  assert.match(reason({ responses: [first, { ...second, rand: undefined }, third] })!, /entry 1 has no rand/);
  assert.match(reason({ responses: [second, { ...first, rand: second.rand }] })!, /entry 1 nonce is not chained/);
  assert.match(reason({ responses: [second, third] })!, /consistent/);
  assert.match(
    reason({ responses: [first, { ...second, publicKey: first.publicKey }, third] })!,
    /entry 1 does not verify: the delegation is not signed/,
  );
  assert.match(
    reason({ responses: [first, { ...second, response: 'not base64!' }] })!,
    /entry 1 response is not base64/,
  );
  assert.match(reason({ responses: [first] })!, /at least two/);
  assert.match(reason(null)!, /at least two/);
  assert.match(reason({ responses: [first, 7] })!, /entry 1 is not an object/);
});

test('chain nonce forms: IETF direct, Google and Cloudflare drafts pre-hashed', () => {
  const previous = new Uint8Array(100).fill(1);
  const rand32 = new Uint8Array(32).fill(2);
  assert.deepEqual(chainNonce(RFC, previous, rand32), hashParts(32, previous, rand32));
  assert.deepEqual(chainNonce(DRAFT_08, previous, rand32), hashParts(32, hashParts(32, previous), rand32));
  const rand64 = new Uint8Array(64).fill(3);
  assert.deepEqual(chainNonce(GOOGLE, previous, rand64), hashParts(64, hashParts(64, previous), rand64));
  assert.throws(() => chainNonce(GOOGLE, previous, rand32), RangeError);
  const first = nonceSource(undefined)(RFC);
  assert.equal(first.rand, undefined);
  assert.equal(first.nonce.byteLength, 32);
  const next = nonceSource(previous, (n) => new Uint8Array(n).fill(2))(RFC);
  assert.deepEqual(next.nonce, chainNonce(RFC, previous, rand32));
});

const interval = (midpS: number, radiS: number, valid = true): VerifyResult => ({
  valid,
  version: '1',
  wireVersion: 1,
  midp: BigInt(midpS),
  radi: radiS,
  mint: 0n,
  maxt: 0n,
  midpNs: BigInt(midpS) * 1_000_000_000n,
  radiNs: radiS * 1e9,
  unsynchronised: false,
  radiBelowResolution: false,
  reason: valid ? null : 'x',
  code: valid ? null : 'SATURN_ERR_RT_INVALID',
});

test('pairwise consistency: an earlier interval may overlap or precede a later one, never follow it', () => {
  assert.deepEqual(findContradictions([interval(100, 5), interval(100, 5), interval(96, 1)]), []);
  assert.deepEqual(findContradictions([interval(100, 5), interval(93, 1)]), [{ earlier: 0, later: 1 }]);
  assert.deepEqual(findContradictions([interval(100, 5), interval(10, 1, false), interval(200, 1)]), []);
  assert.deepEqual(findContradictions([interval(300, 1), interval(100, 1), interval(200, 1)]), [
    { earlier: 0, later: 1 },
    { earlier: 0, later: 2 },
  ]);
});

test('runChain chains each nonce from the last good answer and builds the report only on contradiction', async () => {
  const servers = [
    { publicKey: new Uint8Array(32).fill(1) },
    { publicKey: new Uint8Array(32).fill(2) },
    { publicKey: new Uint8Array(32).fill(3) },
  ];
  const seen: Array<{ nonce: Uint8Array; rand: Uint8Array | undefined }> = [];
  const midps = [100, 0, 50];
  const outcome = await runChain(servers, async (server, nonces) => {
    const index = servers.indexOf(server);
    const n = nonces(RFC);
    seen.push(n);
    if (index === 1) throw new Error('silent');
    return { rand: n.rand, request: n.nonce, response: new Uint8Array([index]), result: interval(midps[index]!, 1) };
  });
  assert.equal(seen[0]!.rand, undefined);
  assert.deepEqual(seen[1]!.nonce, chainNonce(RFC, new Uint8Array([0]), seen[1]!.rand!));
  assert.deepEqual(seen[2]!.nonce, chainNonce(RFC, new Uint8Array([0]), seen[2]!.rand!));
  assert.equal(outcome.failures.length, 1);
  assert.deepEqual(outcome.contradictions, [{ earlier: 0, later: 1 }]);
  assert.deepEqual(outcome.report, buildMalfeasanceReport(outcome.links));
  assert.equal(outcome.report!.responses.length, 2);
  assert.equal(outcome.report!.responses[1]!.rand, Buffer.from(seen[2]!.rand!).toString('base64'));
});

test('a report whose last response is greased (an undefined top-level tag) is still a valid proof', () => {
  const report = draft19Report(vectorsDir());
  const last = report.responses.at(-1)!;
  const packet = b64(last.response);
  const top = RtMessage.parse(unframe(packet));
  const fields = new Map(top.tags.map((tag, i) => [tag, top.values[i]!] as const));
  fields.set(tagValue('GRZ\x01'), new Uint8Array(4));
  const greasedResponse = Buffer.from(frame(encodeMessage([...fields]))).toString('base64');
  const verdict = verifyMalfeasanceReport({
    responses: [...report.responses.slice(0, -1), { ...last, response: greasedResponse }],
  });
  assert.equal(verdict.reason, null);
  assert.equal(verdict.valid, true);
  assert.deepEqual(verdict.contradictions, [
    { earlier: 0, later: 1 },
    { earlier: 0, later: 2 },
  ]);
});
