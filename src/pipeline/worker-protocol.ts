/**
 * The messages between the pipeline and its workers: one per batch each way, plus control. A
 * batch's datagrams travel in a region of the worker's shared arena (`region`, `length`: a
 * small message, nothing transferred) and its result comes back in the same region of the
 * result arena, or, when they do not fit one, both travel in transferred buffers.
 */

export type ToWorker =
  | {
      readonly kind: 'batch';
      readonly id: number;
      readonly region: number;
      readonly length: number;
      readonly meta: unknown;
    }
  | { readonly kind: 'batch'; readonly id: number; readonly input: ArrayBuffer; readonly meta: unknown }
  | { readonly kind: 'control'; readonly payload: unknown };

/** What a worker is started with: its handler, and the shared arenas its batches arrive in and its results leave in. */
export interface WorkerStart {
  readonly handlerModule: string;
  readonly init: unknown;
  readonly arena: SharedArrayBuffer;
  readonly results: SharedArrayBuffer;
  readonly regionBytes: number;
}

export type ToMain =
  | { readonly kind: 'ready' }
  | { readonly kind: 'done'; readonly id: number; readonly output: ArrayBuffer; readonly computeNs: number }
  /** The result is in the region the batch came in, in the worker's shared result arena. */
  | {
      readonly kind: 'done';
      readonly id: number;
      readonly region: number;
      readonly length: number;
      readonly computeNs: number;
    }
  | { readonly kind: 'failed'; readonly id: number; readonly error: string };
