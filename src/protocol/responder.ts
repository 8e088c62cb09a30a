import type { Instant, Nanos, OffsetNs } from '../clock/clock.js';
import type { ErrorCode } from '../errors.js';
import { type CheckOutcome, estimateCheck } from '../estimate/check.js';
import { type Sample, sampleFrom } from '../estimate/sample.js';
import { TokenBuckets } from '../util/rate-limit.js';
import { encodeMessage } from '../wire/codec.js';
import type { Envelope } from '../wire/envelope.js';
import { constantTimeEqual } from '../wire/mac.js';
import { NONCE_BYTES, type PeerAddress, type PeerResult, REPORT_MIN_BYTES, type Report } from '../wire/messages.js';
import { type Opened, openDatagram } from './open.js';
import { type RandomBytes, cryptoRandom } from '../wire/random.js';
import { CookieJar, type CookieJarOptions } from './cookies.js';
import type { Outgoing } from './outgoing.js';
import { SessionTable, type SessionTableOptions } from './session-table.js';

/** Every reason the responder (and its envelope) drops a datagram for: counters start at 0 for each. */
export const RESPONDER_DROP_CODES: readonly ErrorCode[] = [
  'SATURN_ERR_SHORT_PACKET',
  'SATURN_ERR_LONG_PACKET',
  'SATURN_ERR_BAD_VERSION',
  'SATURN_ERR_UNKNOWN_KEY',
  'SATURN_ERR_BAD_MAC',
  'SATURN_ERR_DECODE',
  'SATURN_ERR_UNKNOWN_SESSION',
  'SATURN_ERR_STALE_LEG',
  'SATURN_ERR_BAD_ECHO',
  'SATURN_ERR_DUPLICATE',
  'SATURN_ERR_REPLAY',
  'SATURN_ERR_RATE_LIMITED',
  'SATURN_ERR_FLEET_FULL',
  'SATURN_ERR_NAME_TAKEN',
];

/** Peer results taken from one leg 0, and peers sent in one Result, at most. */
export const MAX_PEER_RESULTS = 16;
const MAX_PEERS_IN_RESULT = 16;

/** Samples per check when the options do not say (--rounds). */
export const DEFAULT_ROUNDS = 5;

/** Longest node id (--name) accepted, in UTF-16 code units. */
export const MAX_NODE_ID_LENGTH = 255;

/** One finished check, handed to whoever keeps per-node history (the Fleet). */
export interface FinishedCheck {
  nodeId: string;
  ip: string;
  port: number;
  /** The slave's check interval as it said in leg 0, ns (0: not said). */
  intervalNs: number;
  /** When the last leg was received. */
  at: Instant;
  /** What the initiator reported in leg 0 about the peers it checked (the mesh); empty when none. */
  peerResults: readonly PeerResult[];
  /** Peer results leg 0 carried beyond MAX_PEER_RESULTS, not taken: the master counts each as a drop (0 when absent). */
  peerResultsOver?: number;
  /** The check's samples in order (for diagnostics and the accuracy bench). */
  samples: readonly Sample[];
  outcome: CheckOutcome | { ok: false; code: 'SATURN_ERR_CLOCK_STEP' | 'SATURN_ERR_STALLED'; detail: string };
}

/** What the master tells the slave at the end of a check (usually the node's combined estimate). */
export interface Verdict {
  offsetNs: OffsetNs;
  errorNs: number;
  rttNs: number;
  samples: number;
}

export type ResponderOutcome =
  /** `keyId`: the key id the datagram's header claims, when the drop is about its key. */
  | { kind: 'drop'; code: ErrorCode; keyId?: number }
  | { kind: 'reply'; reply: Outgoing; duplicate?: boolean }
  /** The last leg: the caller folds the check into its history and concludes with a verdict. */
  | {
      kind: 'finished';
      finished: FinishedCheck;
      /**
       * The Result: the verdict, and from a master the peers the initiator checks next (as many as
       * fit); without a verdict, `refusal` says why (else the check's own failure, if any).
       */
      conclude(verdict: Verdict | undefined, peers?: readonly PeerAddress[], refusal?: string): Outgoing;
    };

/** The default of CheckResponderOptions.sourceRate: checks one source may open per second. */
export const DEFAULT_SOURCE_RATE = 50;

export interface CheckResponderOptions extends SessionTableOptions {
  envelope: Envelope;
  /** This node's name, told in every Result (who was measured). */
  nodeId?: string;
  /**
   * Checks one source (an IPv4 address, or an IPv6 /64) may open per second, with bursts of
   * twice this (default 50: room for a few hundred slaves behind one NAT at a 10 s interval).
   */
  sourceRate?: number;
  /** Whether a node, checking from ip:port, may open a check (the master bounds its fleet); default: every node may. */
  admit?: (nodeId: string, ip: string, port: number) => boolean;
  cookies?: CookieJarOptions;
  /** Samples per check (default 5). */
  rounds?: number;
  /** The two clocks' combined resolution, widening every sample's interval (default 2 µs). */
  resolutionNs?: number;
  /**
   * Longest a leg may wait inside either process (slave: receive to send, t3 − t2; master: receive
   * to send of the next Response) before the check is discarded as stalled (default 50 ms).
   */
  maxHoldNs?: number;
  random?: RandomBytes;
}

interface Session {
  /** Monotonic receipt of the last fresh leg (the session table's idle clock). */
  activeAt: Nanos;
  /** The address of the last fresh leg: copies of a leg are answered only there. */
  ip: string;
  port: number;
  /** The key the initiator sealed leg 0 with; replies are sealed with it. */
  keyId: number;
  nodeId: string;
  intervalNs: number;
  peerResults: readonly PeerResult[];
  /** Peer results leg 0 carried beyond MAX_PEER_RESULTS (not taken). */
  peerResultsOver: number;
  /** The leg the next fresh Report must carry. */
  expectedLeg: number;
  /** Bytes 0-15: the nonce of the last Report processed (to recognise its copies); 16-31: the nonce of the last Response sent (the next Report must echo it). */
  nonces: Uint8Array;
  /** When that Response was first sent (t1 of the next sample). */
  sentAt: Nanos | undefined;
  /** The bytes of the last reply, answered again to copies from the session's address. */
  cachedReply: Uint8Array | undefined;
  samples: Sample[];
  masterSteps: number;
  slaveSteps: number;
  stepped: boolean;
  /** Why the check is void because a leg waited too long in a process, if it did. */
  stalled: string | undefined;
  done: boolean;
}

const NO_PEER_RESULTS: readonly PeerResult[] = Object.freeze([]);

/** The default of CheckResponderOptions.maxHoldNs. */
export const DEFAULT_MAX_HOLD_NS = 50_000_000;

/**
 * The responder's side of a check as a state machine (the master runs it for every slave; any
 * node can run it for whoever checks it): (datagram, source, receive time) in, a reply to stamp
 * and send out. No sockets, no clock reads.
 *
 * Before any work a Report must be at least REPORT_MIN_BYTES long (so no reply is larger than
 * the Report that caused it) and pass the envelope's key-free checks; then the MAC. A new check
 * opens only with a cookie minted for its source address (see cookies.ts): without one it gets a
 * cookie and no session; a copy of an opening is a replay. Each source may open `sourceRate`
 * checks a second, and `admit` may refuse a node (the master's bound on its fleet).
 */
export class CheckResponder {
  private readonly envelope: Envelope;
  private readonly nodeId: string;
  private readonly rounds: number;
  private readonly resolutionNs: number;
  private readonly maxHoldNs: number;
  private readonly random: RandomBytes;
  private readonly admit: (nodeId: string, ip: string, port: number) => boolean;
  private readonly cookies: CookieJar;
  private readonly openings: TokenBuckets<string>;
  readonly sessions: SessionTable<Session>;
  /** Openings answered with a cookie instead of a session (none yet, expired, or another address). */
  cookiesSent = 0;

  constructor(options: CheckResponderOptions) {
    this.envelope = options.envelope;
    this.nodeId = options.nodeId ?? '';
    this.rounds = options.rounds ?? DEFAULT_ROUNDS;
    if (!Number.isInteger(this.rounds) || this.rounds < 1 || this.rounds > 64) {
      throw new RangeError(`rounds must be an integer from 1 to 64, got ${options.rounds}`);
    }
    this.resolutionNs = options.resolutionNs ?? 2_000;
    this.maxHoldNs = options.maxHoldNs ?? DEFAULT_MAX_HOLD_NS;
    if (!(this.maxHoldNs > 0)) throw new RangeError(`maxHoldNs must be > 0, got ${options.maxHoldNs}`);
    this.random = options.random ?? cryptoRandom;
    this.admit = options.admit ?? (() => true);
    this.cookies = new CookieJar({ random: this.random, ...options.cookies });
    const rate = options.sourceRate ?? DEFAULT_SOURCE_RATE;
    this.openings = new TokenBuckets({ ratePerSecond: rate, burst: 2 * rate });
    this.sessions = new SessionTable<Session>(options);
  }

  /**
   * Handles one datagram. `masterSteps` is the local clock's step counter at receipt: a change
   * during a check means the master's own timestamps are not comparable, and the check is discarded.
   */
  handle(datagram: Uint8Array, ip: string, port: number, receivedAt: Instant, masterSteps: number): ResponderOutcome {
    if (datagram.length < REPORT_MIN_BYTES) return { kind: 'drop', code: 'SATURN_ERR_SHORT_PACKET' };
    return this.handleOpened(openDatagram(this.envelope, datagram), datagram.length, ip, port, receivedAt, masterSteps);
  }

  /**
   * Handles an opened Report of `datagramBytes` (a node running both sides opens each datagram
   * once; the caller has checked REPORT_MIN_BYTES).
   */
  handleOpened(
    opened: Opened,
    datagramBytes: number,
    ip: string,
    port: number,
    receivedAt: Instant,
    masterSteps: number,
  ): ResponderOutcome {
    if (datagramBytes < REPORT_MIN_BYTES) return { kind: 'drop', code: 'SATURN_ERR_SHORT_PACKET' };
    if (!opened.ok) return { kind: 'drop', code: opened.code, keyId: opened.keyId };
    const message = opened.message;
    if (message.kind !== 'report') return { kind: 'drop', code: 'SATURN_ERR_DECODE' };
    if (message.nonce.length !== NONCE_BYTES) return { kind: 'drop', code: 'SATURN_ERR_DECODE' };
    // The node id names the slave in logs, alerts and metrics: it must be a sensible name.
    if (message.nodeId.length === 0 || message.nodeId.length > MAX_NODE_ID_LENGTH)
      return { kind: 'drop', code: 'SATURN_ERR_DECODE' };

    const session = this.sessions.get(message.session, receivedAt.mono);
    if (!session) {
      if (message.leg !== 0) return { kind: 'drop', code: 'SATURN_ERR_UNKNOWN_SESSION' };
      return this.open(message, opened.keyId, ip, port, receivedAt, masterSteps);
    }
    if (message.nodeId !== session.nodeId) return { kind: 'drop', code: 'SATURN_ERR_STALE_LEG' };
    if (message.leg === session.expectedLeg - 1 && constantTimeEqual(message.nonce, session.nonces.subarray(0, 16))) {
      // A copy (network duplication or a retransmission) is answered with the same bytes, and t1
      // keeps the first send, which can only widen the next sample's interval. Only to the
      // session's own address: a copy captured and replayed from elsewhere gets nothing.
      if (ip !== session.ip || port !== session.port) return { kind: 'drop', code: 'SATURN_ERR_REPLAY' };
      const bytes = session.cachedReply;
      if (!bytes) return { kind: 'drop', code: 'SATURN_ERR_DUPLICATE' };
      return { kind: 'reply', reply: { build: () => bytes }, duplicate: true };
    }
    if (message.leg === 0) return { kind: 'drop', code: 'SATURN_ERR_REPLAY' };
    if (session.done || message.leg !== session.expectedLeg) return { kind: 'drop', code: 'SATURN_ERR_STALE_LEG' };
    if (!constantTimeEqual(message.echo, session.nonces.subarray(16)))
      return { kind: 'drop', code: 'SATURN_ERR_BAD_ECHO' };
    session.ip = ip;
    session.port = port;
    this.sessions.touch(message.session, session, receivedAt.mono);
    return this.advance(session, message, datagramBytes, ip, port, receivedAt, masterSteps);
  }

  private open(
    report: Report,
    keyId: number,
    ip: string,
    port: number,
    receivedAt: Instant,
    masterSteps: number,
  ): ResponderOutcome {
    const verdict = this.cookies.check(report.cookie, ip, report.session, receivedAt.mono);
    if (!verdict.ok && verdict.code === 'replay') return { kind: 'drop', code: 'SATURN_ERR_REPLAY' };
    if (!verdict.ok) {
      // No session and nothing remembered: a Cookie (smaller than the padded Report) and the
      // initiator opens again with it.
      this.cookiesSent++;
      const bytes = this.envelope.seal(
        encodeMessage({
          kind: 'cookie',
          session: report.session,
          echo: report.nonce,
          cookie: this.cookies.mint(ip, receivedAt.mono),
        }),
        keyId,
      );
      return { kind: 'reply', reply: { build: () => bytes } };
    }
    if (!this.openings.take(sourceOf(ip), receivedAt.mono)) return { kind: 'drop', code: 'SATURN_ERR_RATE_LIMITED' };
    if (!this.admit(report.nodeId, ip, port)) return { kind: 'drop', code: 'SATURN_ERR_FLEET_FULL' };
    this.cookies.remember(report.session, verdict.generation, receivedAt.mono);
    const nonces = new Uint8Array(2 * NONCE_BYTES);
    nonces.set(report.nonce, 0);
    nonces.set(this.random(NONCE_BYTES), NONCE_BYTES);
    const session: Session = {
      activeAt: receivedAt.mono,
      ip,
      port,
      keyId,
      nodeId: report.nodeId,
      intervalNs: report.intervalNs,
      peerResults: report.peerResults.slice(0, MAX_PEER_RESULTS),
      peerResultsOver: Math.max(0, report.peerResults.length - MAX_PEER_RESULTS),
      expectedLeg: 1,
      nonces,
      sentAt: undefined,
      cachedReply: undefined,
      samples: [],
      masterSteps,
      slaveSteps: report.clockSteps,
      stepped: false,
      stalled: undefined,
      done: false,
    };
    this.sessions.add(report.session, session, receivedAt.mono);
    return { kind: 'reply', reply: this.responseTo(session, report, receivedAt) };
  }

  private advance(
    session: Session,
    report: Report,
    requestBytes: number,
    ip: string,
    port: number,
    receivedAt: Instant,
    masterSteps: number,
  ): ResponderOutcome {
    const t1 = session.sentAt;
    if (t1 === undefined) return { kind: 'drop', code: 'SATURN_ERR_STALE_LEG' };
    session.samples.push(sampleFrom(t1, report.receivedAt, report.sentAt, receivedAt.wall));
    session.nonces.set(report.nonce, 0);
    session.expectedLeg++;
    if (masterSteps !== session.masterSteps || report.clockSteps !== session.slaveSteps) session.stepped = true;
    // A slave that sat on a leg (GC, VM pause, suspended process) may have had its clock corrected
    // meanwhile, below the step detector's tolerance: such a sample is not trusted.
    const slaveHoldNs = Number(report.sentAt - report.receivedAt);
    if (session.stalled === undefined && slaveHoldNs > this.maxHoldNs) {
      session.stalled = `the slave held leg ${report.leg} for ${slaveHoldNs} ns (limit ${this.maxHoldNs} ns)`;
    }
    if (session.samples.length < this.rounds) {
      session.nonces.set(this.random(NONCE_BYTES), NONCE_BYTES);
      session.sentAt = undefined;
      return { kind: 'reply', reply: this.responseTo(session, report, receivedAt) };
    }

    session.done = true;
    const finished: FinishedCheck = {
      nodeId: session.nodeId,
      intervalNs: session.intervalNs,
      peerResults: session.peerResults,
      peerResultsOver: session.peerResultsOver,
      ip,
      port,
      at: receivedAt,
      samples: session.samples,
      outcome: session.stepped
        ? { ok: false, code: 'SATURN_ERR_CLOCK_STEP', detail: 'a clock stepped during the check' }
        : session.stalled !== undefined
          ? { ok: false, code: 'SATURN_ERR_STALLED', detail: session.stalled }
          : estimateCheck(session.samples, this.resolutionNs),
    };
    const cookie = this.cookies.mint(ip, receivedAt.mono);
    const conclude = (verdict: Verdict | undefined, peers: readonly PeerAddress[] = [], refusal = ''): Outgoing => {
      let reason =
        verdict === undefined && refusal !== '' ? refusal : finished.outcome.ok ? '' : finished.outcome.detail;
      let fitting = peers.slice(0, MAX_PEERS_IN_RESULT);
      let bytes: Uint8Array;
      for (;;) {
        bytes = this.envelope.seal(
          encodeMessage({
            kind: 'result',
            session: report.session,
            echo: report.nonce,
            ok: verdict !== undefined,
            offsetNs: verdict?.offsetNs ?? 0,
            errorNs: verdict?.errorNs ?? 0,
            rttNs: verdict?.rttNs ?? 0,
            samples: verdict?.samples ?? 0,
            reason,
            cookie,
            responderId: this.nodeId,
            peers: fitting,
          }),
          session.keyId,
        );
        // No reply larger than its request: peers are left out, then the reason is cut, to fit.
        if (bytes.length <= requestBytes) break;
        if (fitting.length > 0) fitting = fitting.slice(0, -1);
        else if (reason !== '') reason = reason.slice(0, Math.max(0, reason.length - (bytes.length - requestBytes)));
        else break;
      }
      session.cachedReply = bytes;
      return { build: () => bytes };
    };
    // The session stays to answer copies of this leg (up to its idle time): it keeps only that.
    session.samples = [];
    session.peerResults = NO_PEER_RESULTS;
    return { kind: 'finished', finished, conclude };
  }

  private responseTo(session: Session, report: Report, receivedAt: Instant): Outgoing {
    // The nonce stays as it is until a Report echoes it, which cannot happen before this is sent.
    const masterNonce = session.nonces.subarray(NONCE_BYTES);
    return {
      build: (sentAt) => {
        session.sentAt = sentAt.wall;
        const masterHoldNs = Number(sentAt.mono - receivedAt.mono);
        if (session.stalled === undefined && masterHoldNs > this.maxHoldNs) {
          session.stalled = `the master held leg ${report.leg} for ${masterHoldNs} ns (limit ${this.maxHoldNs} ns)`;
        }
        const bytes = this.envelope.seal(
          encodeMessage({
            kind: 'response',
            session: report.session,
            leg: report.leg,
            nonce: masterNonce,
            echo: report.nonce,
            receivedAt: receivedAt.wall,
            sentAt: sentAt.wall,
            echoSentAt: report.sentAt,
          }),
          session.keyId,
        );
        session.cachedReply = bytes;
        return bytes;
      },
    };
  }
}

/** The key a source's openings are limited by: an IPv4 address, or the /64 of an IPv6 address. */
export function sourceOf(ip: string): string {
  if (!ip.includes(':')) return ip;
  if (ip.startsWith('::ffff:') && ip.includes('.')) return ip.slice(7);
  const [head = '', tail = ''] = ip.split('::');
  const groups = head === '' ? [] : head.split(':');
  if (groups.length < 4) {
    // Expand "a:b::c" far enough to read the first four groups.
    const tailGroups = tail === '' ? [] : tail.split(':');
    const missing = 8 - groups.length - tailGroups.length;
    groups.push(...Array<string>(Math.max(0, missing)).fill('0'), ...tailGroups);
  }
  return `${groups
    .slice(0, 4)
    .map((g) => g.toLowerCase().replace(/^0+(?=.)/, ''))
    .join(':')}::/64`;
}
