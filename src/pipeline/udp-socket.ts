/**
 * The pipeline's dgram edge and its sender: binds, reads the clock first thing in the 'message'
 * callback, and sends. It can stop delivering datagrams while it still sends (so shutdown can
 * drain replies), bounds the kernel/libuv send queue (a reply that would exceed it is shed and
 * counted, memory never grows), and sends without a per-datagram callback closure (measured: the
 * callback costs a nextTick per datagram on the hot path).
 */
import { type Socket, createSocket } from 'node:dgram';
import { type LookupOneOptions, lookup } from 'node:dns';
import { isIP } from 'node:net';
import { performance } from 'node:perf_hooks';
import type { Clock, Instant } from '../clock/clock.js';

/** Where a datagram came from / goes to. */
export interface Peer {
  readonly address: string;
  readonly port: number;
}

export type ReceiveHandler = (datagram: Buffer, from: Peer, receivedAt: Instant) => void;

export interface UdpSocketOptions {
  /** Datagrams the socket may hold unsent before replies are shed (default 4096). */
  readonly maxSendQueue?: number;
  /** SO_RCVBUF to ask for, bytes (default: the system's). */
  readonly receiveBufferBytes?: number;
  /**
   * Called once after each burst of datagrams, when the socket has none left waiting: libuv
   * reads every ready datagram in one poll phase, delivering each at once, and this runs right
   * after that phase (setImmediate: an I/O phase, not a timer).
   */
  readonly onDrained?: () => void;
}

/**
 * The socket's resolver: an IP literal (every reply goes to one) is its own answer, given at once;
 * a name goes to dns.lookup. dns.lookup answers even a literal on the next tick, which put a
 * nextTick and a closure on every send.
 */
function literalLookup(
  hostname: string,
  options: LookupOneOptions,
  callback: (err: NodeJS.ErrnoException | null, address: string, family: number) => void,
): void {
  const family = isIP(hostname);
  if (family !== 0) callback(null, hostname, family);
  else lookup(hostname, options, callback);
}

export class UdpSocket {
  private receiving = true;
  /** Replies not sent because the send queue was full. */
  sendShed = 0;
  /** Send errors reported by the socket (unreachable peers and the like). */
  sendErrors = 0;

  private constructor(
    private readonly socket: Socket,
    readonly address: { readonly host: string; readonly port: number },
    private readonly maxSendQueue: number,
  ) {}

  /** Binds `host:port` (port 0 picks a free one) and delivers datagrams to `onDatagram`. */
  static bind(
    addr: { host: string; port: number },
    clock: Clock,
    onDatagram: ReceiveHandler,
    options: UdpSocketOptions = {},
  ): Promise<UdpSocket> {
    const socket = createSocket({ type: isIP(addr.host) === 6 ? 'udp6' : 'udp4', lookup: literalLookup });
    return new Promise((resolve, reject) => {
      socket.once('error', reject);
      socket.bind(addr.port, addr.host, () => {
        socket.off('error', reject);
        const bound = socket.address();
        const edge = new UdpSocket(socket, { host: bound.address, port: bound.port }, options.maxSendQueue ?? 4096);
        socket.on('error', () => void edge.sendErrors++);
        if (options.receiveBufferBytes !== undefined) {
          try {
            socket.setRecvBufferSize(options.receiveBufferBytes);
          } catch {
            // The kernel caps it (net.core.rmem_max); the default still works.
          }
        }
        const onDrained = options.onDrained;
        let burst = false;
        const endOfBurst = (): void => {
          burst = false;
          if (edge.receiving) onDrained!();
        };
        socket.on('message', (datagram, from) => {
          const receivedAt = clock.read();
          // RemoteInfo is a Peer (address, port) with more fields the pipeline does not pass on.
          if (edge.receiving) onDatagram(datagram, from, receivedAt);
          if (onDrained !== undefined && !burst) {
            burst = true;
            setImmediate(endOfBurst);
          }
        });
        resolve(edge);
      });
    });
  }

  /** Sends one datagram unless the send queue is full (then it is shed and counted); never throws. */
  send(datagram: Uint8Array, port: number, address: string): boolean {
    if (this.socket.getSendQueueCount() >= this.maxSendQueue) {
      this.sendShed++;
      return false;
    }
    try {
      this.socket.send(datagram, port, address);
      return true;
    } catch {
      this.sendErrors++;
      return false;
    }
  }

  /** Stops delivering datagrams (they are read and discarded); sending still works. */
  stopReceiving(): void {
    this.receiving = false;
  }

  /** Datagrams handed to the socket but not yet on the wire. */
  sendQueueCount(): number {
    try {
      return this.socket.getSendQueueCount();
    } catch {
      return 0;
    }
  }

  /** Waits (bounded by `timeoutMs`) for queued sends to leave, then closes the socket. */
  async close(timeoutMs = 2000): Promise<void> {
    this.receiving = false;
    const deadline = performance.now() + timeoutMs;
    while (this.sendQueueCount() > 0 && performance.now() < deadline)
      await new Promise((resolve) => setTimeout(resolve, 1));
    await new Promise<void>((resolve) => {
      try {
        this.socket.close(() => resolve());
      } catch {
        resolve();
      }
    });
  }
}
