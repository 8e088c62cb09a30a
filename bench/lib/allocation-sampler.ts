/**
 * Preloaded into a process under benchmark (`node --import <this file>`, e.g. through bench:scale's
 * MASTER_NODE_FLAGS): samples what the process allocates, including what the garbage collector
 * has already freed, which is what drives its scavenges. After ALLOC_SAMPLE_AFTER seconds (default
 * 15, past the warm-up) it samples for ALLOC_SAMPLE_FOR seconds (default 10), one sample per 4 KiB
 * allocated, and writes the profile to ALLOC_SAMPLE_OUT (default ./allocations.heapprofile; Chrome
 * DevTools opens it). With `--summary FILE` run as a script, it prints the bytes allocated per
 * function and per nearest frame of saturn's own code:
 *
 *   MASTER_NODE_FLAGS="--import $PWD/dist/bench/lib/allocation-sampler.js" npm run bench:scale -- --slaves 10000
 *   node dist/bench/lib/allocation-sampler.js --summary allocations.heapprofile
 */
import { writeFileSync, readFileSync } from 'node:fs';
import { Session } from 'node:inspector';
import { fileURLToPath } from 'node:url';

interface ProfileNode {
  callFrame: { functionName: string; url: string; lineNumber: number };
  selfSize: number;
  children: ProfileNode[];
}

function start(): void {
  const afterS = Number(process.env.ALLOC_SAMPLE_AFTER ?? 15);
  const forS = Number(process.env.ALLOC_SAMPLE_FOR ?? 10);
  const out = process.env.ALLOC_SAMPLE_OUT ?? 'allocations.heapprofile';
  const session = new Session();
  session.connect();
  const post = (method: string, params?: object) =>
    new Promise<unknown>((resolve, reject) =>
      session.post(method, params, (err, result) => (err ? reject(err) : resolve(result))),
    );
  setTimeout(async () => {
    await post('HeapProfiler.enable');
    await post('HeapProfiler.startSampling', {
      samplingInterval: 4096,
      includeObjectsCollectedByMajorGC: true,
      includeObjectsCollectedByMinorGC: true,
    });
    setTimeout(async () => {
      const { profile } = (await post('HeapProfiler.stopSampling')) as { profile: unknown };
      writeFileSync(out, JSON.stringify(profile));
    }, forS * 1000).unref();
  }, afterS * 1000).unref();
}

/** Bytes per allocating function, and per nearest frame in saturn's own code (dist/src). */
function summarize(file: string): void {
  const { head } = JSON.parse(readFileSync(file, 'utf8')) as { head: ProfileNode };
  const self = new Map<string, number>();
  const own = new Map<string, number>();
  let total = 0;
  const nameOf = (n: ProfileNode) =>
    `${n.callFrame.functionName || '(anonymous)'} ${n.callFrame.url.split('/').slice(-2).join('/')}:${n.callFrame.lineNumber + 1}`;
  const walk = (node: ProfileNode, nearestOwn: string | undefined): void => {
    const name = nameOf(node);
    const ownHere = node.callFrame.url.includes('/dist/src/') ? name : nearestOwn;
    if (node.selfSize > 0) {
      total += node.selfSize;
      self.set(name, (self.get(name) ?? 0) + node.selfSize);
      const key = ownHere ?? `(outside saturn) ${name}`;
      own.set(key, (own.get(key) ?? 0) + node.selfSize);
    }
    for (const child of node.children) walk(child, ownHere);
  };
  walk(head, undefined);
  const print = (title: string, map: Map<string, number>) => {
    console.log(title);
    for (const [name, bytes] of [...map].sort((a, b) => b[1] - a[1]).slice(0, 25))
      console.log(`${(bytes / 1e6).toFixed(2).padStart(8)} MB  ${name}`);
  };
  console.log(`${(total / 1e6).toFixed(1)} MB allocated over the sampled window`);
  print('by allocating function:', self);
  print("by nearest frame of saturn's code:", own);
}

if (process.argv[1] === fileURLToPath(import.meta.url) && process.argv[2] === '--summary') summarize(process.argv[3]!);
else start();
