import type { Instant, Nanos } from '../clock/clock.js';
import type { ErrorCode } from '../errors.js';
import { decodeMessage, encodeMessage } from '../wire/codec.js';
import { type Envelope, HEADER_BYTES } from '../wire/envelope.js';
import { MAC_BYTES, constantTimeEqual } from '../wire/mac.js';
import { NONCE_BYTES, REPORT_MIN_BYTES, type Result } from '../wire/messages.js';
import { type RandomBytes, cryptoRandom, randomSessionId } from '../wire/random.js';
import type { Outgoing } from './outgoing.js';

export type InitiatorOutcome =
  /** `keyId`: the key id the datagram's header claims, when the drop is about its key. */
  | { kind: 'drop'; code: ErrorCode; keyId?: number }
  | { kind: 'reply'; reply: Outgoing }
  | { kind: 'result'; result: Result };

export interface CheckInitiatorOptions {
  envelope: Envelope;
  nodeId: string;
  /** This node's check interval, ns, told to the responder in every Report (default 0: not said). */
  intervalNs?: number;
  random?: RandomBytes;
}

/** Every Report's Packet is padded to this, so the datagram is REPORT_MIN_BYTES long at least. */
const REPORT_MIN_PACKET_BYTES = REPORT_MIN_BYTES - HEADER_BYTES - MAC_BYTES;

interface Check {
  session: bigint;
  /** The responder already sent a cookie in this check (one is all it may take). */
  cookieTaken: boolean;
  /** Leg of the last Report sent. */
  leg: number;
  /** Nonce of the last Report sent; the master's next message must echo it. */
  nonce: Uint8Array;
  /** The last Report's bytes, for retransmission after a loss. */
  lastSent: Uint8Array | undefined;
}

/**
 * The initiator's side of a check as a state machine (a slave runs it against its master): it
 * opens a check, answers each of the master's Responses with the next leg, and accepts the
 * Result that echoes its last nonce.
 * A responder opens a check only with a cookie it minted for this initiator's address: the
 * initiator keeps the one from the last Result for its next check, and when the responder
 * answers leg 0 with a fresh cookie instead (the first check, or the old one expired) it opens
 * again with that. One responder per initiator, then: the cookie is that responder's.
 * No sockets, no clock reads. One check at a time; starting one abandons the previous.
 */
export class CheckInitiator {
  private readonly envelope: Envelope;
  private readonly random: RandomBytes;
  readonly nodeId: string;
  private readonly intervalNs: number;
  private check: Check | undefined;
  /** The responder's cookie for the next opening (empty until it gave one). */
  private cookie: Uint8Array = new Uint8Array(0);

  constructor(options: CheckInitiatorOptions) {
    this.envelope = options.envelope;
    this.nodeId = options.nodeId;
    this.intervalNs = options.intervalNs ?? 0;
    this.random = options.random ?? cryptoRandom;
  }

  /** True while a check is waiting for the master. */
  get busy(): boolean {
    return this.check !== undefined;
  }

  /** Opens a new check: leg 0, stamped by the edge at send. */
  start(clockSteps: number): Outgoing {
    return this.open(false, clockSteps);
  }

  private open(cookieTaken: boolean, clockSteps: number): Outgoing {
    const check: Check = {
      session: randomSessionId(this.random),
      cookieTaken,
      leg: 0,
      nonce: this.random(NONCE_BYTES),
      lastSent: undefined,
    };
    this.check = check;
    return this.report(check, new Uint8Array(0), 0n, clockSteps);
  }

  /** The last Report again, byte for byte, after the master went quiet (undefined if none). */
  retransmit(): Uint8Array | undefined {
    return this.check?.lastSent;
  }

  /** Gives up on the current check (timeout). */
  abandon(): void {
    this.check = undefined;
  }

  handle(datagram: Uint8Array, receivedAt: Instant, clockSteps: number): InitiatorOutcome {
    const opened = this.envelope.open(datagram);
    if (!opened.ok) return { kind: 'drop', code: opened.code, keyId: opened.keyId };
    const message = decodeMessage(opened.payload);
    if (!message || message.kind === 'report') return { kind: 'drop', code: 'SATURN_ERR_DECODE' };
    const check = this.check;
    if (!check || message.session !== check.session) return { kind: 'drop', code: 'SATURN_ERR_UNKNOWN_SESSION' };
    if (!constantTimeEqual(message.echo, check.nonce)) {
      // Either a duplicate of a message already answered, or a replay/forgery: never answered.
      return { kind: 'drop', code: 'SATURN_ERR_STALE_LEG' };
    }
    if (message.kind === 'cookie') {
      if (check.leg !== 0 || check.cookieTaken) return { kind: 'drop', code: 'SATURN_ERR_STALE_LEG' };
      this.cookie = message.cookie;
      return { kind: 'reply', reply: this.open(true, clockSteps) };
    }
    if (message.kind === 'result') {
      this.check = undefined;
      if (message.cookie.length > 0) this.cookie = message.cookie;
      return { kind: 'result', result: message };
    }
    if (message.leg !== check.leg || message.nonce.length !== NONCE_BYTES)
      return { kind: 'drop', code: 'SATURN_ERR_STALE_LEG' };
    check.leg++;
    check.nonce = this.random(NONCE_BYTES);
    return { kind: 'reply', reply: this.report(check, message.nonce, receivedAt.wall, clockSteps) };
  }

  private report(check: Check, echo: Uint8Array, receivedAt: Nanos, clockSteps: number): Outgoing {
    const nonce = check.nonce;
    const leg = check.leg;
    const cookie = leg === 0 ? this.cookie : new Uint8Array(0);
    return {
      build: (sentAt) => {
        const bytes = this.envelope.seal(
          encodeMessage(
            {
              kind: 'report',
              session: check.session,
              leg,
              nonce,
              echo,
              nodeId: this.nodeId,
              receivedAt,
              sentAt: sentAt.wall,
              clockSteps,
              cookie,
              intervalNs: this.intervalNs,
            },
            REPORT_MIN_PACKET_BYTES,
          ),
        );
        check.lastSent = bytes;
        return bytes;
      },
    };
  }
}
