/**
 * A running slave. Every interval it opens a check with each of its masters (one, an HA pair, or
 * the masters a DNS SRV record lists), answers their legs, retransmits a leg a master has not
 * answered, and logs the offset the master found. With the mesh (--peers N), it also:
 *
 * - checks the peers its master hands it in a Result (or the --peer it pins), each once an
 *   interval at a random moment of it, so peer checks never come all at once;
 * - answers its peers' checks on the same socket (the responder side a master runs);
 * - reports its fresh peer results to its masters in the next check (leg 0);
 * - says so itself, at WARN, when most of its peers disagree with it (CockroachDB's rule), even
 *   when no master answers.
 */
import type { Clock, Instant, Nanos, Timer } from '../clock/clock.js';
import type { Config } from '../config/options.js';
import type { EventJournal } from '../events/journal.js';
import type { Logger } from '../log/diagnostics.js';
import { type LlogWriter, nsToMillisText } from '../log/llog.js';
import { peerAgreement } from '../mesh/peer-agreement.js';
import { socketReceiveDrops } from '../pipeline/kernel-drops.js';
import { DropCounts } from '../pipeline/drop-counts.js';
import { type Peer, type Pipeline, type Reply, createPipeline } from '../pipeline/pipeline.js';
import { DEFAULT_COOKIE_ROTATION_NS } from '../protocol/cookies.js';
import { CheckInitiator, type CheckOptions } from '../protocol/initiator.js';
import { openDatagram } from '../protocol/open.js';
import { CheckResponder } from '../protocol/responder.js';
import { type HostPort, formatHostPort, parseHostPort } from '../util/parse.js';
import { Envelope } from '../wire/envelope.js';
import type { KeyRing } from '../wire/keys.js';
import { type PeerAddress, type PeerResult, REPORT_MIN_BYTES, type Result } from '../wire/messages.js';
import { AuthFailureLog } from './auth-failures.js';
import { CheckRunner } from './check-runner.js';
import { ClockStepReporter } from './clock-steps.js';
import { type MasterDns, type MasterTarget, Masters, systemDns } from './masters.js';

/** Where a slave's datagrams go: the pipeline in production, a simulated network in tests. */
export interface Transport {
  send(to: Peer, reply: Reply): void;
}

export interface SlaveDeps {
  clock: Clock;
  /** For the interval's jitter and the peer checks' moments; default Math.random. */
  random?: () => number;
  logger: Logger;
  /** The llog stream: the master's verdict on this node, each check. */
  llog: LlogWriter;
  /** Where events go (numbered, to the llog stream and every webhook). */
  journal: EventJournal;
  /** How masters given by name are found; default the system's resolver. */
  dns?: MasterDns;
}

/** Why a check went unanswered, as the slave can tell: a master that drops what it cannot authenticate looks down. */
export const NO_ANSWER =
  'no answer from the master (a wrong or retired HMAC key looks the same: the master drops what it cannot authenticate and logs the source)';
const NO_PEER_ANSWER = 'no answer from the peer';

/** Room a Report leaves per peer a master may name in its Result (an id and an address). */
export const PEER_ROOM_BYTES = 64;

/** What the slave knows of one master. */
export interface MasterLinkState {
  readonly key: string;
  readonly lastResult: Result | undefined;
  readonly lastResultAt: Instant | undefined;
  readonly reachable: boolean;
}

interface MasterLink extends MasterLinkState {
  runner: CheckRunner;
  lastResult: Result | undefined;
  lastResultAt: Instant | undefined;
  reachable: boolean;
}

interface PeerLink {
  readonly key: string;
  /** The node id the master named at this address (undefined for a pinned --peer). */
  id: string | undefined;
  runner: CheckRunner;
  timer: Timer | undefined;
}

/** A peer check's result, kept until it is too old to report. */
export interface PeerMeasurementState {
  readonly peerId: string;
  readonly addr: string;
  readonly offsetNs: number;
  readonly errorNs: number;
  readonly rttNs: number;
  readonly atMono: Nanos;
}

export class SlaveService {
  readonly drops = new DropCounts();
  /** The envelope of every datagram: its keys (reloaded on SIGHUP) and the datagrams per key id. */
  readonly envelope: Envelope;
  checksCompleted = 0;
  checksFailed = 0;
  private readonly initiator: CheckInitiator;
  private readonly responder: CheckResponder;
  private readonly masters: Masters;
  private readonly masterLinks = new Map<string, MasterLink>();
  private readonly peerLinks = new Map<string, PeerLink>();
  /** By peer address (the link's key): a peer answering under a new name each time still counts once. */
  private readonly peerResults = new Map<string, PeerMeasurementState>();
  private readonly legTimeoutNs: number;
  private pipeline: Pipeline | undefined;
  private transport: Transport | undefined;
  private intervalTimer: Timer | undefined;
  private disagreeing = false;
  private readonly authFailures: AuthFailureLog;
  private readonly steps: ClockStepReporter;

  /** Runs a slave over `transport`; `begin()` starts checking. SlaveService.start wires the pipeline. */
  constructor(
    private readonly config: Config,
    private readonly deps: SlaveDeps,
    transport?: Transport,
  ) {
    this.envelope = new Envelope(config.hmacKeys);
    this.initiator = new CheckInitiator({
      envelope: this.envelope,
      nodeId: config.name,
      intervalNs: config.intervalNs,
    });
    this.responder = new CheckResponder({
      envelope: this.envelope,
      nodeId: config.name,
      rounds: config.rounds,
      resolutionNs: 2 * deps.clock.resolutionNs,
      cookies: { rotationNs: Math.max(DEFAULT_COOKIE_ROTATION_NS, 2 * config.intervalNs) },
    });
    this.masters = new Masters(config.masters, deps.dns ?? systemDns(), (spec, error) =>
      deps.logger.warn({ master: spec, err: error.message }, 'cannot resolve master'),
    );
    this.authFailures = new AuthFailureLog(deps.logger);
    this.steps = new ClockStepReporter(deps.clock, deps.journal, () => ({
      id: config.name,
      addr: formatHostPort(this.pipeline?.address ?? config.listenAddr),
    }));
    this.legTimeoutNs = Math.min(1e9, config.intervalNs / 5);
    this.transport = transport;
    for (const addr of config.pinnedPeers) this.peerLink(formatHostPort(addr), addr, undefined);
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
      {
        addr: formatHostPort(pipeline.address),
        masters: service.masterNames(),
        name: config.name,
        peers:
          config.pinnedPeers.length > 0 ? config.pinnedPeers.map((p) => formatHostPort(p)).join(',') : config.peers,
      },
      'slave listening',
    );
    service.begin();
    return service;
  }

  get address(): HostPort {
    return this.pipeline!.address;
  }

  /** The masters as configured, for logs. */
  masterNames(): string {
    return this.config.masters
      .map((m) => (m.kind === 'address' ? formatHostPort(m.addr) : `SRV _saturn._udp.${m.name}`))
      .join(', ');
  }

  /** What the slave knows of each master it checks. */
  get masterStates(): readonly MasterLinkState[] {
    return [...this.masterLinks.values()];
  }

  /** The first master's last verdict on this node (the one `saturn status` shows first). */
  get lastResult(): Result | undefined {
    return this.masterStates.find((m) => m.lastResult)?.lastResult;
  }

  get lastResultAt(): Instant | undefined {
    return this.masterStates.find((m) => m.lastResultAt)?.lastResultAt;
  }

  /** False while a master leaves checks unanswered (every master, when there are several). */
  get masterReachable(): boolean {
    return this.masterLinks.size === 0 || this.masterStates.some((m) => m.reachable);
  }

  /** Fresh peer measurements (this node − peer), newest per peer. */
  peerMeasurements(nowMono: Nanos): PeerMeasurementState[] {
    const since = nowMono - BigInt(Math.round(3 * this.config.intervalNs));
    return [...this.peerResults.values()].filter((m) => m.atMono >= since);
  }

  /** Datagrams the kernel dropped because the socket's receive buffer was full (undefined: not known here). */
  receiveBufferDrops(): number | undefined {
    return this.pipeline && socketReceiveDrops(this.pipeline.address);
  }

  /** Uses these keys from now on (a reloaded key file); the checks in flight go on. */
  setKeys(keys: KeyRing): void {
    this.envelope.setKeys(keys);
  }

  /** Opens the first round of checks now and one every interval after it. */
  begin(): void {
    this.scheduleRound(0);
  }

  private get random(): () => number {
    return this.deps.random ?? Math.random;
  }

  private scheduleRound(delayNs: number): void {
    this.intervalTimer = this.deps.clock.setTimer(delayNs, () => {
      this.steps.poll(this.deps.clock.now());
      this.round();
      // ±10% jitter: slaves started together (a fleet rebooted, a deploy) drift apart instead of
      // hitting the master in step every interval.
      this.scheduleRound(this.config.intervalNs * (0.9 + 0.2 * this.random()));
    });
  }

  /** One interval's work: a check with each master, and each peer's check at a random moment of the interval. */
  private round(): void {
    const targets = this.masters.resolve(this.deps.clock.monotonic());
    if (targets instanceof Promise) void targets.then((t) => this.roundWith(t));
    else this.roundWith(targets);
  }

  private roundWith(targets: readonly MasterTarget[]): void {
    if (!this.transport) return;
    this.reconcileMasters(targets);
    const now = this.deps.clock.read();
    const report: CheckOptions = {
      peerResults: this.reportable(now.mono),
      padToBytes: this.config.peers > 0 ? REPORT_MIN_BYTES + PEER_ROOM_BYTES * this.config.peers : undefined,
    };
    for (const link of this.masterLinks.values()) link.runner.start(this.deps.clock.stepCount, report);
    for (const link of this.peerLinks.values()) {
      link.timer?.cancel();
      link.timer = this.deps.clock.setTimer(this.random() * this.config.intervalNs, () => {
        link.timer = undefined;
        if (this.transport) link.runner.start(this.deps.clock.stepCount);
      });
    }
  }

  private reconcileMasters(targets: readonly MasterTarget[]): void {
    const keep = new Set(targets.map((t) => t.key));
    for (const [key, link] of this.masterLinks) {
      if (keep.has(key)) continue;
      link.runner.cancel();
      this.masterLinks.delete(key);
    }
    for (const target of targets) {
      const known = this.masterLinks.get(target.key);
      if (known) {
        known.runner.to = target.to; // a name may resolve to a new address
        continue;
      }
      const link: MasterLink = {
        key: target.key,
        lastResult: undefined,
        lastResultAt: undefined,
        reachable: true,
        runner: undefined as unknown as CheckRunner,
      };
      link.runner = new CheckRunner(
        target.key,
        target.to,
        this.runnerDeps(),
        {
          onResult: (result, at) => this.onMasterResult(link, result, at),
          onGiveUp: (reason) => this.onMasterGiveUp(link, reason),
        },
        NO_ANSWER,
      );
      this.masterLinks.set(target.key, link);
    }
  }

  private runnerDeps() {
    return {
      clock: this.deps.clock,
      initiator: this.initiator,
      send: (to: Peer, reply: Reply) => this.transport?.send(to, reply),
      legTimeoutNs: this.legTimeoutNs,
    };
  }

  /** Peer results worth reporting now (fresh), with their ages. */
  private reportable(nowMono: Nanos): PeerResult[] {
    return this.peerMeasurements(nowMono).map((m) => ({
      peerId: m.peerId,
      offsetNs: m.offsetNs,
      errorNs: m.errorNs,
      rttNs: m.rttNs,
      ageNs: Number(nowMono - m.atMono),
    }));
  }

  /** A datagram from the network, stamped at the edge. */
  onDatagram(datagram: Uint8Array, receivedAt: Instant, from: Peer): void {
    const { clock } = this.deps;
    this.steps.poll(receivedAt.wall);
    const opened = openDatagram(this.envelope, datagram);
    if (opened.ok && opened.message.kind === 'report') {
      this.answerPeer(opened, datagram.length, from, receivedAt);
      return;
    }
    const outcome = this.initiator.handleOpened(opened, receivedAt, clock.stepCount);
    switch (outcome.kind) {
      case 'drop':
        this.drop(outcome.code, outcome.keyId, from, receivedAt);
        return;
      case 'reply':
        this.runnerFor(outcome.target)?.onReply(outcome.session, outcome.reply);
        return;
      case 'result':
        this.runnerFor(outcome.target)?.onResult(outcome.result, receivedAt);
        return;
    }
  }

  private drop(code: Parameters<DropCounts['add']>[0], keyId: number | undefined, from: Peer, at: Instant): void {
    this.drops.add(code);
    this.authFailures.note(code, keyId, from, at.mono);
    if (this.deps.logger.isLevelEnabled('debug')) this.deps.logger.debug({ code }, 'datagram dropped');
  }

  /** A peer checks this node: the responder side, concluding each check with its own estimate. */
  private answerPeer(
    opened: Parameters<CheckResponder['handleOpened']>[0],
    bytes: number,
    from: Peer,
    at: Instant,
  ): void {
    const outcome = this.responder.handleOpened(opened, bytes, from.address, from.port, at, this.deps.clock.stepCount);
    switch (outcome.kind) {
      case 'drop':
        this.drop(outcome.code, outcome.keyId, from, at);
        return;
      case 'reply':
        this.transport?.send(from, (sentAt) => outcome.reply.build(sentAt));
        return;
      case 'finished': {
        const result = outcome.finished.outcome;
        const verdict = result.ok
          ? {
              offsetNs: result.estimate.offsetNs,
              errorNs: result.estimate.errorNs,
              rttNs: result.estimate.rttNs,
              samples: result.estimate.kept,
            }
          : undefined;
        this.transport?.send(from, (sentAt) => outcome.conclude(verdict).build(sentAt));
        return;
      }
    }
  }

  private runnerFor(key: string): CheckRunner | undefined {
    return this.masterLinks.get(key)?.runner ?? this.peerLinks.get(key)?.runner;
  }

  private onMasterResult(link: MasterLink, result: Result, at: Instant): void {
    link.lastResult = result;
    link.lastResultAt = at;
    if (!link.reachable) {
      link.reachable = true;
      this.deps.journal.emit({ kind: 'master_reachable', at: at.wall, node: { id: link.key, addr: link.key } });
    }
    if (this.config.peers > 0 && this.config.pinnedPeers.length === 0 && result.peers.length > 0) {
      this.setPeers(result.peers.slice(0, this.config.peers));
    }
    if (!result.ok) {
      this.checksFailed++;
      this.deps.logger.warn({ master: link.key, reason: result.reason }, 'check discarded by the master');
      return;
    }
    this.checksCompleted++;
    this.deps.llog.line(
      'INFO',
      'slave offset',
      {
        error: nsToMillisText(result.errorNs),
        master: link.key,
        name: this.config.name,
        offset: nsToMillisText(result.offsetNs),
        rtt: nsToMillisText(result.rttNs),
      },
      at.wall,
    );
  }

  private onMasterGiveUp(link: MasterLink, reason: string): void {
    this.checksFailed++;
    if (!link.reachable) return;
    link.reachable = false;
    this.deps.journal.emit({
      kind: 'master_unreachable',
      at: this.deps.clock.now(),
      node: { id: link.key, addr: link.key },
      detail: reason,
    });
  }

  /** The peers the master named: links for new ones, the others stopped. */
  private setPeers(peers: readonly PeerAddress[]): void {
    const wanted = new Map<string, { addr: HostPort; id: string }>();
    for (const peer of peers) {
      try {
        wanted.set(peer.addr, { addr: parseHostPort(peer.addr, 'peer'), id: peer.id });
      } catch {
        this.drops.add('SATURN_ERR_DECODE'); // a master naming a peer saturn cannot address
      }
    }
    for (const [key, link] of this.peerLinks) {
      if (wanted.has(key)) continue;
      link.timer?.cancel();
      link.runner.cancel();
      this.peerLinks.delete(key);
    }
    for (const [key, { addr, id }] of wanted) {
      const known = this.peerLinks.get(key);
      if (known) known.id = id;
      else this.peerLink(key, addr, id);
    }
  }

  private peerLink(key: string, addr: HostPort, id: string | undefined): void {
    const link: PeerLink = {
      key,
      id,
      timer: undefined,
      runner: new CheckRunner(
        key,
        { address: addr.host, port: addr.port },
        this.runnerDeps(),
        {
          onResult: (result, at) => this.onPeerResult(link, result, at),
          onGiveUp: (reason) => this.deps.logger.debug({ peer: key, reason }, 'peer check unanswered'),
        },
        NO_PEER_ANSWER,
      ),
    };
    this.peerLinks.set(key, link);
  }

  private onPeerResult(link: PeerLink, result: Result, at: Instant): void {
    const key = link.key;
    if (!result.ok) {
      this.deps.logger.debug({ peer: key, reason: result.reason }, 'peer check discarded');
      return;
    }
    // Who answered names itself, but the master named who is at this address: a peer answering
    // under another name (an impostor, or a node that moved away) is not measured as either.
    if (link.id !== undefined && result.responderId !== '' && result.responderId !== link.id) {
      this.drops.add('SATURN_ERR_PEER_UNKNOWN');
      this.deps.logger.debug(
        { peer: key, expected: link.id, answered: result.responderId },
        'peer answered under another name',
      );
      return;
    }
    const peerId = link.id ?? (result.responderId || key);
    this.peerResults.delete(key);
    this.peerResults.set(key, {
      peerId,
      addr: key,
      offsetNs: result.offsetNs,
      errorNs: result.errorNs,
      rttNs: result.rttNs,
      atMono: at.mono,
    });
    while (this.peerResults.size > 16) this.peerResults.delete(this.peerResults.keys().next().value!);
    this.judgePeers(at);
  }

  /** CockroachDB's rule: say so when most peers disagree with this clock, and when they agree again. */
  private judgePeers(at: Instant): void {
    const agreement = peerAgreement(this.peerMeasurements(at.mono), this.config.meshToleranceNs);
    if (agreement.mostlyDisagree === this.disagreeing) return;
    this.disagreeing = agreement.mostlyDisagree;
    const fields = {
      name: this.config.name,
      disagree: agreement.disagree.length,
      of: agreement.of,
      peers: agreement.disagree.join(','),
      tolerance: nsToMillisText(this.config.meshToleranceNs),
    };
    if (agreement.mostlyDisagree)
      this.deps.llog.line('WARN', 'this clock disagrees with most of its peers', fields, at.wall);
    else this.deps.llog.line('INFO', 'this clock agrees with its peers again', fields, at.wall);
  }

  async close(): Promise<void> {
    this.intervalTimer?.cancel();
    for (const link of this.masterLinks.values()) link.runner.cancel();
    for (const link of this.peerLinks.values()) {
      link.timer?.cancel();
      link.runner.cancel();
    }
    const pipeline = this.pipeline;
    this.pipeline = undefined;
    this.transport = undefined;
    await pipeline?.close();
  }
}
