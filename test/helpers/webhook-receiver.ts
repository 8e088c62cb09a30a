import { type IncomingMessage, type Server, createServer } from 'node:http';
import type { AddressInfo } from 'node:net';

/** One request the receiver saw, and what it answered. */
export interface Received {
  key: string | undefined;
  body: string;
  json: any;
  status: number;
}

/**
 * A local webhook receiver for tests (127.0.0.1 only). `answer` picks the status of each request;
 * a test changes it to simulate an outage (close() for connection refused, 503, then 200).
 */
export class WebhookReceiver {
  readonly requests: Received[] = [];
  answer: (req: IncomingMessage, body: string) => { status: number; headers?: Record<string, string> } = () => ({
    status: 200,
  });
  private server: Server | undefined;
  private readonly waiters = new Set<() => void>();
  port = 0;

  /** Listens on `port` (0: an ephemeral one, remembered for a restart on the same port). */
  async listen(port = this.port): Promise<this> {
    const server = createServer((req, res) => {
      let body = '';
      req
        .setEncoding('utf8')
        .on('data', (c: string) => (body += c))
        .on('end', () => {
          const { status, headers = {} } = this.answer(req, body);
          let json: unknown;
          try {
            json = JSON.parse(body);
          } catch {
            json = undefined;
          }
          this.requests.push({ key: req.headers['idempotency-key'] as string | undefined, body, json, status });
          res.writeHead(status, { 'content-type': 'text/plain', ...headers }).end('ok\n');
          for (const wake of this.waiters) wake();
        });
    });
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject);
      server.listen(port, '127.0.0.1', () => resolve());
    });
    this.server = server;
    this.port = (server.address() as AddressInfo).port;
    return this;
  }

  get url(): string {
    return `http://127.0.0.1:${this.port}/hook`;
  }

  /** Requests answered 2xx. */
  get accepted(): Received[] {
    return this.requests.filter((r) => r.status >= 200 && r.status < 300);
  }

  /** Resolves when `done()` holds after some request, or rejects after `timeoutMs`. */
  until(done: () => boolean, timeoutMs = 60_000, what = 'the receiver condition'): Promise<void> {
    return new Promise((resolve, reject) => {
      const check = () => {
        if (!done()) return;
        clearTimeout(timer);
        this.waiters.delete(check);
        resolve();
      };
      const timer = setTimeout(() => {
        this.waiters.delete(check);
        reject(new Error(`timed out after ${timeoutMs} ms waiting for ${what}; got ${this.requests.length} requests`));
      }, timeoutMs);
      this.waiters.add(check);
      check();
    });
  }

  /** Stops listening: connections to the port are refused until listen() again. */
  close(): Promise<void> {
    const server = this.server;
    this.server = undefined;
    if (!server) return Promise.resolve();
    return new Promise((resolve) => {
      server.closeAllConnections();
      server.close(() => resolve());
    });
  }
}
