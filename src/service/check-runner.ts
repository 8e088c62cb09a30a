/**
 * One target's checks, as a slave runs them (its master, each master of an HA pair, each peer):
 * opens a check, sends each leg, retransmits a leg its responder has not answered (up to
 * MAX_RETRANSMITS times, a leg timeout apart), and gives up after that. A check whose responder
 * answered a leg and then fell silent (a master restarting mid-check forgets its sessions) opens
 * anew once before it gives up. Timers run on the injected
 * clock. The initiator (one for all targets) decides what each datagram means; the slave routes
 * its outcomes here by target.
 */
import type { Clock, Instant, Timer } from '../clock/clock.js';
import type { Peer, Reply } from '../pipeline/pipeline.js';
import type { CheckInitiator, CheckOptions } from '../protocol/initiator.js';
import type { Outgoing } from '../protocol/outgoing.js';
import type { Result } from '../wire/messages.js';

/** Retransmissions of a silent leg before the check is given up. */
export const MAX_RETRANSMITS = 3;

export interface CheckRunnerDeps {
  clock: Clock;
  initiator: CheckInitiator;
  send(to: Peer, reply: Reply): void;
  /** How long a leg waits for its answer before it is sent again. */
  legTimeoutNs: number;
}

/** What a runner tells its owner: a check's Result, or that it gave up. */
export interface CheckRunnerCallbacks {
  onResult(result: Result, receivedAt: Instant): void;
  /** The check went unanswered (or a new one had to start while it was still open). */
  onGiveUp(reason: string): void;
}

export class CheckRunner {
  private session: bigint | undefined;
  private legTimer: Timer | undefined;
  private retransmits = 0;
  /** The open check's options, for opening it anew. */
  private options: CheckOptions = {};
  /** The responder answered a leg of the open check. */
  private answered = false;
  /** The open check is a second try, after its responder fell silent mid-check. */
  private reopened = false;

  constructor(
    /** The target's key (host:port): the initiator keeps its cookie under it. */
    readonly key: string,
    public to: Peer,
    private readonly deps: CheckRunnerDeps,
    private readonly callbacks: CheckRunnerCallbacks,
    private readonly noAnswer: string,
  ) {}

  /** A check is waiting for its responder. */
  get busy(): boolean {
    return this.session !== undefined && this.deps.initiator.isOpen(this.session);
  }

  /** Opens a check now; one still open is given up first. */
  start(clockSteps: number, options: CheckOptions = {}): void {
    if (this.busy) this.giveUp('the previous check was still open');
    this.reopened = false;
    this.open(clockSteps, options);
  }

  private open(clockSteps: number, options: CheckOptions): void {
    this.retransmits = 0;
    this.options = options;
    this.answered = false;
    const { session, outgoing } = this.deps.initiator.start(this.key, clockSteps, options);
    this.session = session;
    this.sendNow((sentAt) => outgoing.build(sentAt));
  }

  /** The initiator's next leg of this target's check (the session may be new after a cookie). */
  onReply(session: bigint, reply: Outgoing): void {
    this.session = session;
    this.retransmits = 0;
    this.answered = true;
    this.sendNow((sentAt) => reply.build(sentAt));
  }

  /** The check's Result. */
  onResult(result: Result, receivedAt: Instant): void {
    this.clearLegTimer();
    this.session = undefined;
    this.callbacks.onResult(result, receivedAt);
  }

  /** Stops: the open check is abandoned, its timer cancelled. */
  cancel(): void {
    this.clearLegTimer();
    if (this.session !== undefined) this.deps.initiator.abandon(this.session);
    this.session = undefined;
  }

  private sendNow(reply: Reply): void {
    this.deps.send(this.to, reply);
    this.clearLegTimer();
    this.legTimer = this.deps.clock.setTimer(this.deps.legTimeoutNs, () => this.onLegTimeout());
  }

  private clearLegTimer(): void {
    this.legTimer?.cancel();
    this.legTimer = undefined;
  }

  /** The responder went quiet: send the same leg again, or give up after a few tries. */
  private onLegTimeout(): void {
    const again = this.session === undefined ? undefined : this.deps.initiator.retransmit(this.session);
    if (!again || this.retransmits >= MAX_RETRANSMITS) {
      if (this.answered && !this.reopened) {
        // It answered this check, so it is there: it lost the session (restarted), not the link.
        if (this.session !== undefined) this.deps.initiator.abandon(this.session);
        this.reopened = true;
        this.open(this.deps.clock.stepCount, this.options);
        return;
      }
      this.giveUp(this.noAnswer);
      return;
    }
    this.retransmits++;
    this.sendNow(again);
  }

  private giveUp(reason: string): void {
    this.cancel();
    this.callbacks.onGiveUp(reason);
  }
}
