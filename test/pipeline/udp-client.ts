/** A loopback UDP client for tests: sends datagrams and collects whatever comes back. */
import { createSocket, type Socket } from 'node:dgram';
import { readFileSync } from 'node:fs';

/**
 * Datagrams the kernel dropped at the UDP socket bound to `port` on 127.0.0.1 because its
 * receive buffer was full (the `drops` column of /proc/net/udp); undefined where there is no
 * such file. A test that misses replies says whether they were lost here, at the receiver, or
 * never sent.
 */
export function kernelDrops(port: number): number | undefined {
  let table: string;
  try {
    table = readFileSync('/proc/net/udp', 'utf8');
  } catch {
    return undefined;
  }
  const local = `0100007F:${port.toString(16).toUpperCase().padStart(4, '0')}`;
  for (const line of table.split('\n').slice(1)) {
    const fields = line.trim().split(/\s+/);
    if (fields[1] === local) return Number(fields[12]);
  }
  return undefined;
}

const RECEIVE_BUFFER_BYTES = 4 * 1024 * 1024;

export class TestClient {
  readonly replies: Buffer[] = [];
  private waiters = new Set<() => void>();

  private constructor(private readonly socket: Socket) {
    socket.on('message', (reply) => {
      this.replies.push(reply);
      for (const wake of this.waiters) wake();
    });
  }

  /** The client's own port. */
  get port(): number {
    return this.socket.address().port;
  }

  /**
   * Opens a client on an ephemeral loopback port. Its receive buffer is as large as the kernel
   * allows (up to 4 MiB): a burst of replies that arrives while this process is busy must wait in
   * it, or the kernel drops it (the default, ~200 KiB, holds only ~100 Roughtime replies).
   */
  static async open(): Promise<TestClient> {
    const socket = createSocket('udp4');
    await new Promise<void>((resolve) => socket.bind(0, '127.0.0.1', resolve));
    try {
      socket.setRecvBufferSize(RECEIVE_BUFFER_BYTES);
    } catch {
      // The kernel caps it; sending in windows (sendWindowed) keeps bursts small anyway.
    }
    return new TestClient(socket);
  }

  /**
   * Sends every datagram, never more than `window` ahead of the replies received (a closed loop,
   * as a real client population is): replies in flight then always fit the receive buffer.
   * Every datagram must be answered, or this waits until `waitForReplies` gives up.
   */
  async sendWindowed(datagrams: readonly Uint8Array[], port: number, window = 32): Promise<Buffer[]> {
    const before = this.replies.length;
    for (let i = 0; i < datagrams.length; i++) {
      if (i >= window) await this.waitForReplies(before + i - window + 1);
      await this.send(datagrams[i]!, port);
    }
    return (await this.waitForReplies(before + datagrams.length)).slice(before);
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
        const drops = kernelDrops(this.port);
        reject(
          new Error(
            `got ${this.replies.length} of ${count} replies in ${timeoutMs} ms` +
              (drops === undefined ? '' : `; the kernel dropped ${drops} datagram(s) at this client's socket`),
          ),
        );
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
