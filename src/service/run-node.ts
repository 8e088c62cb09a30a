import type { Config } from '../cli/config.js';
import { formatHostPort } from '../cli/parse.js';
import type { Clock } from '../clock/clock.js';
import { statusDocument } from '../http/status.js';
import { HttpServer } from '../http/http-server.js';
import type { Logger, Sink } from '../log/diagnostics.js';
import { MasterService } from './master-service.js';
import { SlaveService } from './slave-service.js';

/** A running master or slave with whatever HTTP endpoint it serves; `close()` stops everything. */
export interface RunningNode {
  master?: MasterService;
  slave?: SlaveService;
  http?: HttpServer;
  close(): Promise<void>;
}

/** Starts the role the configuration asks for. */
export async function startNode(config: Config, deps: { clock: Clock; logger: Logger; events: Sink }): Promise<RunningNode> {
  if (config.role === 'slave') {
    const slave = await SlaveService.start(config, deps);
    return { slave, close: () => slave.close() };
  }
  const master = await MasterService.start(config, deps);
  let http: HttpServer | undefined;
  if (config.metricsAddr) {
    try {
      http = await HttpServer.start(config.metricsAddr, {
        '/status': () => ({ type: 'application/json', body: `${JSON.stringify(statusDocument(master.fleet.all(), master.drops.snapshot()))}\n` }),
        '/healthz': () => ({ type: 'text/plain', body: 'ok\n' }),
      });
    } catch (err) {
      await master.close();
      throw err;
    }
    deps.logger.info({ addr: formatHostPort(http.address), url: `http://${formatHostPort(http.address)}/status` }, 'http listening');
  }
  return {
    master,
    http,
    close: async () => {
      await http?.close();
      await master.close();
    },
  };
}
