import { type IncomingMessage, type Server, type ServerResponse, createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { HostPort } from '../util/parse.js';

/** What a route answers: a status code, a content type and a body. */
export interface RouteAnswer {
  status?: number;
  type: string;
  body: string;
}

/** A route answers now or later (/metrics collects asynchronously). */
export type Route = () => RouteAnswer | Promise<RouteAnswer>;

/** The small HTTP edge for /status, /metrics and the dashboard: GET only, no framework. */
export class HttpServer {
  private constructor(
    private readonly server: Server,
    readonly address: HostPort,
  ) {}

  static start(addr: HostPort, routes: Record<string, Route>): Promise<HttpServer> {
    const server = createServer((req: IncomingMessage, res: ServerResponse) => {
      const path = (req.url ?? '/').split('?')[0]!;
      const route = routes[path];
      if (req.method !== 'GET' && req.method !== 'HEAD') {
        res.writeHead(405, { allow: 'GET, HEAD' }).end();
        return;
      }
      if (!route) {
        res.writeHead(404, { 'content-type': 'text/plain' }).end('not found\n');
        return;
      }
      Promise.resolve()
        .then(route)
        .then(
          ({ status = 200, type, body }) => {
            res
              .writeHead(status, { 'content-type': type, 'cache-control': 'no-store' })
              .end(req.method === 'HEAD' ? undefined : body);
          },
          (err: unknown) => {
            res.writeHead(500, { 'content-type': 'text/plain' }).end(`internal error: ${(err as Error).message}\n`);
          },
        );
    });
    return new Promise((resolve, reject) => {
      server.once('error', reject);
      server.listen(addr.port, addr.host, () => {
        server.off('error', reject);
        const bound = server.address() as AddressInfo;
        resolve(new HttpServer(server, { host: bound.address, port: bound.port }));
      });
    });
  }

  close(): Promise<void> {
    return new Promise((resolve) => {
      this.server.closeAllConnections?.();
      this.server.close(() => resolve());
    });
  }
}
