/**
 * bench/wire-micro: the per-datagram work of the wire path on one thread, each candidate against
 * the baseline measured in the same run (ratio last).
 *
 * HMAC-SHA256 of one datagram's header and Packet (110, 160 and 200 bytes: a Response, a Result,
 * a padded Report): noble's keyed state cloned per call (what src/wire/mac.ts did before, the
 * baseline), node:crypto's createHmac per call, and the WebAssembly kernel with the key's pad
 * states precomputed (src/wire/hmac-sha256-wasm.ts).
 *
 * The codec: one Report (padded to REPORT_MIN_BYTES, two peer results), one Response and one
 * Result, encoded and decoded by protobufjs' reflection codec with the object copies and Long
 * conversions the codec needed around it (the baseline, kept here as it was), and by
 * src/wire/codec.ts.
 *
 * Best of 5 rounds, µs per call.
 *
 *   npx tsc -p tsconfig.json && flock /tmp/saturn-bench.lock node dist/bench/wire-micro.js
 */
import { createHmac, randomBytes } from 'node:crypto';
import { hmac } from '@noble/hashes/hmac.js';
import { sha256 } from '@noble/hashes/sha2.js';
import { referenceDecode, referenceEncode } from '../test/wire/protobufjs-reference.js';
import { decodeMessage, encodeMessage } from '../src/wire/codec.js';
import { HEADER_BYTES } from '../src/wire/envelope.js';
import { HmacSha256State } from '../src/wire/hmac-sha256-wasm.js';
import { MAC_BYTES } from '../src/wire/mac.js';
import { type Message, REPORT_MIN_BYTES } from '../src/wire/messages.js';

/** Best of 5 rounds of `rounds` calls, µs per call. */
function best(rounds: number, fn: () => void): number {
  for (let i = 0; i < rounds; i++) fn();
  let fastest = Infinity;
  for (let r = 0; r < 5; r++) {
    const started = process.hrtime.bigint();
    for (let i = 0; i < rounds; i++) fn();
    fastest = Math.min(fastest, Number(process.hrtime.bigint() - started) / 1e3 / rounds);
  }
  return fastest;
}

/** noble's HMAC with the keyed state cloned per message (the slice of its API used). */
interface KeyedHmac {
  _cloneInto(to?: KeyedHmac): KeyedHmac;
  update(data: Uint8Array): KeyedHmac;
  digestInto(out: Uint8Array): void;
}

const key = randomBytes(32);
const out = new Uint8Array(32);
const noble = hmac.create(sha256, key) as unknown as KeyedHmac;
let scratch: KeyedHmac | undefined;
const wasm = new HmacSha256State(key);

process.stdout.write(
  '| datagram | noble clone µs | node:crypto createHmac µs | WebAssembly µs | wasm / noble | wasm / node:crypto |\n' +
    '|---|---|---|---|---|---|\n',
);
for (const length of [110, 160, 200]) {
  const data = randomBytes(length);
  const nobleUs = best(100_000, () => {
    scratch = noble._cloneInto(scratch);
    scratch.update(data).digestInto(out);
  });
  const nodeUs = best(100_000, () => {
    createHmac('sha256', key).update(data).digest();
  });
  const wasmUs = best(100_000, () => wasm.computeInto(data, out));
  process.stdout.write(
    `| ${length} B | ${nobleUs.toFixed(3)} | ${nodeUs.toFixed(3)} | ${wasmUs.toFixed(3)} | ` +
      `${(wasmUs / nobleUs).toFixed(2)}x | ${(wasmUs / nodeUs).toFixed(2)}x |\n`,
  );
}

const wall = 1_795_609_199_993_537_699n;
const messages: [string, Message, number][] = [
  [
    'Report, leg 0, 2 peer results',
    {
      kind: 'report',
      session: 0xfedcba9876543210n,
      leg: 0,
      nonce: randomBytes(16),
      echo: new Uint8Array(0),
      nodeId: 'web-0042',
      receivedAt: 0n,
      sentAt: wall,
      clockSteps: 1,
      cookie: randomBytes(24),
      intervalNs: 10e9,
      peerResults: [
        { peerId: 'web-0043', offsetNs: -1_250_000.5, errorNs: 180, rttNs: 350_000, ageNs: 2e9 },
        { peerId: 'web-0044', offsetNs: 3_000, errorNs: 95, rttNs: 210_000, ageNs: 7e9 },
      ],
    },
    REPORT_MIN_BYTES - HEADER_BYTES - MAC_BYTES,
  ],
  [
    'Report, leg 3',
    {
      kind: 'report',
      session: 0xfedcba9876543210n,
      leg: 3,
      nonce: randomBytes(16),
      echo: randomBytes(16),
      nodeId: 'web-0042',
      receivedAt: wall + 1000n,
      sentAt: wall + 2000n,
      clockSteps: 1,
      cookie: new Uint8Array(0),
      intervalNs: 10e9,
      peerResults: [],
    },
    REPORT_MIN_BYTES - HEADER_BYTES - MAC_BYTES,
  ],
  [
    'Response',
    {
      kind: 'response',
      session: 0xfedcba9876543210n,
      leg: 3,
      nonce: randomBytes(16),
      echo: randomBytes(16),
      receivedAt: wall + 3000n,
      sentAt: wall + 4000n,
      echoSentAt: wall + 2000n,
    },
    0,
  ],
  [
    'Result, 2 peers',
    {
      kind: 'result',
      session: 0xfedcba9876543210n,
      echo: randomBytes(16),
      ok: true,
      offsetNs: -4_984_391.125,
      errorNs: 210.5,
      rttNs: 400_000,
      samples: 4,
      reason: '',
      cookie: randomBytes(24),
      responderId: 'master-a',
      peers: [
        { id: 'web-0043', addr: '10.0.0.43:4444' },
        { id: 'web-0044', addr: '10.0.0.44:4444' },
      ],
    },
    0,
  ],
];
process.stdout.write(
  '\n| message | bytes | protobufjs encode µs | ours µs | ratio | protobufjs decode µs | ours µs | ratio |\n' +
    '|---|---|---|---|---|---|---|---|\n',
);
for (const [name, message, minBytes] of messages) {
  const bytes = Buffer.from(encodeMessage(message, minBytes));
  const encodeBefore = best(100_000, () => referenceEncode(message, minBytes));
  const encodeAfter = best(100_000, () => encodeMessage(message, minBytes));
  const decodeBefore = best(100_000, () => referenceDecode(bytes));
  const decodeAfter = best(100_000, () => decodeMessage(bytes));
  process.stdout.write(
    `| ${name} | ${bytes.length} | ${encodeBefore.toFixed(3)} | ${encodeAfter.toFixed(3)} | ` +
      `${(encodeAfter / encodeBefore).toFixed(2)}x | ${decodeBefore.toFixed(3)} | ${decodeAfter.toFixed(3)} | ` +
      `${(decodeAfter / decodeBefore).toFixed(2)}x |\n`,
  );
}
