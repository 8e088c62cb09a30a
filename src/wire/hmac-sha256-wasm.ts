/**
 * HMAC-SHA256 (RFC 2104, FIPS 180-4) of one message per call, in WebAssembly: what every saturn
 * datagram costs twice (sealed by its sender, opened by its receiver). The key's inner and outer
 * pad blocks are compressed once (`HmacSha256State`); a call copies the message into the module's
 * memory, finishes the inner hash from the inner state and hashes the 32-byte inner digest from
 * the outer state: ceil((length + 9) / 64) + 1 block compressions and no allocation.
 *
 * The module is generated below with the writer of src/util/wasm.ts: SHA-256's compression as
 * FIPS 180-4 states it, its 64 rounds unrolled with the eight working variables renamed instead of
 * moved. Checked against node:crypto's HMAC for every length from 0 to 600 bytes and random keys
 * (test/wire/hmac-sha256-wasm.test.ts). Measured against noble's and node:crypto's HMAC in
 * bench/wire-micro.ts (BENCHMARKS.md, "Wire path").
 */
import { sha256 } from '@noble/hashes/sha2.js';
import {
  FunctionBuilder,
  I32,
  OP,
  VOID,
  WASM_PAGE,
  type WasmMemory,
  compileModule,
  instantiate,
  moduleBytes,
} from '../util/wasm.js';

/** Bytes of an HMAC-SHA256 tag. */
export const HMAC_SHA256_BYTES = 32;
const BLOCK = 64;

// Memory layout: the hash state (eight native i32 words), SHA-256's initial value, the key's
// inner and outer states, the tag (big-endian bytes), two blocks of scratch for the padded tail,
// then the message.
const H_AT = 0;
const IV_AT = 32;
const INNER_AT = 64;
const OUTER_AT = 96;
const OUT_AT = 128;
const TAIL_AT = 192;
const DATA_AT = 512;

// SHA-256's round constants (FIPS 180-4, 4.2.2) and initial hash value (5.3.3).
const K = `
  428a2f98 71374491 b5c0fbcf e9b5dba5 3956c25b 59f111f1 923f82a4 ab1c5ed5 d807aa98 12835b01 243185be 550c7dc3
  72be5d74 80deb1fe 9bdc06a7 c19bf174 e49b69c1 efbe4786 0fc19dc6 240ca1cc 2de92c6f 4a7484aa 5cb0a9dc 76f988da
  983e5152 a831c66d b00327c8 bf597fc7 c6e00bf3 d5a79147 06ca6351 14292967 27b70a85 2e1b2138 4d2c6dfc 53380d13
  650a7354 766a0abb 81c2c92e 92722c85 a2bfe8a1 a81a664b c24b8b70 c76c51a3 d192e819 d6990624 f40e3585 106aa070
  19a4c116 1e376c08 2748774c 34b0bcb5 391c0cb3 4ed8aa4a 5b9cca4f 682e6ff3 748f82ee 78a5636f 84c87814 8cc70208
  90befffa a4506ceb bef9a3f7 c67178f2
`
  .trim()
  .split(/\s+/)
  .map((hex) => parseInt(hex, 16));
const IV = '6a09e667 bb67ae85 3c6ef372 a54ff53a 510e527f 9b05688c 1f83d9ab 5be0cd19'
  .split(' ')
  .map((hex) => parseInt(hex, 16));

/** A 32-bit word with its bytes reversed (WebAssembly loads little-endian, SHA-256 is big-endian). */
const bswap32 = (x: number): number => ((x & 0xff) << 24) | ((x & 0xff00) << 8) | ((x >>> 8) & 0xff00) | (x >>> 24);

/** Emits: the i32 on the stack, byte-swapped. */
function emitBswap(fn: FunctionBuilder, scratch: number): void {
  fn.tee(scratch);
  (fn.c32(0xff00ff00), fn.op(OP.i32And), fn.c32(8), fn.op(OP.i32Rotl));
  (fn.get(scratch), fn.c32(0x00ff00ff), fn.op(OP.i32And), fn.c32(8), fn.op(OP.i32Rotr));
  fn.op(OP.i32Or);
}

/** compress(blockAt): the state at H_AT absorbs the 64-byte block at blockAt. */
function compressFunction(): FunctionBuilder {
  const fn = new FunctionBuilder([I32]);
  const blockAt = 0;
  const s = Array.from({ length: 8 }, () => fn.local(I32));
  const w = Array.from({ length: 16 }, () => fn.local(I32));
  const t1 = fn.local(I32);
  const scratch = fn.local(I32);
  const get = (l: number) => fn.get(l);
  const set = (l: number) => fn.set(l);
  const rotr = (l: number, n: number) => (get(l), fn.c32(n), fn.op(OP.i32Rotr));
  // Σ/σ of local l: rotr(a) ^ rotr(b) ^ (rotr or shr)(c).
  const sigma = (l: number, a: number, b: number, c: number, lastShift: boolean) => {
    (rotr(l, a), rotr(l, b), fn.op(OP.i32Xor));
    (get(l), fn.c32(c), fn.op(lastShift ? OP.i32ShrU : OP.i32Rotr, OP.i32Xor));
  };

  s.forEach((l, k) => (fn.c32(0), fn.memory(OP.i32Load, 2, H_AT + 4 * k), set(l)));
  let v = [...s];
  for (let t = 0; t < 64; t++) {
    const wt = w[t % 16]!;
    if (t < 16) {
      (get(blockAt), fn.memory(OP.i32Load, 0, 4 * t), emitBswap(fn, scratch), set(wt));
    } else {
      // W[t] = σ1(W[t-2]) + W[t-7] + σ0(W[t-15]) + W[t-16]
      (sigma(w[(t - 2) % 16]!, 17, 19, 10, true), get(w[(t - 7) % 16]!), fn.op(OP.i32Add));
      (sigma(w[(t - 15) % 16]!, 7, 18, 3, true), fn.op(OP.i32Add), get(wt), fn.op(OP.i32Add), set(wt));
    }
    const [a, b, c, d, e, f, g, h] = v as [number, number, number, number, number, number, number, number];
    // T1 = h + Σ1(e) + Ch(e, f, g) + K[t] + W[t], with Ch = g ^ (e & (f ^ g))
    (get(h), sigma(e, 6, 11, 25, false), fn.op(OP.i32Add));
    (get(g), get(e), get(f), get(g), fn.op(OP.i32Xor, OP.i32And, OP.i32Xor, OP.i32Add));
    (fn.c32(K[t]!), fn.op(OP.i32Add), get(wt), fn.op(OP.i32Add), set(t1));
    // d += T1; the old h's local becomes the new a: T1 + Σ0(a) + Maj(a, b, c), Maj = (a & b) | (c & (a | b))
    (get(d), get(t1), fn.op(OP.i32Add), set(d));
    (get(t1), sigma(a, 2, 13, 22, false), fn.op(OP.i32Add));
    (get(a), get(b), fn.op(OP.i32And), get(c), get(a), get(b), fn.op(OP.i32Or, OP.i32And, OP.i32Or, OP.i32Add));
    set(h);
    v = [h, a, b, c, d, e, f, g];
  }
  s.forEach((l, k) => {
    (fn.c32(0), fn.c32(0), fn.memory(OP.i32Load, 2, H_AT + 4 * k), get(v[k]!), fn.op(OP.i32Add));
    fn.memory(OP.i32Store, 2, H_AT + 4 * k);
  });
  return fn;
}

const COMPRESS = 0;

/** hmac(length): the tag of the `length` bytes at DATA_AT under the states at INNER_AT and OUTER_AT, to OUT_AT. */
function hmacFunction(): FunctionBuilder {
  const fn = new FunctionBuilder([I32]);
  const length = 0;
  const p = fn.local(I32);
  const n = fn.local(I32);
  const scratch = fn.local(I32);
  /** memory.copy of the 32-byte state at `from` to `to`. */
  const copyState = (to: number, from: number) => (fn.c32(to), fn.c32(from), fn.c32(32), fn.memoryCopy());
  const stateToBigEndian = (at: number) => {
    for (let k = 0; k < 8; k++) {
      (fn.c32(0), fn.c32(0), fn.memory(OP.i32Load, 2, H_AT + 4 * k), emitBswap(fn, scratch));
      fn.memory(OP.i32Store, 2, at + 4 * k);
    }
  };

  copyState(H_AT, INNER_AT);
  (fn.c32(DATA_AT), fn.set(p), fn.get(length), fn.set(n));
  // Whole blocks straight from the message.
  fn.op(OP.block, VOID, OP.loop, VOID);
  (fn.get(n), fn.c32(BLOCK), fn.op(OP.i32LtU, OP.brIf, 1));
  (fn.get(p), fn.call(COMPRESS));
  (fn.get(p), fn.c32(BLOCK), fn.op(OP.i32Add), fn.set(p));
  (fn.get(n), fn.c32(BLOCK), fn.op(OP.i32Sub), fn.set(n));
  fn.op(OP.br, 0, OP.end, OP.end);
  // The tail: rest ‖ 0x80 ‖ zeros ‖ 64-bit big-endian bit length of (ipad block ‖ message), in one or two blocks.
  (fn.c32(TAIL_AT), fn.get(p), fn.get(n), fn.memoryCopy());
  (fn.get(n), fn.c32(0x80), fn.memory(OP.i32Store8, 0, TAIL_AT));
  (fn.get(n), fn.c32(TAIL_AT + 1), fn.op(OP.i32Add), fn.c32(0), fn.c32(2 * BLOCK - 1), fn.get(n));
  (fn.op(OP.i32Sub), fn.memoryFill());
  // p = the offset of the last block's end: 64 when rest + 9 fits one block, else 128.
  (fn.c32(BLOCK), fn.c32(2 * BLOCK), fn.get(n), fn.c32(BLOCK - 8), fn.op(OP.i32LtU, OP.select), fn.set(p));
  (fn.get(p), fn.get(length), fn.c32(BLOCK), fn.op(OP.i32Add), fn.c32(29), fn.op(OP.i32ShrU));
  (emitBswap(fn, scratch), fn.memory(OP.i32Store, 0, TAIL_AT - 8));
  (fn.get(p), fn.get(length), fn.c32(BLOCK), fn.op(OP.i32Add), fn.c32(3), fn.op(OP.i32Shl));
  (emitBswap(fn, scratch), fn.memory(OP.i32Store, 0, TAIL_AT - 4));
  (fn.c32(TAIL_AT), fn.call(COMPRESS));
  (fn.get(p), fn.c32(2 * BLOCK), fn.op(OP.i32Eq), fn.op(OP.if, VOID));
  (fn.c32(TAIL_AT + BLOCK), fn.call(COMPRESS), fn.op(OP.end));
  // The outer hash: opad state, then the inner digest ‖ 0x80 ‖ zeros ‖ bit length 768.
  stateToBigEndian(TAIL_AT);
  (fn.c32(0), fn.c32(0x80), fn.memory(OP.i32Store8, 0, TAIL_AT + 32));
  (fn.c32(TAIL_AT + 33), fn.c32(0), fn.c32(BLOCK - 33 - 4), fn.memoryFill());
  (fn.c32(0), fn.c32(bswap32((BLOCK + 32) * 8)), fn.memory(OP.i32Store, 2, TAIL_AT + BLOCK - 4));
  copyState(H_AT, OUTER_AT);
  (fn.c32(TAIL_AT), fn.call(COMPRESS));
  stateToBigEndian(OUT_AT);
  return fn;
}

/** keyState(blockAt, outAt): SHA-256's state after the one block at blockAt, to outAt. */
function keyStateFunction(): FunctionBuilder {
  const fn = new FunctionBuilder([I32, I32]);
  (fn.c32(H_AT), fn.c32(IV_AT), fn.c32(32), fn.memoryCopy());
  (fn.get(0), fn.call(COMPRESS));
  (fn.get(1), fn.c32(H_AT), fn.c32(32), fn.memoryCopy());
  return fn;
}

function hmacModuleBytes(): Uint8Array {
  return moduleBytes(
    [
      { builder: compressFunction() },
      { builder: hmacFunction(), export: 'hmac' },
      { builder: keyStateFunction(), export: 'keyState' },
    ],
    1,
    [{ at: IV_AT, bytes: new Uint8Array(Uint32Array.from(IV).buffer) }],
  );
}

/** The one instance of the module (this thread's): its memory grows for a long message. */
class Kernel {
  private readonly memory: WasmMemory;
  readonly hmac: (length: number) => void;
  readonly keyState: (blockAt: number, outAt: number) => void;
  bytes!: Uint8Array;
  tag!: Uint8Array;

  constructor() {
    const exports = instantiate(compileModule(hmacModuleBytes()));
    this.memory = exports.memory as WasmMemory;
    this.hmac = exports.hmac as (length: number) => void;
    this.keyState = exports.keyState as (blockAt: number, outAt: number) => void;
    this.view();
  }

  /** Makes room for a message of `length` bytes at DATA_AT. */
  reserve(length: number): void {
    const need = DATA_AT + length + 2 * BLOCK;
    const have = this.memory.buffer.byteLength;
    if (need <= have) return;
    this.memory.grow(Math.ceil((need - have) / WASM_PAGE));
    this.view();
  }

  private view(): void {
    this.bytes = new Uint8Array(this.memory.buffer);
    this.tag = this.bytes.subarray(OUT_AT, OUT_AT + HMAC_SHA256_BYTES);
  }
}

let kernel: Kernel | undefined;

/** A key's HMAC-SHA256, its pad blocks hashed once; every call reuses the module's memory. */
export class HmacSha256State {
  /** The inner state (after key ^ ipad), then the outer (after key ^ opad): native i32 words. */
  private readonly states = new Uint8Array(64);

  constructor(key: Uint8Array) {
    const k = (kernel ??= new Kernel());
    const block = new Uint8Array(BLOCK);
    block.set(key.length > BLOCK ? sha256(key) : key);
    for (const [pad, at] of [
      [0x36, 0],
      [0x5c, 32],
    ] as const) {
      k.bytes.set(
        block.map((b) => b ^ pad),
        DATA_AT,
      );
      k.keyState(DATA_AT, INNER_AT);
      this.states.set(k.bytes.subarray(INNER_AT, INNER_AT + 32), at);
    }
  }

  /** Writes the tag of `data` into `out` (at least HMAC_SHA256_BYTES long). */
  computeInto(data: Uint8Array, out: Uint8Array): void {
    const k = kernel!;
    if (data.length > k.bytes.length - DATA_AT - 2 * BLOCK) k.reserve(data.length);
    k.bytes.set(this.states, INNER_AT);
    k.bytes.set(data, DATA_AT);
    k.hmac(data.length);
    out.set(k.tag);
  }
}
