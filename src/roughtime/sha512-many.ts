/**
 * SHA-512 of many short inputs in one call, in WebAssembly: what a Merkle tree needs (a level's
 * nodes, a batch's nonce leaves), where `crypto.hash` costs ~0.6 µs of call overhead per input
 * on top of ~0.2 µs of compression (one 128-byte block). One `hashMany` call hashes a whole level:
 * input i is `prefix ‖ memory[inputAt + i·stride, +length)`, and its digest, truncated to
 * `outBytes`, goes to `outAt + i·outBytes`. Inputs and outputs live in the module's own memory
 * (`bytes`), where the caller writes leaves and reads the tree.
 *
 * The module is generated below (no toolchain, no dependency): SHA-512 as FIPS 180-4 states it,
 * checked against node:crypto for every length from 0 to 600 bytes (test/roughtime/sha512-many.test.ts).
 * Measured on this machine: see BENCHMARKS.md ("Roughtime server throughput", 2026-12-01).
 * The library hash-wasm was measured first: per call it is slower than `crypto.hash` (65 bytes:
 * 0.94 vs 0.77 µs) and it has no many-inputs call.
 */

import {
  FunctionBuilder,
  I32,
  I64,
  OP,
  WASM_PAGE,
  type WasmMemory,
  compileModule,
  instantiate,
  moduleBytes,
} from '../util/wasm.js';

/** Where the module keeps its constants and scratch; the caller's data starts at DATA_AT. */
const K_AT = 0;
const W_AT = 640;
const OUT_AT = 1280;
const SCRATCH_AT = 1344;
/** The longest input hashMany takes (prefix excluded): its padded message must fit the scratch area. */
export const MAX_INPUT_BYTES = 2030;
/** The first byte of memory free for the caller's inputs and outputs. */
export const DATA_AT = 4096;

// SHA-512's round constants (FIPS 180-4, 4.2.3).
const K = `
  428a2f98d728ae22 7137449123ef65cd b5c0fbcfec4d3b2f e9b5dba58189dbbc 3956c25bf348b538
  59f111f1b605d019 923f82a4af194f9b ab1c5ed5da6d8118 d807aa98a3030242 12835b0145706fbe
  243185be4ee4b28c 550c7dc3d5ffb4e2 72be5d74f27b896f 80deb1fe3b1696b1 9bdc06a725c71235
  c19bf174cf692694 e49b69c19ef14ad2 efbe4786384f25e3 0fc19dc68b8cd5b5 240ca1cc77ac9c65
  2de92c6f592b0275 4a7484aa6ea6e483 5cb0a9dcbd41fbd4 76f988da831153b5 983e5152ee66dfab
  a831c66d2db43210 b00327c898fb213f bf597fc7beef0ee4 c6e00bf33da88fc2 d5a79147930aa725
  06ca6351e003826f 142929670a0e6e70 27b70a8546d22ffc 2e1b21385c26c926 4d2c6dfc5ac42aed
  53380d139d95b3df 650a73548baf63de 766a0abb3c77b2a8 81c2c92e47edaee6 92722c851482353b
  a2bfe8a14cf10364 a81a664bbc423001 c24b8b70d0f89791 c76c51a30654be30 d192e819d6ef5218
  d69906245565a910 f40e35855771202a 106aa07032bbd1b8 19a4c116b8d2d0c8 1e376c085141ab53
  2748774cdf8eeb99 34b0bcb5e19b48a8 391c0cb3c5c95a63 4ed8aa4ae3418acb 5b9cca4f7763e373
  682e6ff3d6b2b8a3 748f82ee5defb2fc 78a5636f43172f60 84c87814a1f0ab72 8cc702081a6439ec
  90befffa23631e28 a4506cebde82bde9 bef9a3f7b2c67915 c67178f2e372532b ca273eceea26619c
  d186b8c721c0c207 eada7dd6cde0eb1e f57d4f7fee6ed178 06f067aa72176fba 0a637dc5a2c898a6
  113f9804bef90dae 1b710b35131c471b 28db77f523047d84 32caab7b40c72493 3c9ebe0a15c9bebc
  431d67c49c100d4c 4cc5d4becb3e42b6 597f299cfc657e2a 5fcb6fab3ad6faec 6c44198c4a475817
`
  .trim()
  .split(/\s+/);
// The initial hash value (FIPS 180-4, 5.3.5).
const H0 = `
  6a09e667f3bcc908 bb67ae8584caa73b 3c6ef372fe94f82b a54ff53a5f1d36f1 510e527fade682d1
  9b05688c2b3e6c1f 1f83d9abfb41bd6b 5be0cd19137e2179
`
  .trim()
  .split(/\s+/);

const signed64 = (hex: string): bigint => BigInt.asIntN(64, BigInt(`0x${hex}`));

/** hashMany's function: seven i32 parameters, no results. */
function hashManyFunction(): FunctionBuilder {
  const fn = new FunctionBuilder(Array<number>(7).fill(I32));
  // Parameters, then locals.
  const [prefix, inputAt, stride, length, count, outAt, outBytes] = [0, 1, 2, 3, 4, 5, 6];
  const [i, total, block, t, src] = [fn.local(I32), fn.local(I32), fn.local(I32), fn.local(I32), fn.local(I32)];
  const h = Array.from({ length: 8 }, () => fn.local(I64));
  const v = Array.from({ length: 8 }, () => fn.local(I64)); // a..h
  const [t1, t2, x] = [fn.local(I64), fn.local(I64), fn.local(I64)];

  const get = (l: number) => fn.get(l);
  const set = (l: number) => fn.set(l);
  const c32 = (n: number) => fn.c32(n);
  const c64 = (n: bigint) => fn.c64(n);
  const op = (...ops: number[]) => fn.op(...ops);
  const load64 = (offset: number) => fn.memory(OP.i64Load, 3, offset);
  const store64 = (offset: number) => fn.memory(OP.i64Store, 3, offset);
  // x = byte-swapped value on the stack (SHA-512 words are big-endian, WebAssembly loads little-endian).
  const bswap = () => {
    set(x);
    for (const [mask, shift] of [
      [0x00ff00ff00ff00ffn, 8n],
      [0x0000ffff0000ffffn, 16n],
    ] as const) {
      (get(x), c64(mask), op(OP.i64And), c64(shift), op(OP.i64Shl));
      (get(x), c64(shift), op(OP.i64ShrU), c64(mask), op(OP.i64And));
      (op(OP.i64Or), set(x));
    }
    (get(x), c64(32n), op(OP.i64Rotl));
  };
  // Σ/σ: rotr(l, a) ^ rotr(l, b) ^ (rotr or shr)(l, c).
  const sigma = (l: number, a: number, b: number, c: number, lastShift: boolean) => {
    (get(l), c64(BigInt(a)), op(OP.i64Rotr));
    (get(l), c64(BigInt(b)), op(OP.i64Rotr), op(OP.i64Xor));
    (get(l), c64(BigInt(c)), op(lastShift ? OP.i64ShrU : OP.i64Rotr), op(OP.i64Xor));
  };
  // W[t] address = W_AT + 8t; the stack gets it from local t.
  const wAddr = (minus: number) => {
    (get(t), c32(8), op(OP.i32Mul));
    if (minus !== 0) (c32(8 * minus), op(OP.i32Sub));
  };
  const loopWhileLess = (counter: number, limit: () => void, body: () => void, step = 1) =>
    fn.loopWhileLess(counter, limit, body, step);

  (c32(0), set(i));
  loopWhileLess(
    i,
    () => get(count),
    () => {
      // The padded message in scratch: prefix ‖ input ‖ 0x80 ‖ zeros ‖ 128-bit big-endian bit length.
      (get(inputAt), get(i), get(stride), op(OP.i32Mul, OP.i32Add), set(src));
      (c32(SCRATCH_AT), get(prefix), op(OP.i32Store8, 0, 0));
      (c32(SCRATCH_AT + 1), get(src), get(length), fn.memoryCopy());
      (c32(SCRATCH_AT + 1), get(length), op(OP.i32Add), c32(0x80), op(OP.i32Store8, 0, 0));
      // total = ((length + 1 + 17 + 127) >> 7) << 7
      (get(length), c32(1 + 17 + 127), op(OP.i32Add), c32(7), op(OP.i32ShrU), c32(128), op(OP.i32Mul), set(total));
      // zeros from after 0x80 to the last 8 bytes (the high half of the length is zero too)
      (c32(SCRATCH_AT + 2), get(length), op(OP.i32Add), c32(0));
      (get(total), get(length), op(OP.i32Sub), c32(2 + 8), op(OP.i32Sub));
      fn.memoryFill();
      (get(total), c32(SCRATCH_AT - 8), op(OP.i32Add));
      (get(length), c32(1), op(OP.i32Add), op(OP.i64ExtendI32U), c64(8n), op(OP.i64Mul), bswap());
      store64(0);
      H0.forEach((hex, k) => (c64(signed64(hex)), set(h[k]!)));
      (c32(0), set(block));
      loopWhileLess(
        block,
        () => get(total),
        () => {
          // W[0..16) from the block, byte-swapped.
          (c32(0), set(t));
          loopWhileLess(
            t,
            () => c32(16),
            () => {
              wAddr(0);
              (get(t), c32(8), op(OP.i32Mul), get(block), op(OP.i32Add), load64(SCRATCH_AT), bswap());
              store64(W_AT);
            },
          );
          loopWhileLess(
            t,
            () => c32(80),
            () => {
              wAddr(0);
              (wAddr(16), load64(W_AT));
              (wAddr(15), load64(W_AT), set(x), sigma(x, 1, 8, 7, true), op(OP.i64Add));
              (wAddr(7), load64(W_AT), op(OP.i64Add));
              (wAddr(2), load64(W_AT), set(x), sigma(x, 19, 61, 6, true), op(OP.i64Add));
              store64(W_AT);
            },
          );
          v.forEach((l, k) => (get(h[k]!), set(l)));
          const [a, b, c, d, e, f, g, hh] = v as [number, number, number, number, number, number, number, number];
          (c32(0), set(t));
          loopWhileLess(
            t,
            () => c32(80),
            () => {
              // T1 = h + Σ1(e) + Ch(e, f, g) + K[t] + W[t]
              (get(hh), sigma(e, 14, 18, 41, false), op(OP.i64Add));
              (get(e),
                get(f),
                op(OP.i64And),
                get(e),
                c64(-1n),
                op(OP.i64Xor),
                get(g),
                op(OP.i64And, OP.i64Xor, OP.i64Add));
              (wAddr(0), load64(K_AT), op(OP.i64Add));
              (wAddr(0), load64(W_AT), op(OP.i64Add), set(t1));
              // T2 = Σ0(a) + Maj(a, b, c)
              sigma(a, 28, 34, 39, false);
              (get(a),
                get(b),
                op(OP.i64And),
                get(a),
                get(c),
                op(OP.i64And, OP.i64Xor),
                get(b),
                get(c),
                op(OP.i64And, OP.i64Xor));
              (op(OP.i64Add), set(t2));
              (get(g), set(hh), get(f), set(g), get(e), set(f));
              (get(d), get(t1), op(OP.i64Add), set(e));
              (get(c), set(d), get(b), set(c), get(a), set(b));
              (get(t1), get(t2), op(OP.i64Add), set(a));
            },
          );
          v.forEach((l, k) => (get(h[k]!), get(l), op(OP.i64Add), set(h[k]!)));
        },
        128,
      );
      // The digest, big-endian, then its first outBytes to the output.
      h.forEach((l, k) => (c32(OUT_AT + 8 * k), get(l), bswap(), store64(0)));
      (get(outAt), get(i), get(outBytes), op(OP.i32Mul, OP.i32Add), c32(OUT_AT), get(outBytes));
      fn.memoryCopy();
    },
  );
  return fn;
}

/** The module's bytes. */
function sha512ModuleBytes(): Uint8Array {
  const kBytes = Buffer.alloc(K.length * 8);
  K.forEach((hex, k) => kBytes.writeBigUInt64LE(BigInt(`0x${hex}`), 8 * k));
  return moduleBytes([{ builder: hashManyFunction(), export: 'hashMany' }], 1, [{ at: K_AT, bytes: kBytes }]);
}

let compiled: object | undefined;

/** One instance: its own memory, grown on demand. Not shared between threads. */
export class Sha512Many {
  private readonly memory: WasmMemory;
  private readonly run: (...args: number[]) => void;
  /** The module's memory as bytes (replaced when it grows). */
  bytes: Buffer;

  constructor() {
    compiled ??= compileModule(sha512ModuleBytes());
    const exports = instantiate(compiled);
    this.memory = exports.memory as WasmMemory;
    this.run = exports.hashMany as (...args: number[]) => void;
    this.bytes = Buffer.from(this.memory.buffer);
  }

  /** Makes memory hold at least `bytes` bytes (from 0); `bytes` is a new view after a growth. */
  reserve(bytes: number): void {
    const have = this.memory.buffer.byteLength;
    if (bytes <= have) return;
    this.memory.grow(Math.ceil((bytes - have) / WASM_PAGE));
    this.bytes = Buffer.from(this.memory.buffer);
  }

  /**
   * Hashes `count` inputs: input i is `prefix ‖ bytes[inputAt + i·stride, +length)`; its SHA-512,
   * truncated to `outBytes` (1-64), is written at `outAt + i·outBytes`. Outputs may overwrite
   * inputs already hashed (never one still to come). RangeError for a length over
   * MAX_INPUT_BYTES, or a range outside memory or below DATA_AT.
   */
  hashMany(
    prefix: number,
    inputAt: number,
    stride: number,
    length: number,
    count: number,
    outAt: number,
    outBytes: number,
  ): void {
    if (count === 0) return;
    if (!(length >= 0 && length <= MAX_INPUT_BYTES))
      throw new RangeError(`input length must be 0 to ${MAX_INPUT_BYTES} bytes, got ${length}`);
    if (!(outBytes >= 1 && outBytes <= 64)) throw new RangeError(`outBytes must be 1 to 64, got ${outBytes}`);
    const end = Math.max(inputAt + (count - 1) * stride + length, outAt + count * outBytes);
    if (inputAt < DATA_AT || outAt < DATA_AT || end > this.bytes.byteLength)
      throw new RangeError(
        `hashMany range ${Math.min(inputAt, outAt)}-${end} is outside ${DATA_AT}-${this.bytes.byteLength}`,
      );
    this.run(prefix & 0xff, inputAt, stride, length, count, outAt, outBytes);
  }
}
