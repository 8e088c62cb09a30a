import type { Instant } from '../../src/clock/clock.js';
import { SimClock } from '../../src/clock/sim-clock.js';
import { type FinishedCheck, CheckResponder, type ResponderOutcome } from '../../src/protocol/responder.js';
import { type CheckOptions, CheckInitiator, type InitiatorOutcome } from '../../src/protocol/initiator.js';
import { Envelope } from '../../src/wire/envelope.js';
import { KeyRing } from '../../src/wire/keys.js';
import type { Result } from '../../src/wire/messages.js';

export const KEY = new TextEncoder().encode('unit-test-key-0123456789');

/**
 * A master and a slave on simulated clocks joined by a simulated link: every datagram takes
 * `forwardNs`/`backNs` and the slave's clock reads `slaveOffsetNs` ahead of the master's.
 */
export class SimExchange {
  readonly masterClock = new SimClock();
  readonly master: CheckResponder;
  readonly slave: CheckInitiator;
  readonly sentBySlave: Uint8Array[] = [];
  readonly sentByMaster: Uint8Array[] = [];
  readonly masterOutcomes: ResponderOutcome[] = [];
  readonly slaveOutcomes: InitiatorOutcome[] = [];
  slaveSteps = 0;

  constructor(
    readonly options: {
      slaveOffsetNs: number;
      forwardNs: number;
      backNs: number;
      rounds?: number;
      maxSessions?: number;
      /** Give the slave the master's cookie first (default true). */
      primed?: boolean;
    },
  ) {
    this.master = new CheckResponder({
      envelope: new Envelope(KeyRing.single(KEY)),
      rounds: options.rounds ?? 5,
      resolutionNs: 2,
      maxSessions: options.maxSessions,
    });
    this.slave = new CheckInitiator({ envelope: new Envelope(KeyRing.single(KEY)), nodeId: 'web-3' });
    if (options.primed ?? true) this.prime(this.slave);
  }

  /**
   * Gives `initiator` the master's cookie, as its first check would: leg 0 without a cookie gets
   * one, and the initiator opens again with it. That second opening is abandoned, and the
   * records are cleared, so tests start from an initiator that opens checks at once.
   */
  prime(initiator: CheckInitiator): void {
    primeInitiator(this.master, initiator, this.masterClock.read());
  }

  /** The slave's reading now: its wall clock runs `slaveOffsetNs` ahead; monotonic time is shared. */
  slaveNow(): Instant {
    const { wall, mono } = this.masterClock.read();
    return { wall: wall + BigInt(this.options.slaveOffsetNs), mono };
  }

  /** Delivers a slave datagram to the master; returns the master's reply bytes, if any. */
  toMaster(datagram: Uint8Array): Uint8Array | undefined {
    this.masterClock.advance(this.options.backNs);
    const outcome = this.master.handle(
      datagram,
      '127.0.0.1',
      5000,
      this.masterClock.read(),
      this.masterClock.stepCount,
    );
    this.masterOutcomes.push(outcome);
    this.masterClock.advance(1_000); // master processing
    let bytes: Uint8Array | undefined;
    if (outcome.kind === 'reply') bytes = outcome.reply.build(this.masterClock.read());
    if (outcome.kind === 'finished')
      bytes = outcome.conclude(verdictOf(outcome.finished)).build(this.masterClock.read());
    if (bytes) this.sentByMaster.push(bytes);
    return bytes;
  }

  /** Delivers a master datagram to the slave; returns the slave's reply bytes, if any. */
  toSlave(datagram: Uint8Array): { reply?: Uint8Array; result?: Result } {
    this.masterClock.advance(this.options.forwardNs);
    const outcome = this.slave.handle(datagram, this.slaveNow(), this.slaveSteps);
    this.slaveOutcomes.push(outcome);
    this.masterClock.advance(3_000); // slave processing
    if (outcome.kind === 'reply') {
      const bytes = outcome.reply.build(this.slaveNow());
      this.sentBySlave.push(bytes);
      return { reply: bytes };
    }
    if (outcome.kind === 'result') return { result: outcome.result };
    return {};
  }

  /** Runs one whole check; returns the slave's Result (undefined if the check stalled). */
  runCheck(options?: CheckOptions): Result | undefined {
    let datagram: Uint8Array | undefined = this.slave
      .start('master', this.slaveSteps, options)
      .outgoing.build(this.slaveNow());
    this.sentBySlave.push(datagram);
    for (let legs = 0; legs < 200 && datagram; legs++) {
      const answer = this.toMaster(datagram);
      if (!answer) return undefined;
      const { reply, result } = this.toSlave(answer);
      if (result) return result;
      datagram = reply;
    }
    return undefined;
  }

  finished(): FinishedCheck[] {
    return this.masterOutcomes.flatMap((o) => (o.kind === 'finished' ? [o.finished] : []));
  }
}

/**
 * Gives `initiator` the cookie of `responder` for 127.0.0.1, as a first check would: leg 0 without
 * a cookie gets one, and the initiator opens again with it; that opening is abandoned.
 */
export function primeInitiator(responder: CheckResponder, initiator: CheckInitiator, at: Instant): void {
  const cookie = responder.handle(initiator.start('master', 0).outgoing.build(at), '127.0.0.1', 5000, at, 0);
  if (cookie.kind !== 'reply') throw new Error(`priming: expected a cookie, got ${cookie.kind}`);
  const reopened = initiator.handle(cookie.reply.build(at), at, 0);
  if (reopened.kind !== 'reply') throw new Error(`priming: the initiator did not open again (${reopened.kind})`);
  initiator.abandon(reopened.session);
}

function verdictOf(check: FinishedCheck) {
  if (!check.outcome.ok) return undefined;
  const e = check.outcome.estimate;
  return { offsetNs: e.offsetNs, errorNs: e.errorNs, rttNs: e.rttNs, samples: e.kept };
}

/** An instant whose wall reading is `wall` (monotonic `mono`, default 0): for calls that need one. */
export function instant(wall: bigint, mono = 0n): Instant {
  return { wall, mono };
}
