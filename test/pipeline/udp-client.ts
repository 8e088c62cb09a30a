/** A loopback UDP client for tests: sends datagrams and collects whatever comes back. */
import { createSocket, type Socket } from 'node:dgram';

export class TestClient {
  readonly replies: Buffer[] = [];
  private waiters = new Set<() => void>();

  private constructor(private readonly socket: Socket) {
    socket.on('message', (reply) => {
      this.replies.push(reply);
      for (const wake of this.waiters) wake();
    });
  }

  static async open(): Promise<TestClient> {
    const socket = createSocket('udp4');
    await new Promise<void>((resolve) => socket.bind(0, '127.0.0.1', resolve));
    return new TestClient(socket);
  }

  /**
   * Sends one datagram and yields to the event loop, so a server in the same process reads it
   * before the next (otherwise a burst sent from microtasks overflows the server's receive buffer).
   */
  async send(datagram: Uint8Array, port: number): Promise<void> {
    await new Promise<void>((resolve, reject) =>
      this.socket.send(datagram, port, '127.0.0.1', (error) => (error ? reject(error) : resolve())),
    );
    await new Promise((resolve) => setImmediate(resolve));
  }

  /** Resolves once `count` replies have arrived, or rejects after `timeoutMs`. */
  waitForReplies(count: number, timeoutMs = 10_000): Promise<Buffer[]> {
    return new Promise((resolve, reject) => {
      const check = (): void => {
        if (this.replies.length >= count) {
          done();
          resolve(this.replies.slice(0, count));
        }
      };
      const timer = setTimeout(() => {
        done();
        reject(new Error(`got ${this.replies.length} of ${count} replies in ${timeoutMs} ms`));
      }, timeoutMs);
      const done = (): void => {
        clearTimeout(timer);
        this.waiters.delete(check);
      };
      this.waiters.add(check);
      check();
    });
  }

  close(): Promise<void> {
    return new Promise((resolve) => this.socket.close(() => resolve()));
  }
}

/** Resolves when `condition()` holds, checking after each turn of the event loop; rejects after `timeoutMs`. */
export async function until(condition: () => boolean, what: string, timeoutMs = 10_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!condition()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 2));
  }
}
