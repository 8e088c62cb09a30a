/**
 * bench/roughtime-throughput/flood: the Roughtime server (the real binary, `saturn roughtime
 * serve` at its defaults) under a garbage flood. Legitimate queries (the saturn client, 3
 * attempts, backoff from 1 s) run first with no flood (the baseline, same run), then during a
 * flood of garbage datagrams from another process (64 KB, 30 KB, 1,500, 1,100, 512 and 8 bytes,
 * random, round robin, as fast as one Node socket sends). Prints queries answered, the server's
 * RSS idle, at most during the flood and after it, and what the server counted.
 *
 *   npm run bench:roughtime-flood -- [--seconds 10] [--queries 10]
 *
 * (--queries: the baseline's count; during the flood, queries run back to back until it ends.)
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { once } from 'node:events';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { SystemClock } from '../../src/clock/system-clock.js';
import { queryServer } from '../../src/roughtime/client.js';
import { rssBytes } from '../lib/proc-usage.js';

const { values } = parseArgs({
  options: { seconds: { type: 'string', default: '10' }, queries: { type: 'string', default: '10' } },
});
const floodMs = Number(values.seconds) * 1000;
const queries = Number(values.queries);
const BIN = fileURLToPath(new URL('../../../bin/saturn', import.meta.url));
const clock = new SystemClock();
const mb = (bytes: number): string => (bytes / 2 ** 20).toFixed(1);
const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

const server = spawn(
  process.execPath,
  [BIN, 'roughtime', 'serve', '--listen-addr', '127.0.0.1:0', '--log-level', 'warn'],
  {
    stdio: ['ignore', 'pipe', 'ignore'],
  },
);
let out = '';
server.stdout!.setEncoding('utf8').on('data', (chunk: string) => (out += chunk));
while (!/listening on 127\.0\.0\.1:(\d+) public key (\S+)/.test(out)) await sleep(20);
const [, port, key] = /listening on 127\.0\.0\.1:(\d+) public key (\S+)/.exec(out)!;
const target = {
  name: 'bench',
  host: '127.0.0.1',
  port: Number(port),
  publicKey: new Uint8Array(Buffer.from(key!, 'base64')),
  versions: [1],
};

/** Runs queries one after another, `count` of them or until `until()`; how many were tried and answered, in how many attempts. */
async function runQueries(
  count: number,
  until: () => boolean = () => false,
): Promise<{ tried: number; answered: number; attempts: number }> {
  let answered = 0;
  let attempts = 0;
  let tried = 0;
  for (; tried < count && !until(); tried++) {
    try {
      const answer = await queryServer(target, { clock, attempts: 3 });
      answered++;
      attempts += answer.attempts;
    } catch {
      attempts += 3;
    }
  }
  return { tried, answered, attempts };
}

const idleRss = rssBytes(server.pid!);
const quiet = await runQueries(queries);
const floodScript = `
  const socket = require('node:dgram').createSocket('udp4');
  const { randomBytes } = require('node:crypto');
  const sizes = [65000, 30000, 1500, 1100, 512, 8];
  const garbage = sizes.map((n) => randomBytes(n));
  const end = Date.now() + ${floodMs};
  let sent = 0;
  const burst = () => {
    for (let i = 0; i < 64; i++, sent++) socket.send(garbage[sent % garbage.length], ${port}, '127.0.0.1');
    if (Date.now() < end) setImmediate(burst);
    else socket.close(() => console.log(sent));
  };
  burst();`;
const flooder: ChildProcess = spawn(process.execPath, ['-e', floodScript], { stdio: ['ignore', 'pipe', 'ignore'] });
let floodOut = '';
flooder.stdout!.setEncoding('utf8').on('data', (chunk: string) => (floodOut += chunk));
let maxRss = idleRss;
const sampler = setInterval(() => (maxRss = Math.max(maxRss, rssBytes(server.pid!))), 100);
let flooding = true;
const floodEnded = once(flooder, 'exit').then(() => (flooding = false));
await sleep(500);
const flooded = await runQueries(Number.POSITIVE_INFINITY, () => !flooding);
await floodEnded;
clearInterval(sampler);
await sleep(2000);
const afterRss = rssBytes(server.pid!);
server.kill('SIGTERM');
await once(server, 'exit');
const stats = JSON.parse(/roughtime server stopped: (.*)/.exec(out)?.[1] ?? '{}') as {
  received?: number;
  answered?: number;
  dropped?: Record<string, number>;
  shed?: { queueFull: number };
};
console.log(
  `# roughtime server under a garbage flood: queries of version 1 (3 attempts, backoff from 1 s), flood ${floodMs / 1000} s, node ${process.version}`,
);
console.log(`no flood (baseline): ${quiet.answered}/${quiet.tried} answered in ${quiet.attempts} attempts`);
console.log(
  `during the flood: ${flooded.answered}/${flooded.tried} answered in ${flooded.attempts} attempts; the flood sent ${floodOut.trim()} datagrams`,
);
console.log(
  `server: received ${stats.received}, answered ${stats.answered}, dropped ${JSON.stringify(stats.dropped)}, shed by the full queue ${stats.shed?.queueFull}`,
);
console.log(`server RSS: idle ${mb(idleRss)} MB, at most ${mb(maxRss)} MB during the flood, ${mb(afterRss)} MB after`);
const share = (r: { tried: number; answered: number }): number => r.answered / Math.max(1, r.tried);
console.log(
  `share answered, during the flood / without: ${(share(flooded) / Math.max(1e-9, share(quiet))).toFixed(2)}`,
);
