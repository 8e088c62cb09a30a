import assert from 'node:assert/strict';
import { test } from 'node:test';
import {
  FunctionBuilder,
  I32,
  I64,
  OP,
  type WasmMemory,
  compileModule,
  instantiate,
  moduleBytes,
  sleb,
  uleb,
} from '../../src/util/wasm.js';

test('LEB128 encodings as the WebAssembly binary format gives them', () => {
  assert.deepEqual(uleb(0), [0]);
  assert.deepEqual(uleb(127), [0x7f]);
  assert.deepEqual(uleb(128), [0x80, 0x01]);
  assert.deepEqual(uleb(624485), [0xe5, 0x8e, 0x26]);
  assert.deepEqual(sleb(0n), [0]);
  assert.deepEqual(sleb(-1n), [0x7f]);
  assert.deepEqual(sleb(63n), [0x3f]);
  assert.deepEqual(sleb(64n), [0xc0, 0x00]);
  assert.deepEqual(sleb(-64n), [0x40]);
  assert.deepEqual(sleb(-123456n), [0xc0, 0xbb, 0x78]);
});

test('a module built here runs: locals of both types, a call, a loop, memory and data', () => {
  // fill(at, n): memory[at + 4i] = data word + i for i < n, through a helper function.
  const put = new FunctionBuilder([I32, I32]);
  (put.get(0), put.get(1), put.memory(OP.i32Store, 2, 0));
  const fill = new FunctionBuilder([I32, I32]);
  const i = fill.local(I32);
  const wide = fill.local(I64);
  (fill.c64(-1n), fill.set(wide));
  fill.loopWhileLess(
    i,
    () => fill.get(1),
    () => {
      (fill.get(0), fill.get(i), fill.c32(4), fill.op(OP.i32Mul, OP.i32Add));
      (fill.c32(0), fill.memory(OP.i32Load, 2, 8), fill.get(i), fill.op(OP.i32Add), fill.call(0));
    },
  );
  const data = new Uint8Array(new Uint32Array([0, 0, 1000]).buffer);
  const exports = instantiate(
    compileModule(moduleBytes([{ builder: put }, { builder: fill, export: 'fill' }], 1, [{ at: 0, bytes: data }])),
  );
  (exports.fill as (at: number, n: number) => void)(64, 5);
  const words = new Uint32Array((exports.memory as WasmMemory).buffer, 64, 5);
  assert.deepEqual([...words], [1000, 1001, 1002, 1003, 1004]);
  assert.equal(exports.put, undefined, 'only what is named is exported');
});
