import { setFlagsFromString } from 'node:v8';

/**
 * How far V8 lets a master's old generation grow past what survived its last mark-compact, in
 * percent (V8's `--heap-growing-percent`). V8 picks a factor of up to 4 on its own when the heap
 * limit is large (4 GiB on a machine with 24 GiB), so a master whose live heap is 72 MB at 10,000
 * slaves sat at 230-280 MB RSS with most of its old generation garbage awaiting collection. 20%
 * makes it collect sooner; the cost is a few more mark-compacts, concurrent for the most part
 * (measured in BENCHMARKS.md, "Issue 14: the master's heap").
 */
export const MASTER_HEAP_GROWING_PERCENT = 20;

/**
 * Sets the master's heap growth, unless the operator gave node the flag (on its command line or in
 * NODE_OPTIONS): theirs wins. V8 reads the flag each time it sizes the old generation after a
 * mark-compact, so setting it at start-up takes effect for the whole run (unlike the young
 * generation's size, which is fixed when the isolate is created). Process-wide: call it from the
 * command line's entry point of a master, not from a library. Returns whether it set the flag.
 */
export function tuneHeapForMaster(
  execArgv: readonly string[] = process.execArgv,
  nodeOptions: string = process.env.NODE_OPTIONS ?? '',
): boolean {
  const given = (arg: string) => /^--heap[-_]growing[-_]percent(=|$)/.test(arg);
  if (execArgv.some(given) || nodeOptions.split(/\s+/).some(given)) return false;
  setFlagsFromString(`--heap-growing-percent=${MASTER_HEAP_GROWING_PERCENT}`);
  return true;
}
