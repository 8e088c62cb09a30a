/**
 * The fast lane: cheap work (saturn's check legs) handled at once on the main thread, no queue,
 * no batch. A reply is built at the instant of its send (`Outgoing.build(sentAt)`), so the time
 * written into it is the time it leaves; how long each datagram waited inside (receipt to send,
 * monotonic) is recorded.
 */
import type { Clock, Instant } from '../clock/clock.js';
import type { DurationHistogram } from './stats.js';
import type { Peer, UdpSocket } from './udp-socket.js';

/** A reply's bytes, or a function called with the instant of the send that returns them. */
export type Reply = Uint8Array | ((sentAt: Instant) => Uint8Array);

/** Sends a reply. */
export type FastSend = (to: Peer, reply: Reply) => void;

export interface FastLane {
  /** Runs on the main thread for each datagram routed here; must not throw for bad datagrams. */
  handle(datagram: Buffer, from: Peer, receivedAt: Instant, send: FastSend): void;
}

/** Stamps a reply with the clock read right before the send; returns whether the socket took it. */
export function sendStamped(
  socket: UdpSocket,
  clock: Clock,
  to: Peer,
  reply: Reply,
): { sent: boolean; sentAt: Instant } {
  const sentAt = clock.read();
  const bytes = typeof reply === 'function' ? reply(sentAt) : reply;
  return { sent: socket.send(bytes, to.port, to.address), sentAt };
}

/** The `send` handed to the fast lane's handler for one datagram: stamps, sends, records the hold. */
export function fastSendFor(
  socket: UdpSocket,
  clock: Clock,
  receivedAt: Instant,
  hold: DurationHistogram,
  onSent: () => void,
): FastSend {
  return (to, reply) => {
    const { sent, sentAt } = sendStamped(socket, clock, to, reply);
    if (!sent) return;
    onSent();
    hold.record(Number(sentAt.mono - receivedAt.mono));
  };
}
