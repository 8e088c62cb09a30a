import { createHash } from 'node:crypto';
import { type IncomingMessage, type Server, type ServerResponse, createServer } from 'node:http';
import { createServer as createTlsServer } from 'node:https';
import type { AddressInfo } from 'node:net';
import type { TLSSocket } from 'node:tls';
import { Worker } from 'node:worker_threads';
import type { CompareAnswer, CompareRequest } from './bcrypt-worker.js';
import type { HostPort } from '../util/parse.js';
import type { ClientAuthType, WebConfig } from './web-config.js';

/** What a route answers: a status code, a content type and a body (text, bytes, or bytes in chunks, in order). */
export interface RouteAnswer {
  status?: number;
  type: string;
  body: string | Uint8Array | readonly Uint8Array[];
}

/** A route answers now or later (/metrics collects asynchronously). */
export type Route = () => RouteAnswer | Promise<RouteAnswer>;

/**
 * Compared against when the user is unknown, so that an unknown user costs what a wrong password
 * does and timing does not tell which user names exist (exporter-toolkit does the same).
 */
const DUMMY_HASH = '$2b$10$4guk1hjLLF7.kb5EPbl6..Ee/krOMcXzzguK4CkUCzMfcyIsowJES';

/**
 * Most connections the HTTP port holds at once; further ones are closed as they arrive. Without a
 * cap, clients that open connections and never finish a request (slowloris) hold a file descriptor
 * each until the header timeout, and enough of them leave the node none for its state dir, webhooks
 * or a key file reload. Scrapers, dashboards and `saturn status` need a handful.
 */
export const MAX_HTTP_CONNECTIONS = 512;

/** Successful logins remembered (by a hash of user, password and bcrypt hash), so a scrape does not cost a bcrypt. */
const AUTH_CACHE_SIZE = 100;

/**
 * The small HTTP edge for /status, /metrics and the dashboard: GET only, no framework. With a web
 * config (`--web-config`, exporter-toolkit's format) it speaks TLS and asks for basic auth.
 */
export class HttpServer {
  private constructor(
    private readonly server: Server,
    readonly address: HostPort,
    private readonly passwords: PasswordWorker | undefined,
  ) {}

  static start(addr: HostPort, routes: Record<string, Route>, web?: WebConfig): Promise<HttpServer> {
    const passwords = web && web.basicAuthUsers.size > 0 ? new PasswordWorker() : undefined;
    const authorized = passwords ? basicAuth(web!.basicAuthUsers, passwords) : undefined;
    const handler = (req: IncomingMessage, res: ServerResponse) => {
      for (const [name, value] of Object.entries(web?.headers ?? {})) res.setHeader(name, value);
      if (web?.tls && !clientCertificateOk(web.tls.clientAuth, req.socket as TLSSocket)) {
        res.writeHead(403, { 'content-type': 'text/plain' }).end('a client certificate is required\n');
        return;
      }
      if (!authorized) {
        answer(req, res, routes);
        return;
      }
      authorized(req.headers.authorization).then(
        (ok) => {
          if (ok) answer(req, res, routes);
          else res.writeHead(401, { 'www-authenticate': 'Basic', 'content-type': 'text/plain' }).end('Unauthorized\n');
        },
        () => res.writeHead(500, { 'content-type': 'text/plain' }).end('internal error\n'),
      );
    };
    const tls = web?.tls;
    const server = tls
      ? createTlsServer(
          {
            cert: tls.cert,
            key: tls.key,
            minVersion: tls.minVersion,
            maxVersion: tls.maxVersion,
            honorCipherOrder: tls.honorCipherOrder,
            requestCert: tls.clientAuth !== 'NoClientCert',
            rejectUnauthorized: tls.clientAuth === 'RequireAndVerifyClientCert',
            ca: tls.clientCa,
          },
          handler,
        )
      : createServer(handler);
    server.maxConnections = MAX_HTTP_CONNECTIONS;
    return new Promise((resolve, reject) => {
      server.once('error', (err) => {
        void passwords?.close();
        reject(err);
      });
      server.listen(addr.port, addr.host, () => {
        server.removeAllListeners('error');
        const bound = server.address() as AddressInfo;
        resolve(new HttpServer(server, { host: bound.address, port: bound.port }, passwords));
      });
    });
  }

  async close(): Promise<void> {
    await new Promise<void>((resolve) => {
      this.server.closeAllConnections?.();
      this.server.close(() => resolve());
    });
    await this.passwords?.close();
  }
}

function answer(req: IncomingMessage, res: ServerResponse, routes: Record<string, Route>): void {
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
        // The length a GET would carry, also on a HEAD (which sends no body).
        const length =
          typeof body === 'string'
            ? Buffer.byteLength(body)
            : body instanceof Uint8Array
              ? body.byteLength
              : body.reduce((sum, chunk) => sum + chunk.byteLength, 0);
        res.writeHead(status, { 'content-type': type, 'content-length': length, 'cache-control': 'no-store' });
        if (req.method === 'HEAD') res.end();
        else if (typeof body === 'string' || body instanceof Uint8Array) res.end(body);
        else {
          for (const chunk of body) res.write(chunk);
          res.end();
        }
      },
      (err: unknown) => {
        res.writeHead(500, { 'content-type': 'text/plain' }).end(`internal error: ${(err as Error).message}\n`);
      },
    );
}

/**
 * The client-certificate rules Node's TLS options cannot express alone: RequireAnyClientCert
 * wants a certificate, verified or not; VerifyClientCertIfGiven refuses one that does not verify.
 */
function clientCertificateOk(type: ClientAuthType, socket: TLSSocket): boolean {
  if (type === 'RequireAnyClientCert') return Object.keys(socket.getPeerCertificate?.() ?? {}).length > 0;
  if (type === 'VerifyClientCertIfGiven')
    return Object.keys(socket.getPeerCertificate?.() ?? {}).length === 0 || socket.authorized;
  return true;
}

/**
 * bcrypt comparisons on a worker thread (bcrypt-worker.ts), one at a time in order of arrival. On
 * the main thread, bcryptjs runs up to 100 ms between yields: a burst of wrong passwords kept the
 * event loop busy throughout and the checks' legs waited (20 clients sending wrong passwords cut
 * the master's checks of two slaves at 200 ms from 149 to 8 in 15 s). The queue is bounded by the
 * port's connections. The worker does not keep the process alive.
 */
export class PasswordWorker {
  private worker: Worker | undefined;
  private readonly pending = new Map<number, (ok: boolean) => void>();
  private nextId = 1;
  private closed = false;

  /** Whether `password` matches the bcrypt `hash`; false once closed. */
  compare(password: string, hash: string): Promise<boolean> {
    if (this.closed) return Promise.resolve(false);
    const id = this.nextId++;
    return new Promise((resolve) => {
      this.pending.set(id, resolve);
      this.running().postMessage({ id, password, hash } satisfies CompareRequest);
    });
  }

  async close(): Promise<void> {
    this.closed = true;
    await this.worker?.terminate();
  }

  /** The worker, started again if the last one ended (an error there refuses what it held, never hangs it). */
  private running(): Worker {
    if (this.worker !== undefined) return this.worker;
    const worker = new Worker(new URL('./bcrypt-worker.js', import.meta.url));
    worker.unref();
    worker.on('message', ({ id, ok }: CompareAnswer) => {
      const done = this.pending.get(id);
      this.pending.delete(id);
      done?.(ok);
    });
    // An uncaught error ends the worker: 'exit' follows, and refuses what it held.
    worker.on('error', () => {});
    worker.on('exit', () => {
      if (this.worker === worker) this.worker = undefined;
      for (const done of this.pending.values()) done(false);
      this.pending.clear();
    });
    this.worker = worker;
    return worker;
  }
}

/**
 * Checks an Authorization header against the users' bcrypt hashes (on the password worker, so the
 * event loop, and with it every check's legs, keeps running during a hash). Successes are cached
 * by a SHA-256 of user, password and hash, never the password itself.
 */
function basicAuth(
  users: ReadonlyMap<string, string>,
  passwords: PasswordWorker,
): (header: string | undefined) => Promise<boolean> {
  const cache = new Set<string>();
  return async (header) => {
    const match = /^Basic\s+([A-Za-z0-9+/=]+)\s*$/i.exec(header ?? '');
    if (!match) return false;
    const decoded = Buffer.from(match[1]!, 'base64').toString('utf8');
    const colon = decoded.indexOf(':');
    if (colon < 0) return false;
    const user = decoded.slice(0, colon);
    const password = decoded.slice(colon + 1);
    const hash = users.get(user);
    const cacheKey = createHash('sha256')
      .update(`${user}\0${password}\0${hash ?? ''}`)
      .digest('hex');
    if (hash !== undefined && cache.has(cacheKey)) return true;
    const ok = (await passwords.compare(password, hash ?? DUMMY_HASH)) && hash !== undefined;
    if (ok) {
      if (cache.size >= AUTH_CACHE_SIZE) cache.delete(cache.values().next().value as string);
      cache.add(cacheKey);
    }
    return ok;
  };
}
