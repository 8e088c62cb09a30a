import { lookup } from 'node:dns/promises';
import { isIP } from 'node:net';
import type { EventJournal } from '../events/journal.js';
import { type LlogWriter, nsToMillisText } from '../log/llog.js';
import type { Config } from '../config/options.js';
import { type HostPort, formatHostPort } from '../util/parse.js';
import type { Clock, Instant, Timer } from '../clock/clock.js';
import type { Logger } from '../log/diagnostics.js';
import { type Peer, type Pipeline, type Reply, createPipeline } from '../pipeline/pipeline.js';
import { CheckInitiator } from '../protocol/initiator.js';
import { Envelope } from '../wire/envelope.js';
import type { KeyRing } from '../wire/keys.js';
import type { Result } from '../wire/messages.js';
import { DropCounts } from '../pipeline/drop-counts.js';
import { socketReceiveDrops } from '../pipeline/kernel-drops.js';
import { AuthFailureLog } from './auth-failures.js';
import { ClockStepReporter } from './clock-steps.js';

/** Where a slave's datagrams go: the pipeline in production, a simulated network in tests. */
export interface Transport {
  send(to: Peer, reply: Reply): void;
}

export interface SlaveDeps {
  clock: Clock;
  /** For the interval's jitter; default Math.random. */
  random?: () => number;
  logger: Logger;
  /** The llog stream: the master's verdict on this node, each check. */
  llog: LlogWriter;
  /** Where events go (numbered, to the llog stream and every webhook). */
  journal: EventJournal;
}

/** Retransmissions of a silent leg before the check is given up. */
const MAX_RETRANSMITS = 3;

/** Why a check went unanswered, as the slave can tell: a master that drops what it cannot authenticate looks down. */
export const NO_ANSWER =
  'no answer from the master (a wrong or retired HMAC key looks the same: the master drops what it cannot authenticate and logs the source)';

/**
 * A running slave: every interval it opens a check with the master, answers its legs,
 * retransmits a leg the master has not answered, and logs the offset the master found.
 */
export class SlaveService {
  readonly drops = new DropCounts();
  /** The envelope of every datagram: its keys (reloaded on SIGHUP) and the datagrams per key id. */
  readonly envelope: Envelope;
  /** The master's last verdict on this node, and when it came (wall and monotonic). */
  lastResult: Result | undefined;
  lastResultAt: Instant | undefined;
  checksCompleted = 0;
  checksFailed = 0;
  private readonly core: CheckInitiator;
  private readonly legTimeoutNs: number;
  private pipeline: Pipeline | undefined;
  private transport: Transport | undefined;
  private master: HostPort;
  private intervalTimer: Timer | undefined;
  private legTimer: Timer | undefined;
  private retransmits = 0;
  private unreachable = false;
  private readonly authFailures: AuthFailureLog;
  private readonly steps: ClockStepReporter;

  /** Runs a slave over `transport`; `begin()` starts checking. SlaveService.start wires the pipeline. */
  constructor(
    private readonly config: Config,
    private readonly deps: SlaveDeps,
    transport?: Transport,
  ) {
    this.envelope = new Envelope(config.hmacKeys);
    this.core = new CheckInitiator({ envelope: this.envelope, nodeId: config.name, intervalNs: config.intervalNs });
    this.authFailures = new AuthFailureLog(deps.logger);
    this.steps = new ClockStepReporter(deps.clock, deps.journal, () => ({
      id: config.name,
      addr: formatHostPort(this.pipeline?.address ?? config.listenAddr),
    }));
    this.master = config.masterAddr!;
    this.legTimeoutNs = Math.min(1e9, config.intervalNs / 5);
    this.transport = transport;
  }

  static async start(config: Config, deps: SlaveDeps): Promise<SlaveService> {
    const service = new SlaveService(config, deps);
    const pipeline = await createPipeline({
      listenAddr: config.listenAddr,
      clock: deps.clock,
      lanes: { fast: { handle: (d, from, at) => service.onDatagram(d, at, from) } },
    });
    service.pipeline = pipeline;
    service.transport = pipeline;
    deps.logger.info(
      { addr: formatHostPort(pipeline.address), master: formatHostPort(config.masterAddr!), name: config.name },
      'slave listening',
    );
    service.begin();
    return service;
  }

  get address(): HostPort {
    return this.pipeline!.address;
  }

  /** Datagrams the kernel dropped because the socket's receive buffer was full (undefined: not known here). */
  receiveBufferDrops(): number | undefined {
    return this.pipeline && socketReceiveDrops(this.pipeline.address);
  }

  /** Uses these keys from now on (a reloaded key file); the check in flight goes on. */
  setKeys(keys: KeyRing): void {
    this.envelope.setKeys(keys);
  }

  /** Opens the first check now and one every interval after it. */
  begin(): void {
    this.scheduleCheck(0);
  }

  private scheduleCheck(delayNs: number): void {
    this.intervalTimer = this.deps.clock.setTimer(delayNs, () => {
      this.steps.poll(this.deps.clock.now());
      void this.startCheck();
      // ±10% jitter: slaves started together (a fleet rebooted, a deploy) drift apart instead of
      // hitting the master in step every interval.
      this.scheduleCheck(this.config.intervalNs * (0.9 + 0.2 * (this.deps.random ?? Math.random)()));
    });
  }

  private async startCheck(): Promise<void> {
    if (this.core.busy) this.giveUp('the previous check was still open');
    const target = this.config.masterAddr!;
    if (isIP(target.host) === 0) {
      try {
        this.master = { host: (await lookup(target.host)).address, port: target.port };
      } catch (err) {
        this.deps.logger.warn({ master: formatHostPort(target), err: (err as Error).message }, 'cannot resolve master');
        return;
      }
    }
    if (!this.transport) return;
    this.retransmits = 0;
    const leg0 = this.core.start(this.deps.clock.stepCount);
    this.sendNow((sentAt) => leg0.build(sentAt));
  }

  /** False from a check the master left unanswered until one it answers. */
  get masterReachable(): boolean {
    return !this.unreachable;
  }

  /** A datagram from the network, stamped at the edge. */
  onDatagram(
    datagram: Uint8Array,
    receivedAt: Instant,
    from: Peer = { address: this.master.host, port: this.master.port },
  ): void {
    const { clock, logger } = this.deps;
    this.steps.poll(receivedAt.wall);
    const outcome = this.core.handle(datagram, receivedAt, clock.stepCount);
    switch (outcome.kind) {
      case 'drop':
        this.drops.add(outcome.code);
        this.authFailures.note(outcome.code, outcome.keyId, from, receivedAt.mono);
        if (logger.isLevelEnabled('debug')) logger.debug({ code: outcome.code }, 'datagram dropped');
        return;
      case 'reply':
        this.retransmits = 0;
        this.sendNow((sentAt) => outcome.reply.build(sentAt));
        return;
      case 'result':
        this.clearLegTimer();
        this.lastResultAt = receivedAt;
        this.onResult(outcome.result, receivedAt);
        return;
    }
  }

  private onResult(result: Result, receivedAt: Instant): void {
    this.lastResult = result;
    const master = formatHostPort(this.config.masterAddr!);
    if (this.unreachable) {
      // An event, so that whatever master_unreachable raised (an Alertmanager alert) is resolved.
      this.unreachable = false;
      this.deps.journal.emit({ kind: 'master_reachable', at: receivedAt.wall, node: { id: 'master', addr: master } });
    }
    if (!result.ok) {
      this.checksFailed++;
      this.deps.logger.warn({ master, reason: result.reason }, 'check discarded by the master');
      return;
    }
    this.checksCompleted++;
    this.deps.llog.line(
      'INFO',
      'slave offset',
      {
        error: nsToMillisText(result.errorNs),
        master,
        name: this.config.name,
        offset: nsToMillisText(result.offsetNs),
        rtt: nsToMillisText(result.rttNs),
      },
      receivedAt.wall,
    );
  }

  /** Sends a leg to the master, stamped at the send, and waits for the answer. */
  private sendNow(build: Reply): void {
    this.transport?.send({ address: this.master.host, port: this.master.port }, build);
    this.armLegTimer();
  }

  private armLegTimer(): void {
    this.clearLegTimer();
    this.legTimer = this.deps.clock.setTimer(this.legTimeoutNs, () => this.onLegTimeout());
  }

  private clearLegTimer(): void {
    this.legTimer?.cancel();
    this.legTimer = undefined;
  }

  /** The master went quiet: send the same leg again, or give up after a few tries. */
  private onLegTimeout(): void {
    const again = this.core.retransmit();
    if (!again || this.retransmits >= MAX_RETRANSMITS) {
      this.giveUp(NO_ANSWER);
      return;
    }
    this.retransmits++;
    this.sendNow(again);
  }

  private giveUp(reason: string): void {
    this.clearLegTimer();
    this.core.abandon();
    this.checksFailed++;
    if (!this.unreachable) {
      this.unreachable = true;
      const master = formatHostPort(this.config.masterAddr!);
      this.deps.journal.emit({
        kind: 'master_unreachable',
        at: this.deps.clock.now(),
        node: { id: 'master', addr: master },
        detail: reason,
      });
    }
  }

  async close(): Promise<void> {
    this.intervalTimer?.cancel();
    this.clearLegTimer();
    const pipeline = this.pipeline;
    this.pipeline = undefined;
    this.transport = undefined;
    await pipeline?.close();
  }
}
