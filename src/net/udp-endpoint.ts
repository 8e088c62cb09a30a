import { type RemoteInfo, type Socket, createSocket } from 'node:dgram';
import { isIP } from 'node:net';
import type { HostPort } from '../util/parse.js';
import type { Clock, Nanos } from '../clock/clock.js';

/** Called for every datagram with the instant it was taken off the socket. */
export type DatagramHandler = (datagram: Buffer, from: RemoteInfo, receivedAt: Nanos) => void;

/**
 * The dgram edge: the only place a datagram's arrival is timestamped. The clock is read first
 * thing in the 'message' callback, before any parsing, and the instant passed down.
 */
export class UdpEndpoint {
  private constructor(
    private readonly socket: Socket,
    readonly address: HostPort,
  ) {}

  /** Binds a socket on `addr` (port 0 picks a free one) and delivers datagrams to `onDatagram`. */
  static bind(addr: HostPort, clock: Clock, onDatagram: DatagramHandler): Promise<UdpEndpoint> {
    const socket = createSocket({ type: isIP(addr.host) === 6 ? 'udp6' : 'udp4' });
    socket.on('message', (datagram, from) => onDatagram(datagram, from, clock.now()));
    return new Promise((resolve, reject) => {
      socket.once('error', reject);
      socket.bind(addr.port, addr.host, () => {
        socket.off('error', reject);
        // Errors after bind (e.g. ICMP unreachable reported on send) must not crash the process.
        socket.on('error', () => {});
        const bound = socket.address();
        resolve(new UdpEndpoint(socket, { host: bound.address, port: bound.port }));
      });
    });
  }

  /**
   * Sends a datagram. No completion callback: with one, Node schedules an extra callback per
   * datagram; failures (unreachable peer, closed socket) surface as socket 'error' events,
   * which are ignored, as UDP loss is.
   */
  send(datagram: Uint8Array, to: HostPort): void {
    try {
      this.socket.send(datagram, to.port, to.host);
    } catch {
      // The socket is closing: the datagram is lost, as on a network.
    }
  }

  close(): Promise<void> {
    return new Promise((resolve) => {
      try {
        this.socket.close(() => resolve());
      } catch {
        resolve();
      }
    });
  }
}
