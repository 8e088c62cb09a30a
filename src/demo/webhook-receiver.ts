import { type Server, createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { Sink } from '../log/diagnostics.js';

/**
 * The demo's local webhook receiver: accepts every POST and prints one line per event it gets,
 * with the Idempotency-Key, so the demo shows the webhook path working end to end.
 */
export class DemoReceiver {
  private constructor(
    private readonly server: Server,
    readonly url: string,
  ) {}

  static start(out: Sink): Promise<DemoReceiver> {
    const server = createServer((req, res) => {
      let body = '';
      req
        .setEncoding('utf8')
        .on('data', (c: string) => (body += c))
        .on('end', () => {
          let summary = `${body.length} bytes`;
          try {
            const event = JSON.parse(body) as { event?: string; sequence?: number; node?: { id?: string } | null };
            summary = `#${event.sequence} ${event.event}${event.node?.id ? ` ${event.node.id}` : ''}`;
          } catch {
            // not JSON: the byte count says enough
          }
          out.write(`webhook receiver: got ${summary} (Idempotency-Key ${req.headers['idempotency-key'] ?? '-'})\n`);
          res.writeHead(204).end();
        });
    });
    return new Promise((resolve, reject) => {
      server.once('error', reject);
      server.listen(0, '127.0.0.1', () => {
        const { port } = server.address() as AddressInfo;
        resolve(new DemoReceiver(server, `http://127.0.0.1:${port}/events`));
      });
    });
  }

  close(): Promise<void> {
    return new Promise((resolve) => {
      this.server.closeAllConnections();
      this.server.close(() => resolve());
    });
  }
}
