/** The messages between the pipeline and its workers: one per batch each way, plus control. */

export type ToWorker =
  | { readonly kind: 'batch'; readonly id: number; readonly input: ArrayBuffer; readonly meta: unknown }
  | { readonly kind: 'control'; readonly payload: unknown };

export type ToMain =
  | { readonly kind: 'ready' }
  | { readonly kind: 'done'; readonly id: number; readonly output: ArrayBuffer; readonly computeNs: number }
  | { readonly kind: 'failed'; readonly id: number; readonly error: string };
