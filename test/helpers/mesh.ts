import { type RawOptions, buildConfig } from '../../src/config/build-config.js';
import { formatHostPort } from '../../src/util/parse.js';
import { SystemClock } from '../../src/clock/system-clock.js';
import { type RunningNode, startNode } from '../../src/service/run-node.js';
import { lineSink, testLogger } from './sinks.js';

const KEY = 'in-process-mesh-key-0123456789';

/** A master and slaves in this process on loopback, each writing to kept sinks; `close()` in a finally. */
export async function startMesh(slaves: (RawOptions & { name: string })[], masterOptions: RawOptions = {}) {
  const events = lineSink();
  const log = testLogger();
  const nodes: RunningNode[] = [];
  const close = async () => {
    for (const n of nodes.reverse()) await n.close();
  };
  try {
    const master = await startNode(
      buildConfig({
        listenAddr: '127.0.0.1:0',
        metricsAddr: '127.0.0.1:0',
        hmacKey: KEY,
        name: 'master',
        interval: '250ms',
        ...masterOptions,
      }),
      { clock: new SystemClock(), logger: log.logger, stdout: events },
    );
    nodes.push(master);
    const masterAddr = formatHostPort(master.master!.address);
    for (const slave of slaves) {
      const config = buildConfig({ masterAddr, listenAddr: '127.0.0.1:0', hmacKey: KEY, interval: '250ms', ...slave });
      nodes.push(
        await startNode(config, {
          clock: new SystemClock({ offsetNs: config.clockOffsetNs }),
          logger: log.logger,
          stdout: lineSink(),
        }),
      );
    }
    const base = `http://${formatHostPort(master.http!.address)}`;
    /** Resolves once every slave has at least `checks` good checks on the master. */
    const checked = async (checks: number, timeoutMs = 20_000) => {
      const deadline = performance.now() + timeoutMs;
      while (!slaves.every((s) => (master.master!.fleet.get(s.name)?.checks ?? 0) >= checks)) {
        if (performance.now() > deadline)
          throw new Error(`slaves did not reach ${checks} checks; events:\n${events.text()}`);
        await new Promise((r) => setTimeout(r, 25));
      }
    };
    return { master, slaves: nodes.slice(1), base, events, log, checked, close };
  } catch (err) {
    await close();
    throw err;
  }
}
