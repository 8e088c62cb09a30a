import type { Instant, Nanos, OffsetNs } from '../clock/clock.js';
import type { ErrorCode } from '../errors.js';
import { type CheckOutcome, estimateCheck } from '../estimate/check.js';
import { type Sample, sampleFrom } from '../estimate/sample.js';
import { decodeMessage, encodeMessage } from '../wire/codec.js';
import type { Envelope } from '../wire/envelope.js';
import { constantTimeEqual } from '../wire/envelope.js';
import { NONCE_BYTES, type Report } from '../wire/messages.js';
import { type RandomBytes, cryptoRandom } from '../wire/random.js';
import type { Outgoing } from './outgoing.js';
import { SessionTable, type SessionTableOptions } from './session-table.js';

/** Every reason the responder (and its envelope) drops a datagram for: counters start at 0 for each. */
export const RESPONDER_DROP_CODES: readonly ErrorCode[] = [
  'SATURN_ERR_SHORT_PACKET',
  'SATURN_ERR_BAD_VERSION',
  'SATURN_ERR_BAD_MAC',
  'SATURN_ERR_DECODE',
  'SATURN_ERR_UNKNOWN_SESSION',
  'SATURN_ERR_STALE_LEG',
  'SATURN_ERR_BAD_ECHO',
  'SATURN_ERR_DUPLICATE',
];

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
  | { kind: 'drop'; code: ErrorCode }
  | { kind: 'reply'; reply: Outgoing; duplicate?: boolean }
  /** The last leg: the caller folds the check into its history and concludes with a verdict. */
  | { kind: 'finished'; finished: FinishedCheck; conclude(verdict: Verdict | undefined): Outgoing };

export interface CheckResponderOptions extends SessionTableOptions {
  envelope: Envelope;
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
  /** Monotonic receipt of leg 0 (the session's age counts from it). */
  startedAt: Nanos;
  nodeId: string;
  intervalNs: number;
  /** The leg the next fresh Report must carry. */
  expectedLeg: number;
  /** Nonce of the last Report processed, to recognise its duplicates. */
  lastReportNonce: Uint8Array;
  /** Nonce of the last Response sent; the next Report must echo it. */
  masterNonce: Uint8Array;
  /** When that Response was first sent (t1 of the next sample). */
  sentAt: Nanos | undefined;
  /** The bytes of the last reply, answered again to duplicates. */
  cachedReply: Uint8Array | undefined;
  samples: Sample[];
  masterSteps: number;
  slaveSteps: number;
  stepped: boolean;
  /** Why the check is void because a leg waited too long in a process, if it did. */
  stalled: string | undefined;
  done: boolean;
}

/** The default of CheckResponderOptions.maxHoldNs. */
export const DEFAULT_MAX_HOLD_NS = 50_000_000;

/**
 * The responder's side of a check as a state machine (the master runs it for every slave):
 * (datagram, source, receive time) in, a reply to stamp and send out. No sockets, no clock reads.
 */
export class CheckResponder {
  private readonly envelope: Envelope;
  private readonly rounds: number;
  private readonly resolutionNs: number;
  private readonly maxHoldNs: number;
  private readonly random: RandomBytes;
  readonly sessions: SessionTable<Session>;

  constructor(options: CheckResponderOptions) {
    this.envelope = options.envelope;
    this.rounds = options.rounds ?? DEFAULT_ROUNDS;
    if (!Number.isInteger(this.rounds) || this.rounds < 1 || this.rounds > 64) {
      throw new RangeError(`rounds must be an integer from 1 to 64, got ${options.rounds}`);
    }
    this.resolutionNs = options.resolutionNs ?? 2_000;
    this.maxHoldNs = options.maxHoldNs ?? DEFAULT_MAX_HOLD_NS;
    if (!(this.maxHoldNs > 0)) throw new RangeError(`maxHoldNs must be > 0, got ${options.maxHoldNs}`);
    this.random = options.random ?? cryptoRandom;
    this.sessions = new SessionTable<Session>(options);
  }

  /**
   * Handles one datagram. `masterSteps` is the local clock's step counter at receipt: a change
   * during a check means the master's own timestamps are not comparable, and the check is discarded.
   */
  handle(datagram: Uint8Array, ip: string, port: number, receivedAt: Instant, masterSteps: number): ResponderOutcome {
    const opened = this.envelope.open(datagram);
    if (!opened.ok) return { kind: 'drop', code: opened.code };
    const message = decodeMessage(opened.payload);
    if (!message) return { kind: 'drop', code: 'SATURN_ERR_DECODE' };
    if (message.kind !== 'report') return { kind: 'drop', code: 'SATURN_ERR_DECODE' };
    if (message.nonce.length !== NONCE_BYTES) return { kind: 'drop', code: 'SATURN_ERR_DECODE' };
    // The node id names the slave in logs, alerts and metrics: it must be a sensible name.
    if (message.nodeId.length === 0 || message.nodeId.length > MAX_NODE_ID_LENGTH)
      return { kind: 'drop', code: 'SATURN_ERR_DECODE' };

    const session = this.sessions.get(message.session);
    if (!session) {
      if (message.leg !== 0) return { kind: 'drop', code: 'SATURN_ERR_UNKNOWN_SESSION' };
      return this.open(message, ip, port, receivedAt, masterSteps);
    }
    if (message.nodeId !== session.nodeId) return { kind: 'drop', code: 'SATURN_ERR_STALE_LEG' };
    if (message.leg === session.expectedLeg - 1 && constantTimeEqual(message.nonce, session.lastReportNonce)) {
      // A duplicate (network duplication or a slave's retransmission): the same answer again,
      // and t1 keeps the first send, which can only widen the next sample's interval.
      const bytes = session.cachedReply;
      if (!bytes) return { kind: 'drop', code: 'SATURN_ERR_DUPLICATE' };
      return { kind: 'reply', reply: { build: () => bytes }, duplicate: true };
    }
    if (session.done || message.leg !== session.expectedLeg) return { kind: 'drop', code: 'SATURN_ERR_STALE_LEG' };
    if (!constantTimeEqual(message.echo, session.masterNonce)) return { kind: 'drop', code: 'SATURN_ERR_BAD_ECHO' };
    return this.advance(session, message, ip, port, receivedAt, masterSteps);
  }

  private open(report: Report, ip: string, port: number, receivedAt: Instant, masterSteps: number): ResponderOutcome {
    const session: Session = {
      startedAt: receivedAt.mono,
      nodeId: report.nodeId,
      intervalNs: report.intervalNs,
      expectedLeg: 1,
      lastReportNonce: report.nonce,
      masterNonce: this.random(NONCE_BYTES),
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
    ip: string,
    port: number,
    receivedAt: Instant,
    masterSteps: number,
  ): ResponderOutcome {
    const t1 = session.sentAt;
    if (t1 === undefined) return { kind: 'drop', code: 'SATURN_ERR_STALE_LEG' };
    session.samples.push(sampleFrom(t1, report.receivedAt, report.sentAt, receivedAt.wall));
    session.lastReportNonce = report.nonce;
    session.expectedLeg++;
    if (masterSteps !== session.masterSteps || report.clockSteps !== session.slaveSteps) session.stepped = true;
    // A slave that sat on a leg (GC, VM pause, suspended process) may have had its clock corrected
    // meanwhile, below the step detector's tolerance: such a sample is not trusted.
    const slaveHoldNs = Number(report.sentAt - report.receivedAt);
    if (session.stalled === undefined && slaveHoldNs > this.maxHoldNs) {
      session.stalled = `the slave held leg ${report.leg} for ${slaveHoldNs} ns (limit ${this.maxHoldNs} ns)`;
    }
    if (session.samples.length < this.rounds) {
      session.masterNonce = this.random(NONCE_BYTES);
      session.sentAt = undefined;
      return { kind: 'reply', reply: this.responseTo(session, report, receivedAt) };
    }

    session.done = true;
    const finished: FinishedCheck = {
      nodeId: session.nodeId,
      intervalNs: session.intervalNs,
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
    const conclude = (verdict: Verdict | undefined): Outgoing => {
      const bytes = this.envelope.seal(
        encodeMessage({
          kind: 'result',
          session: report.session,
          echo: report.nonce,
          ok: verdict !== undefined,
          offsetNs: verdict?.offsetNs ?? 0,
          errorNs: verdict?.errorNs ?? 0,
          rttNs: verdict?.rttNs ?? 0,
          samples: verdict?.samples ?? 0,
          reason: finished.outcome.ok ? '' : finished.outcome.detail,
        }),
      );
      session.cachedReply = bytes;
      return { build: () => bytes };
    };
    session.samples = [];
    return { kind: 'finished', finished, conclude };
  }

  private responseTo(session: Session, report: Report, receivedAt: Instant): Outgoing {
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
            nonce: session.masterNonce,
            echo: report.nonce,
            receivedAt: receivedAt.wall,
            sentAt: sentAt.wall,
            echoSentAt: report.sentAt,
          }),
        );
        session.cachedReply = bytes;
        return bytes;
      },
    };
  }
}
