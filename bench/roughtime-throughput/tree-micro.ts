/**
 * bench/roughtime-throughput/tree-micro: the worker's share of a Roughtime reply, on one thread.
 * SHA-512 per input, one `crypto.hash` call each (the baseline) against one Sha512Many call per
 * 64 inputs (what the server's Merkle tree does), for a nonce leaf (33 bytes), a node (65 bytes)
 * and a whole-request leaf (1037 bytes); then BatchResponder.respond on a batch of --batch
 * requests (default 30, the mean batch at the default options under 64 requests in flight),
 * with one Ed25519 signature measured alone. Best of 5 rounds, µs.
 *
 *   npx tsc -p tsconfig.json && node dist/bench/roughtime-throughput/tree-micro.js [--batch 30]
 */
import { hash, randomBytes } from 'node:crypto';
import { BatchOutput } from '../../src/pipeline/batch-codec.js';
import { serverId, signMessage, signingKeyFromSeed } from '../../src/roughtime/crypto.js';
import { createDelegation } from '../../src/roughtime/delegation.js';
import { buildRequest } from '../../src/roughtime/request.js';
import { BatchResponder } from '../../src/roughtime/server-core.js';
import { DATA_AT, Sha512Many } from '../../src/roughtime/sha512-many.js';

const batchAt = process.argv.indexOf('--batch');
const batch = batchAt > 0 ? Number(process.argv[batchAt + 1]) : 30;

/** Best of 5 rounds of `rounds` calls, µs per unit (a call does `units` units of work). */
function best(units: number, rounds: number, fn: () => void): number {
  for (let i = 0; i < rounds; i++) fn();
  let fastest = Infinity;
  for (let r = 0; r < 5; r++) {
    const started = process.hrtime.bigint();
    for (let i = 0; i < rounds; i++) fn();
    fastest = Math.min(fastest, Number(process.hrtime.bigint() - started) / 1e3 / rounds / units);
  }
  return fastest;
}

const sha = new Sha512Many();
sha.reserve(DATA_AT + 64 * 1100 + 64 * 64);
const out = Buffer.alloc(64 * 64);
process.stdout.write(
  '| input | crypto.hash µs/input | Sha512Many µs/input (64 per call) | ratio |\n|---|---|---|---|\n',
);
for (const length of [32, 64, 1036]) {
  const inputs = Array.from({ length: 64 }, () => Buffer.concat([Buffer.of(1), randomBytes(length)]));
  inputs.forEach((input, i) => sha.bytes.set(input.subarray(1), DATA_AT + i * length));
  const native = best(64, 2000, () => {
    for (let i = 0; i < 64; i++) out.write(hash('sha512', inputs[i]!, 'binary'), i * 32, 32, 'latin1');
  });
  const many = best(64, 2000, () => sha.hashMany(1, DATA_AT, length, length, 64, DATA_AT + 64 * 1100, 32));
  process.stdout.write(
    `| ${length + 1} B | ${native.toFixed(3)} | ${many.toFixed(3)} | ${(many / native).toFixed(2)}x |\n`,
  );
}

const longTerm = signingKeyFromSeed(randomBytes(32));
const now = BigInt(Date.now()) * 1_000_000n;
const delegation = createDelegation({
  longTermKey: longTerm,
  onlineSeed: randomBytes(32),
  mintNs: now - 10n ** 12n,
  maxtNs: now + 10n ** 12n,
});
const policy = { versions: [1, 0x8000000c, 0x8000000b], serverIds: [serverId(longTerm.publicKey)] };
const responder = new BatchResponder(policy, delegation);
const target = new Uint8Array(batch * 1100 + 4096);
const context = randomBytes(32);
const srep = randomBytes(152);
const signature = best(1, 2000, () => signMessage(longTerm, context, srep));
process.stdout.write(
  `\none Ed25519 signature: ${signature.toFixed(1)} µs\n\n| version | batch | respond µs/batch | µs/request |\n|---|---|---|---|\n`,
);
for (const version of [0x8000000b, 0x8000000c, 1]) {
  const packets = Array.from({ length: batch }, () =>
    buildRequest({ versions: [version], nonce: randomBytes(32), serverPublicKey: longTerm.publicKey }),
  );
  const lengths = packets.map((p) => p.byteLength);
  const perBatch = best(1, 2000, () =>
    responder.respond(packets, { midpNs: now, radiNs: 1e9 }, new BatchOutput(lengths, target)),
  );
  process.stdout.write(
    `| 0x${version.toString(16)} | ${batch} | ${perBatch.toFixed(1)} | ${(perBatch / batch).toFixed(2)} |\n`,
  );
}
