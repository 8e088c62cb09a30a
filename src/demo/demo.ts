import { randomBytes } from 'node:crypto';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { buildConfig } from '../config/build-config.js';
import { formatHostPort } from '../util/parse.js';
import { waitForShutdown } from '../service/signals.js';
import type { Clock, Timer } from '../clock/clock.js';
import { SystemClock } from '../clock/system-clock.js';
import { type Sink, createDiagnostics } from '../log/diagnostics.js';
import { startRoughtimeServer } from '../roughtime/server.js';
import { adHocKeys } from '../roughtime/server-keys.js';
import { DemoReceiver } from './webhook-receiver.js';
import { type RunningNode, startNode } from '../service/run-node.js';

export interface DemoOptions {
  /** Stop after this long; undefined runs until SIGINT/SIGTERM. */
  durationNs: number | undefined;
  intervalNs: number;
  stdout: Sink;
  stderr: Sink;
  /** HTTP address of the master's dashboard, /status and /metrics; default an ephemeral loopback port. */
  metricsAddr?: string;
  /** Which clock is wrong (DEMO_SCENARIOS); default `slave-wrong`. */
  scenario?: DemoScenarioName;
  /** Times the demo's own timer (--duration); default the system clock. The nodes keep their own clocks, each with its scenario's offset. */
  clock?: Clock;
}

interface DemoScenario {
  /** The master's clock offset (a wrong master), and each slave's. */
  masterOffset: string;
  slaves: { name: string; clockOffset: string }[];
  /** The first line's words on what is wrong. */
  story: string;
}

/**
 * What the demo can show. `slave-wrong`: one slave 750 ms ahead; the master alerts on it and the
 * mesh names it. `master-wrong`: the master 500 ms ahead of four good slaves; the mesh names the
 * master, once, and no slave is blamed (drift is judged against the agreed time).
 */
export const DEMO_SCENARIOS = {
  'slave-wrong': {
    masterOffset: '0ms',
    slaves: [
      { name: 'web-1', clockOffset: '0ms' },
      { name: 'web-2', clockOffset: '0ms' },
      { name: 'web-3', clockOffset: '750ms' },
    ],
    story: "web-3's clock runs 750 ms ahead",
  },
  'master-wrong': {
    masterOffset: '500ms',
    slaves: ['web-1', 'web-2', 'web-3', 'web-4'].map((name) => ({ name, clockOffset: '0ms' })),
    story: "the master's own clock runs 500 ms ahead; the mesh names it, and no slave is blamed",
  },
} satisfies Record<string, DemoScenario>;
export type DemoScenarioName = keyof typeof DEMO_SCENARIOS;

/** A whole mesh on loopback in one process: master + slaves + a webhook receiver, llog alerts on stdout. */
export async function runDemo(options: DemoOptions): Promise<void> {
  const scenario: DemoScenario = DEMO_SCENARIOS[options.scenario ?? 'slave-wrong'];
  const SLAVES = scenario.slaves;
  const key = randomBytes(32).toString('hex');
  const interval = `${options.intervalNs}ns`;
  const logger = createDiagnostics({ level: 'warn', format: 'llog', sink: options.stderr });
  const nodes: RunningNode[] = [];
  const receiver = await DemoReceiver.start(options.stdout);
  // A local Roughtime server (the same pipeline server `saturn roughtime serve` runs) that the master verifies its clock against.
  // Its ad hoc key is the point here, so its warning about that is left out.
  const quietLogger = createDiagnostics({ level: 'error', format: 'llog', sink: options.stderr });
  const roughtime = await startRoughtimeServer({
    listenAddr: { host: '127.0.0.1', port: 0 },
    keys: adHocKeys(),
    clock: new SystemClock(),
    logger: quietLogger,
  });
  // A throwaway state dir: events are numbered and webhook deliveries kept durably, as in production.
  const stateDir = await mkdtemp(join(tmpdir(), 'saturn-demo-'));
  const roughtimeSpec = `${formatHostPort(roughtime.address)}=${Buffer.from(roughtime.publicKey).toString('base64')}`;
  try {
    const masterConfig = buildConfig({
      listenAddr: '127.0.0.1:0',
      metricsAddr: options.metricsAddr ?? '127.0.0.1:0',
      hmacKey: key,
      name: 'master',
      interval,
      webhookUrl: receiver.url,
      roughtimeServer: [roughtimeSpec],
      roughtimeInterval: '10s',
      stateDir,
      clockOffset: scenario.masterOffset,
    });
    const master = await startNode(masterConfig, {
      clock: new SystemClock({ offsetNs: masterConfig.clockOffsetNs }),
      logger,
      stdout: options.stdout,
    });
    nodes.push(master);
    const masterAddr = formatHostPort(master.master!.address);
    for (const slave of SLAVES) {
      const config = buildConfig({ ...slave, masterAddr, listenAddr: '127.0.0.1:0', hmacKey: key, interval });
      // The slaves' own lines would repeat the master's; the demo shows the master's view.
      nodes.push(
        await startNode(config, {
          clock: new SystemClock({ offsetNs: config.clockOffsetNs }),
          logger,
          stdout: { write: () => true },
        }),
      );
    }
    options.stdout.write(
      `saturn demo: master on udp ${masterAddr}, slaves ${SLAVES.map((s) => s.name).join(', ')} ` +
        `(${scenario.story}), threshold 100 ms\n` +
        `dashboard: http://${formatHostPort(master.http!.address)}/\n` +
        `status: http://${formatHostPort(master.http!.address)}/status  metrics: http://${formatHostPort(master.http!.address)}/metrics\n` +
        `webhook receiver: ${receiver.url}\n` +
        `roughtime server (the master checks its own clock against it every 10 s): ${roughtimeSpec}\n` +
        (options.durationNs === undefined
          ? 'press Ctrl-C to stop\n'
          : `stopping after ${options.durationNs / 1e9} s\n`),
    );
    let stop: Timer | undefined;
    const clock = options.clock ?? new SystemClock();
    await (options.durationNs === undefined
      ? waitForShutdown()
      : Promise.race([
          waitForShutdown(),
          new Promise<void>((resolve) => (stop = clock.setTimer(options.durationNs!, resolve))),
        ]));
    stop?.cancel();
  } finally {
    for (const node of nodes.reverse()) await node.close();
    await receiver.close();
    await roughtime.close();
    await rm(stateDir, { recursive: true, force: true });
  }
  options.stdout.write('saturn demo: stopped\n');
}
