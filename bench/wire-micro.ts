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
import { HmacSha256State } from '../src/wire/hmac-sha256-wasm.js';

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
