import assert from 'node:assert/strict';
import { test } from 'node:test';
import { SimClock } from '../../src/clock/sim-clock.js';
import { runDemo } from '../../src/demo/demo.js';
import { until } from '../helpers/wait.js';

test(
  '--duration runs on the injected clock: the demo stops when that clock says so, not before',
  { timeout: 120_000 },
  async () => {
    const clock = new SimClock();
    let out = '';
    const sink = { write: (s: string) => ((out += s), true) };
    const done = runDemo({
      durationNs: 3_600e9,
      intervalNs: 1e9,
      stdout: sink,
      stderr: { write: () => true },
      clock,
    });
    await until('the demo to start', () => out.includes('stopping after 3600 s'), 60_000);
    assert.equal(clock.pendingTimers, 1, 'the duration is a timer of the injected clock');
    clock.advance(3_599e9);
    await new Promise((resolve) => setTimeout(resolve, 200));
    assert.doesNotMatch(out, /saturn demo: stopped/);
    clock.advance(1e9);
    await done;
    assert.match(out, /saturn demo: stopped\n$/);
  },
);
