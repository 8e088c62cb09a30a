import type { Instant, Nanos } from '../clock/clock.js';
import type { ErrorCode } from '../errors.js';
import { encodeMessage } from '../wire/codec.js';
import { type Envelope, HEADER_BYTES, MAX_DATAGRAM_BYTES } from '../wire/envelope.js';
import { MAC_BYTES, constantTimeEqual } from '../wire/mac.js';
import { type Message, NONCE_BYTES, type PeerResult, REPORT_MIN_BYTES, type Result } from '../wire/messages.js';
import { type RandomBytes, cryptoRandom, randomSessionId } from '../wire/random.js';
import { type Opened, openDatagram } from './open.js';
import type { Outgoing } from './outgoing.js';

/** How far a padded Report may end up beyond its target (a length prefix or two one byte longer). */
const PADDING_OVERSHOOT_BYTES = 4;

export type InitiatorOutcome =
  /** `keyId`: the key id the datagram's header claims, when the drop is about its key. */
  | { kind: 'drop'; code: ErrorCode; keyId?: number }
  | { kind: 'reply'; session: bigint; target: string; reply: Outgoing }
  | { kind: 'result'; session: bigint; target: string; result: Result };

export interface CheckInitiatorOptions {
  envelope: Envelope;
  nodeId: string;
  /** This node's check interval, ns, told to the responder in every Report (default 0: not said). */
  intervalNs?: number;
  /** Checks open at once (one per master and peer); the oldest is abandoned beyond it (default 16). */
  maxChecks?: number;
  random?: RandomBytes;
}

/** What a check carries besides its timestamps. */
export interface CheckOptions {
  /** Leg 0: peer results for a master (the mesh). */
  peerResults?: readonly PeerResult[];
  /**
   * Every Report is padded to this many datagram bytes at least (default REPORT_MIN_BYTES). A
   * responder never answers with more than a Report's size: a check that should bring back a
   * list of peers pads its Reports to leave room for it.
   */
  padToBytes?: number;
}

interface Check {
  session: bigint;
  /** Who the check is with (any stable key, e.g. host:port): cookies are per responder. */
  target: string;
  /** The responder already sent a cookie in this check (one is all it may take). */
  cookieTaken: boolean;
  /** Leg of the last Report sent. */
  leg: number;
  /** Nonce of the last Report sent; the responder's next message must echo it. */
  nonce: Uint8Array;
  /** The last Report's bytes, for retransmission after a loss. */
  lastSent: Uint8Array | undefined;
  options: CheckOptions;
}

/** Cookies kept (one per responder). */
const MAX_COOKIES = 64;

/**
 * The initiator's side of checks as a state machine: a slave runs it against its master(s) and,
 * with the mesh, against its peers, several checks at once, each known by its session id. It opens
 * a check, answers each Response with the next leg, and accepts the Result that echoes its last
 * nonce. A responder opens a check only with a cookie it minted for this initiator's address: the
 * initiator keeps, per responder, the one from the last Result for its next check, and when the
 * responder answers leg 0 with a fresh cookie instead (the first check, or the old one expired) it
 * opens again with that. No sockets, no clock reads.
 */
export class CheckInitiator {
  private readonly envelope: Envelope;
  private readonly random: RandomBytes;
  readonly nodeId: string;
  private readonly intervalNs: number;
  private readonly maxChecks: number;
  private readonly checks = new Map<bigint, Check>();
  /** Each responder's cookie for the next opening. */
  private readonly cookies = new Map<string, Uint8Array>();

  constructor(options: CheckInitiatorOptions) {
    this.envelope = options.envelope;
    this.nodeId = options.nodeId;
    this.intervalNs = options.intervalNs ?? 0;
    this.maxChecks = options.maxChecks ?? 16;
    this.random = options.random ?? cryptoRandom;
  }

  /** Whether check `session` is still waiting for its responder. */
  isOpen(session: bigint): boolean {
    return this.checks.has(session);
  }

  /** Checks open now. */
  get open(): number {
    return this.checks.size;
  }

  /** Opens a new check with `target`: leg 0, stamped by the edge at send. */
  start(target: string, clockSteps: number, options: CheckOptions = {}): { session: bigint; outgoing: Outgoing } {
    const check = this.openCheck(target, false, options);
    return { session: check.session, outgoing: this.report(check, new Uint8Array(0), 0n, clockSteps) };
  }

  /** Check `session`'s last Report again, byte for byte, after its responder went quiet (undefined if none). */
  retransmit(session: bigint): Uint8Array | undefined {
    return this.checks.get(session)?.lastSent;
  }

  /** Gives up on check `session` (timeout). */
  abandon(session: bigint): void {
    this.checks.delete(session);
  }

  /** Handles a datagram for this side (opens and decodes it first). */
  handle(datagram: Uint8Array, receivedAt: Instant, clockSteps: number): InitiatorOutcome {
    return this.handleOpened(openDatagram(this.envelope, datagram), receivedAt, clockSteps);
  }

  /** Handles an opened datagram (a node running both sides opens each datagram once). */
  handleOpened(opened: Opened, receivedAt: Instant, clockSteps: number): InitiatorOutcome {
    if (!opened.ok) return { kind: 'drop', code: opened.code, keyId: opened.keyId };
    return this.handleMessage(opened.message, receivedAt, clockSteps);
  }

  private handleMessage(message: Message, receivedAt: Instant, clockSteps: number): InitiatorOutcome {
    if (message.kind === 'report') return { kind: 'drop', code: 'SATURN_ERR_DECODE' };
    const check = this.checks.get(message.session);
    if (!check) return { kind: 'drop', code: 'SATURN_ERR_UNKNOWN_SESSION' };
    if (!constantTimeEqual(message.echo, check.nonce)) {
      // Either a copy of a message already answered, or a replay/forgery: never answered.
      return { kind: 'drop', code: 'SATURN_ERR_STALE_LEG' };
    }
    if (message.kind === 'cookie') {
      if (check.leg !== 0 || check.cookieTaken) return { kind: 'drop', code: 'SATURN_ERR_STALE_LEG' };
      this.keepCookie(check.target, message.cookie);
      this.checks.delete(check.session);
      const again = this.openCheck(check.target, true, check.options);
      return {
        kind: 'reply',
        session: again.session,
        target: check.target,
        reply: this.report(again, new Uint8Array(0), 0n, clockSteps),
      };
    }
    if (message.kind === 'result') {
      this.checks.delete(check.session);
      if (message.cookie.length > 0) this.keepCookie(check.target, message.cookie);
      return { kind: 'result', session: check.session, target: check.target, result: message };
    }
    if (message.leg !== check.leg || message.nonce.length !== NONCE_BYTES)
      return { kind: 'drop', code: 'SATURN_ERR_STALE_LEG' };
    check.leg++;
    check.nonce = this.random(NONCE_BYTES);
    return {
      kind: 'reply',
      session: check.session,
      target: check.target,
      reply: this.report(check, message.nonce, receivedAt.wall, clockSteps),
    };
  }

  private openCheck(target: string, cookieTaken: boolean, options: CheckOptions): Check {
    // One check per target at a time, and a bounded number in all: the oldest goes first.
    for (const [session, open] of this.checks) if (open.target === target) this.checks.delete(session);
    while (this.checks.size >= this.maxChecks) this.checks.delete(this.checks.keys().next().value!);
    const check: Check = {
      session: randomSessionId(this.random),
      target,
      cookieTaken,
      leg: 0,
      nonce: this.random(NONCE_BYTES),
      lastSent: undefined,
      options,
    };
    this.checks.set(check.session, check);
    return check;
  }

  private keepCookie(target: string, cookie: Uint8Array): void {
    this.cookies.delete(target);
    this.cookies.set(target, cookie);
    while (this.cookies.size > MAX_COOKIES) this.cookies.delete(this.cookies.keys().next().value!);
  }

  private report(check: Check, echo: Uint8Array, receivedAt: Nanos, clockSteps: number): Outgoing {
    const nonce = check.nonce;
    const leg = check.leg;
    const cookie = leg === 0 ? (this.cookies.get(check.target) ?? new Uint8Array(0)) : new Uint8Array(0);
    let peerResults = leg === 0 ? (check.options.peerResults ?? []) : [];
    // Never beyond what a responder reads (longer datagrams are dropped unread as long_packet);
    // padding may overshoot its target by the bytes a grown length prefix takes.
    const padTo =
      Math.min(
        MAX_DATAGRAM_BYTES - PADDING_OVERSHOOT_BYTES,
        Math.max(REPORT_MIN_BYTES, check.options.padToBytes ?? 0),
      ) -
      HEADER_BYTES -
      MAC_BYTES;
    return {
      build: (sentAt) => {
        const seal = () =>
          this.envelope.seal(
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
                peerResults,
              },
              padTo,
            ),
          );
        let bytes = seal();
        // Peer results that do not fit (long peer names) are left out, the oldest first; the rest
        // of them are reported with a later check while they are fresh.
        while (bytes.length > MAX_DATAGRAM_BYTES && peerResults.length > 0) {
          peerResults = peerResults.slice(1);
          bytes = seal();
        }
        check.lastSent = bytes;
        return bytes;
      },
    };
  }
}
