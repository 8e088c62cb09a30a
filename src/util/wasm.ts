/**
 * A WebAssembly module writer for small hand-built hash kernels (src/roughtime/sha512-many.ts,
 * src/wire/hmac-sha256-wasm.ts): the binary format's encodings, the opcodes those kernels use, a
 * function-body builder and the module's sections. No toolchain and no dependency: a kernel's
 * TypeScript emits its instructions and `compileModule` hands the bytes to the engine.
 */

/** The opcodes the kernels use (WebAssembly core specification, 5.4). */
export const OP = {
  block: 0x02,
  loop: 0x03,
  if: 0x04,
  else: 0x05,
  end: 0x0b,
  br: 0x0c,
  brIf: 0x0d,
  call: 0x10,
  select: 0x1b,
  get: 0x20,
  set: 0x21,
  tee: 0x22,
  i32Load: 0x28,
  i64Load: 0x29,
  i32Store: 0x36,
  i64Store: 0x37,
  i32Store8: 0x3a,
  i32Const: 0x41,
  i64Const: 0x42,
  i32Eqz: 0x45,
  i32Eq: 0x46,
  i32LtU: 0x49,
  i32GtU: 0x4b,
  i32GeU: 0x4f,
  i32Add: 0x6a,
  i32Sub: 0x6b,
  i32Mul: 0x6c,
  i32And: 0x71,
  i32Or: 0x72,
  i32Xor: 0x73,
  i32Shl: 0x74,
  i32ShrU: 0x76,
  i32Rotl: 0x77,
  i32Rotr: 0x78,
  i64Add: 0x7c,
  i64Mul: 0x7e,
  i64And: 0x83,
  i64Or: 0x84,
  i64Xor: 0x85,
  i64Shl: 0x86,
  i64ShrU: 0x88,
  i64Rotl: 0x89,
  i64Rotr: 0x8a,
  i64ExtendI32U: 0xad,
} as const;
/** Block type of a block, loop or if that leaves nothing on the stack. */
export const VOID = 0x40;
export const I32 = 0x7f;
export const I64 = 0x7e;

/** Unsigned LEB128. */
export function uleb(value: number): number[] {
  const out: number[] = [];
  do {
    let byte = value & 0x7f;
    value >>>= 7;
    if (value !== 0) byte |= 0x80;
    out.push(byte);
  } while (value !== 0);
  return out;
}

/** Signed LEB128 (i32.const and i64.const take their operand so). */
export function sleb(value: bigint): number[] {
  const out: number[] = [];
  for (;;) {
    const byte = Number(value & 0x7fn);
    value >>= 7n;
    if ((value === 0n && (byte & 0x40) === 0) || (value === -1n && (byte & 0x40) !== 0)) {
      out.push(byte);
      return out;
    }
    out.push(byte | 0x80);
  }
}

/**
 * One function's body under construction. Locals are numbered after the parameters; `local(type)`
 * declares one. The emit helpers push instructions and return nothing, so a kernel reads as a
 * sequence of stack operations.
 */
export class FunctionBuilder {
  readonly code: number[] = [];
  private readonly localTypes: number[] = [];

  constructor(readonly params: readonly number[]) {}

  /** Declares a local of `type` (I32 or I64) and returns its index. */
  local(type: number): number {
    this.localTypes.push(type);
    return this.params.length + this.localTypes.length - 1;
  }

  op(...ops: number[]): void {
    this.code.push(...ops);
  }
  get(l: number): void {
    this.code.push(OP.get, ...uleb(l));
  }
  set(l: number): void {
    this.code.push(OP.set, ...uleb(l));
  }
  tee(l: number): void {
    this.code.push(OP.tee, ...uleb(l));
  }
  c32(n: number): void {
    this.code.push(OP.i32Const, ...sleb(BigInt(n | 0)));
  }
  c64(n: bigint): void {
    this.code.push(OP.i64Const, ...sleb(n));
  }
  /** A load or store with its alignment (log2 bytes) and a constant offset. */
  memory(opcode: number, align: number, offset: number): void {
    this.code.push(opcode, align, ...uleb(offset));
  }
  /** memory.copy(dest, src, n) with its three operands on the stack. */
  memoryCopy(): void {
    this.code.push(0xfc, ...uleb(10), 0, 0);
  }
  /** memory.fill(dest, byte, n) with its three operands on the stack. */
  memoryFill(): void {
    this.code.push(0xfc, ...uleb(11), 0);
  }
  call(index: number): void {
    this.code.push(OP.call, ...uleb(index));
  }

  /** block { loop { if counter >= limit break; body; counter += step; continue } } */
  loopWhileLess(counter: number, limit: () => void, body: () => void, step = 1): void {
    this.op(OP.block, VOID, OP.loop, VOID);
    (this.get(counter), limit(), this.op(OP.i32GeU, OP.brIf, 1));
    body();
    (this.get(counter), this.c32(step), this.op(OP.i32Add), this.set(counter));
    this.op(OP.br, 0, OP.end, OP.end);
  }

  /** The encoded body: local declarations (runs of one type), instructions, end. */
  body(): number[] {
    const runs: [number, number][] = [];
    for (const type of this.localTypes) {
      const last = runs[runs.length - 1];
      if (last && last[1] === type) last[0]++;
      else runs.push([1, type]);
    }
    return [...uleb(runs.length), ...runs.flatMap(([n, type]) => [...uleb(n), type]), ...this.code, OP.end];
  }
}

/** A function of the module: its builder (params from it, results none) and its export name, if any. */
export interface ModuleFunction {
  builder: FunctionBuilder;
  export?: string;
}

function section(id: number, body: number[]): number[] {
  return [id, ...uleb(body.length), ...body];
}

function vec(items: number[][]): number[] {
  return [...uleb(items.length), ...items.flat()];
}

function name(text: string): number[] {
  return [...uleb(text.length), ...Buffer.from(text, 'utf8')];
}

/**
 * The bytes of a module with one memory (`pages` of 64 KiB, exported as "memory"), the given
 * functions (no results; function i has index i for `call`) and data written at fixed addresses.
 */
export function moduleBytes(
  functions: readonly ModuleFunction[],
  pages: number,
  data: readonly { at: number; bytes: Uint8Array }[],
): Uint8Array {
  const types = functions.map((f) => [0x60, ...uleb(f.builder.params.length), ...f.builder.params, 0]);
  const exports = [
    [...name('memory'), 0x02, 0],
    ...functions.flatMap((f, i) => (f.export ? [[...name(f.export), 0x00, ...uleb(i)]] : [])),
  ];
  const bodies = functions.map((f) => {
    const body = f.builder.body();
    return [...uleb(body.length), ...body];
  });
  return new Uint8Array([
    ...[0x00, 0x61, 0x73, 0x6d, 0x01, 0x00, 0x00, 0x00],
    ...section(1, vec(types)),
    ...section(3, vec(functions.map((_, i) => uleb(i)))),
    ...section(5, vec([[0x00, ...uleb(pages)]])),
    ...section(7, vec(exports)),
    ...section(10, vec(bodies)),
    ...section(
      11,
      vec(data.map((d) => [0x00, OP.i32Const, ...sleb(BigInt(d.at)), OP.end, ...uleb(d.bytes.length), ...d.bytes])),
    ),
  ]);
}

/** The part of the WebAssembly API used here (tsconfig's lib has no WebAssembly types). */
export interface WasmMemory {
  readonly buffer: ArrayBuffer;
  grow(pages: number): number;
}
interface WasmApi {
  Module: new (bytes: Uint8Array) => object;
  Instance: new (module: object, imports: object) => { readonly exports: Record<string, unknown> };
}
const wasm = (globalThis as unknown as { WebAssembly: WasmApi }).WebAssembly;

/** Bytes in a page of WebAssembly memory. */
export const WASM_PAGE = 65536;

/** Compiles module bytes (synchronously: the kernels are a few kilobytes). */
export function compileModule(bytes: Uint8Array): object {
  return new wasm.Module(bytes);
}

/** A new instance of a compiled module (no imports): its exports. */
export function instantiate(compiled: object): Record<string, unknown> {
  return new wasm.Instance(compiled, {}).exports;
}
