/**
 * The original Go tool's last estimator, kept as the baseline of the accuracy bench (bench/accuracy.ts).
 * It averages θ, so its result has no error bound and asymmetric delays bias it freely.
 * Reproduced as described, without the sign error of its first version.
 */
import type { Sample } from './sample.js';

/**
 * The original tool's offset: mean θ of the samples whose delay is strictly below the
 * sorted delay at idx = min(n − 1, max(3, floor(0.6 n))) (all samples when n ≤ 2); undefined when none is kept.
 */
export function originalEstimate(samples: readonly Sample[]): number | undefined {
  const n = samples.length;
  let kept: readonly Sample[] = samples;
  if (n > 2) {
    const sortedDelaysNs = samples.map((s) => s.delayNs).sort((a, b) => a - b);
    const idx = Math.min(n - 1, Math.max(3, Math.floor(0.6 * n)));
    const cutNs = sortedDelaysNs[idx] as number; // idx is within 0..n-1 for n > 2
    kept = samples.filter((s) => s.delayNs < cutNs);
  }
  if (kept.length === 0) return undefined;
  let sumNs = 0;
  for (const s of kept) sumNs += s.thetaNs;
  return sumNs / kept.length;
}
