/**
 * Preloaded into a process under benchmark (`node --import <this file>`): measures how late its
 * event loop runs (perf_hooks' monitorEventLoopDelay, 1 ms resolution), which is how long a datagram
 * can sit in the socket buffer while the main thread is busy with something else. SIGUSR2 starts a
 * fresh measurement (the bench sends it when its window opens); at exit one JSON line on stderr:
 *   {"msg":"bench event loop delay","p50Us":…,"p99Us":…,"maxUs":…}
 */
import { monitorEventLoopDelay } from 'node:perf_hooks';

const delay = monitorEventLoopDelay({ resolution: 1 });
delay.enable();
process.on('SIGUSR2', () => delay.reset());
process.on('exit', () => {
  const us = (ns: number) => Math.round(ns / 1e3);
  process.stderr.write(
    `${JSON.stringify({
      msg: 'bench event loop delay',
      p50Us: us(delay.percentile(50)),
      p99Us: us(delay.percentile(99)),
      maxUs: us(delay.max),
    })}\n`,
  );
});
