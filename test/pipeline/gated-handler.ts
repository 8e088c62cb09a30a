/**
 * A batch handler for pipeline tests: replies with the datagram itself, its first byte turned
 * to 'R' (so a reply is never larger than its request), drops datagrams starting with 'X' as
 * malformed, and, given a gate (a SharedArrayBuffer), blocks each batch until the test opens it.
 */
import type { BatchOutput } from '../../src/pipeline/batch-codec.js';
import type { BatchHandler } from '../../src/pipeline/batch-handler.js';

export interface GatedInit {
  readonly gate?: SharedArrayBuffer;
}

export function createBatchHandler(init: unknown): BatchHandler {
  const gate = (init as GatedInit).gate ? new Int32Array((init as GatedInit).gate!) : undefined;
  let tag = 0x52;
  return {
    handle(datagrams: readonly Uint8Array[], _meta: unknown, out: BatchOutput): void {
      if (gate) Atomics.wait(gate, 0, 0);
      for (const datagram of datagrams) {
        if (datagram[0] === 0x58) {
          out.drop('SATURN_ERR_RT_MALFORMED');
          continue;
        }
        const room = out.reply(datagram.byteLength)!;
        room.set(datagram);
        room[0] = tag;
      }
    },
    control(message: unknown): void {
      tag = (message as { tag: number }).tag;
    },
  };
}

/** Opens a gate made with `new SharedArrayBuffer(4)`. */
export function openGate(gate: SharedArrayBuffer): void {
  const view = new Int32Array(gate);
  Atomics.store(view, 0, 1);
  Atomics.notify(view, 0);
}
