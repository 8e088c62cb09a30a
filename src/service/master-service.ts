import type { EventJournal } from '../events/journal.js';
import { type LlogWriter, nsToMillisText } from '../log/llog.js';
import type { Config } from '../config/options.js';
import { formatHostPort } from '../util/parse.js';
import { type Clock, type Instant, type Nanos, type Timer, isoNanos } from '../clock/clock.js';
import type { Logger } from '../log/diagnostics.js';
import { type FastSend, type Peer, type Pipeline, createPipeline } from '../pipeline/pipeline.js';
import { driftText } from '../fleet/drift-rate.js';
import { type CheckRecord, Fleet, type NameConflict, type NodeState, addrOf } from '../fleet/fleet.js';
import { FleetMesh, type MeshChanges, sweepsPerVote } from '../fleet/fleet-mesh.js';
import type { NodeVerdict } from '../mesh/consensus.js';
import type { MeshInput } from '../http/status.js';
import type { EventSubject } from '../events/event.js';
import { type FinishedCheck, CheckResponder } from '../protocol/responder.js';
import { DEFAULT_COOKIE_ROTATION_NS } from '../protocol/cookies.js';
import { Envelope } from '../wire/envelope.js';
import type { KeyRing } from '../wire/keys.js';
import type { DurationHistogram } from '../pipeline/stats.js';
import { DropCounts } from '../pipeline/drop-counts.js';
import { socketReceiveDrops } from '../pipeline/kernel-drops.js';
import { TokenBuckets } from '../util/rate-limit.js';
import { AuthFailureLog } from './auth-failures.js';
import { ClockStepReporter } from './clock-steps.js';

export interface MasterDeps {
  clock: Clock;
  logger: Logger;
  /** The llog stream: one line per finished check. */
  llog: LlogWriter;
  /** Where events go (numbered, to the llog stream and every webhook). */
  journal: EventJournal;
  /** Sees every finished check (metrics, the accuracy bench). */
  observe?: (record: CheckRecord, finished: FinishedCheck) => void;
  /** Told of every node the fleet forgets (metrics drop its labels). */
  forgotten?: (node: NodeState) => void;
}

/** What a drift or recovered event judged against the agreed time says (its offset is not against the master's clock). */
const AGAINST_AGREED =
  "offset from the time most clocks agree on (the mesh's agreed time), not from the master's clock";

/** The reason a Result gives a check from a new address of a name whose current address is alive. */
export const UNCONFIRMED_MOVE_REASON = 'new address for this name: held until the next check (a move, or two hosts?)';

/** The reason a Result gives a slave whose --name has an '@' (reserved for name@address). */
export const NAME_WITH_AT_REASON = "'@' is reserved in --name (name@address: two hosts of one name)";

/** The reason a Result gives a slave that checks in under the master's own --name. */
export const NAME_TAKEN_REASON = "this node's --name is the master's own: give this node another name";

/** A running master: the UDP edge wired to the protocol core, the fleet and the llog stream. */
export class MasterService {
  readonly fleet: Fleet;
  /** Peer results, peer assignments and the consensus (inactive with --peers 0). */
  readonly mesh: FleetMesh;
  readonly drops = new DropCounts();
  /** The envelope of every datagram: its keys (reloaded on SIGHUP) and the datagrams per key id. */
  readonly envelope: Envelope;
  private readonly core: CheckResponder;
  private readonly authFailures: AuthFailureLog;
  private readonly steps: ClockStepReporter;
  /** One "fleet full" line a minute at most (the refusals are all counted). */
  private readonly fleetFullLog = new TokenBuckets<string>({ ratePerSecond: 1 / 60, burst: 1, maxKeys: 1 });
  private readonly nameTakenLog = new TokenBuckets<string>({ ratePerSecond: 1 / 60, burst: 1, maxKeys: 1024 });
  private pipeline: Pipeline | undefined;
  private lostTimer: Timer | undefined;
  /** Sweeps since the mesh last voted. */
  private sweepsSinceVote = 0;

  private constructor(
    private readonly config: Config,
    private readonly deps: MasterDeps,
  ) {
    this.fleet = new Fleet({
      thresholdNs: config.thresholdNs,
      realertNs: config.realertNs,
      maxDriftPpm: config.maxDriftPpm,
      predictNs: config.predictNs,
      intervalNs: config.intervalNs,
      forgetAfterNs: config.forgetAfterNs,
      maxNodes: config.maxNodes,
    });
    this.mesh = new FleetMesh(this.fleet, {
      masterId: config.name,
      peersPerNode: config.peers,
      toleranceNs: config.meshToleranceNs,
      masterErrorNs: deps.clock.resolutionNs,
      intervalNs: config.intervalNs,
      startMono: deps.clock.monotonic(),
    });
    this.envelope = new Envelope(config.hmacKeys);
    this.core = new CheckResponder({
      envelope: this.envelope,
      nodeId: config.name,
      rounds: config.rounds,
      // Both clocks' resolution widens each sample: the master's plus the slave's (assumed alike).
      resolutionNs: 2 * deps.clock.resolutionNs,
      sourceRate: config.sourceCheckRate,
      admit: (nodeId, ip, port) => this.fleet.admits(nodeId, formatHostPort({ host: ip, port })),
      // A slave carries the cookie of one check's Result to its next, an interval (+10% jitter) later.
      cookies: { rotationNs: Math.max(DEFAULT_COOKIE_ROTATION_NS, 2 * config.intervalNs) },
    });
    this.authFailures = new AuthFailureLog(deps.logger);
    this.steps = new ClockStepReporter(deps.clock, deps.journal, () => ({
      id: config.name,
      addr: formatHostPort(this.pipeline?.address ?? config.listenAddr),
    }));
  }

  static async start(config: Config, deps: MasterDeps): Promise<MasterService> {
    const service = new MasterService(config, deps);
    // The legs take the pipeline's fast lane: no queue, no batch, the reply stamped at its send.
    service.pipeline = await createPipeline({
      listenAddr: config.listenAddr,
      clock: deps.clock,
      lanes: { fast: { handle: (d, from, at, send) => service.onDatagram(d, from, at, send) } },
      // 10,000 slaves send ~6,000 legs/s: a 4 MiB receive buffer rides out a pause of the event
      // loop (GC, a slow stdout reader) that the default ~200 datagrams would not.
      receiveBufferBytes: 4 << 20,
    });
    deps.logger.info({ addr: formatHostPort(service.address), rounds: config.rounds }, 'master listening');
    service.scheduleSweep();
    return service;
  }

  get address() {
    return this.pipeline!.address;
  }

  /** How long each leg waited inside the master: receipt at the socket to the send stamp. */
  get legHold(): DurationHistogram {
    return this.pipeline!.timings.fast;
  }

  /** Openings answered with a cookie rather than a session. */
  get cookiesSent(): number {
    return this.core.cookiesSent;
  }

  /** Datagrams the kernel dropped because the socket's receive buffer was full (undefined: not known here). */
  receiveBufferDrops(): number | undefined {
    return this.pipeline && socketReceiveDrops(this.pipeline.address);
  }

  /** Uses these keys from now on (a reloaded key file); sessions and their checks go on. */
  setKeys(keys: KeyRing): void {
    this.envelope.setKeys(keys);
  }

  private onDatagram(datagram: Buffer, from: Peer, receivedAt: Instant, send: FastSend): void {
    const { clock, logger } = this.deps;
    if (this.steps.poll(receivedAt.wall)) this.mesh.masterStepped(receivedAt.mono);
    const outcome = this.core.handle(datagram, from.address, from.port, receivedAt, clock.stepCount);
    switch (outcome.kind) {
      case 'drop':
        this.drops.add(outcome.code);
        this.authFailures.note(outcome.code, outcome.keyId, from, receivedAt.mono);
        if (outcome.code === 'SATURN_ERR_FLEET_FULL') this.logFleetFull(from, receivedAt);
        if (logger.isLevelEnabled('debug'))
          logger.debug(
            { from: formatHostPort({ host: from.address, port: from.port }), code: outcome.code },
            'datagram dropped',
          );
        return;
      case 'reply':
        send(from, (sentAt) => outcome.reply.build(sentAt));
        return;
      case 'finished': {
        const { nodeId, ip, port } = outcome.finished;
        if (nodeId === this.config.name || nodeId.includes('@')) {
          // A slave under the master's own name would be the master in the mesh: its peer reports
          // filed as the master's, its verdict the master's; one with an '@' would land in the row
          // of a host the master keeps apart as name@address. Refused, the reason in its Result.
          this.drops.add('SATURN_ERR_NAME_TAKEN');
          this.logNameTaken(from, receivedAt);
          const reason = nodeId === this.config.name ? NAME_TAKEN_REASON : NAME_WITH_AT_REASON;
          send(from, (sentAt) => outcome.conclude(undefined, [], reason).build(sentAt));
          return;
        }
        if (!this.fleet.admits(nodeId, formatHostPort({ host: ip, port }))) {
          // The fleet filled up while this check ran: it is refused like an opening would be.
          this.drops.add('SATURN_ERR_FLEET_FULL');
          this.logFleetFull(from, receivedAt);
          send(from, (sentAt) => outcome.conclude(undefined).build(sentAt));
          return;
        }
        const record = this.fleet.record(outcome.finished, (node) => this.mesh.referenceFor(node, receivedAt.mono));
        if (record.unconfirmed) {
          send(from, (sentAt) => outcome.conclude(undefined, [], UNCONFIRMED_MOVE_REASON).build(sentAt));
          return;
        }
        for (const code of this.mesh.recordReports(record.node, outcome.finished.peerResults, receivedAt))
          this.drops.add(code);
        // Results beyond the most one report may carry were never taken: each is refused like an absurd one.
        const over = this.mesh.enabled ? (outcome.finished.peerResultsOver ?? 0) : 0;
        if (over > 0) this.drops.add('SATURN_ERR_PEER_ABSURD', over);
        const peers = this.mesh.peersFor(record.node, receivedAt);
        send(from, (sentAt) => outcome.conclude(record.verdict, peers).build(sentAt));
        this.report(record, outcome.finished);
        return;
      }
    }
  }

  /** The llog line of one finished check (INFO), and its events on crossing, re-alert or recovery (threshold, drift rate). */
  private report(record: CheckRecord, finished: FinishedCheck): void {
    const at = finished.at.wall;
    const discardReason = finished.outcome.ok ? undefined : finished.outcome.detail;
    const { node, verdict, alarm } = record;
    const subject = subjectOf(node);
    if (record.conflict) this.nameConflict(record.conflict, at);
    if (record.back) this.deps.journal.emit({ kind: 'slave_back', at, node: subject });
    this.deps.observe?.(record, finished);
    if (!verdict) {
      this.deps.logger.warn({ name: node.id, ip: node.ip, reason: discardReason }, 'check discarded');
      return;
    }
    const fields = {
      ip: node.ip,
      name: node.id,
      offset: nsToMillisText(verdict.offsetNs),
      error: nsToMillisText(verdict.errorNs),
      rtt: nsToMillisText(verdict.rttNs),
    };
    this.deps.llog.line('INFO', 'slave offset', fields, at);
    if (alarm !== undefined && record.judged) {
      // The numbers the threshold judged: against the agreed time while a majority agrees.
      const judged = record.judged;
      this.deps.journal.emit({
        kind: alarm === 'recovered' ? 'recovered' : 'drift',
        at,
        node: subject,
        offsetNs: judged.offsetNs,
        errorNs: judged.errorNs,
        rttNs: verdict.rttNs,
        thresholdNs: this.config.thresholdNs,
        repeat: alarm === 'realert' ? true : undefined,
        detail: judged.reference === 'agreed' ? AGAINST_AGREED : undefined,
      });
    }
    // The numbers the rule judged: against the master, or against the agreed time while a majority agrees.
    const rate = record.rate;
    if (record.driftRate !== undefined && rate) {
      const { frequency } = rate;
      this.deps.journal.emit({
        kind: record.driftRate === 'recovered' ? 'drift_rate_recovered' : 'drift_rate',
        at,
        node: subject,
        offsetNs: rate.offsetNs,
        errorNs: rate.errorNs,
        thresholdNs: this.config.thresholdNs,
        frequencyPpm: frequency.ppm,
        frequencyErrorPpm: (frequency.hiPpm - frequency.loPpm) / 2,
        repeat: record.driftRate === 'realert' ? true : undefined,
        detail: driftText(rate.offsetNs, frequency, this.config.thresholdNs),
      });
    }
  }

  private logNameTaken(from: Peer, at: Instant): void {
    if (!this.nameTakenLog.take(from.address, at.mono)) return;
    this.deps.logger.warn(
      { from: formatHostPort({ host: from.address, port: from.port }), name: this.config.name },
      "a slave checks in under a name it may not have (the master's own --name, or one with an '@'): refused and counted as name_taken (at most one line a minute per source)",
    );
  }

  private logFleetFull(from: Peer, at: Instant): void {
    if (!this.fleetFullLog.take('fleet', at.mono)) return;
    this.deps.logger.warn(
      { from: formatHostPort({ host: from.address, port: from.port }), maxNodes: this.config.maxNodes },
      'fleet full (--max-nodes): checks from new nodes are refused and counted as fleet_full (at most one line a minute)',
    );
  }

  private nameConflict(conflict: NameConflict, at: Nanos): void {
    const [a, b] = conflict.addrs;
    this.mesh.forget(conflict.name);
    this.deps.journal.emit({
      kind: 'name_conflict',
      at,
      node: { id: conflict.name, addr: a },
      detail: `${a} and ${b} both report the name ${conflict.name}: kept apart as ${conflict.name}@${a} and ${conflict.name}@${b}; give them distinct --name`,
    });
  }

  /**
   * Sweeps for lost slaves at least once a second and twice an interval, and runs the mesh's vote
   * on every sweep, or every few for a fleet too large to vote on each (sweepsPerVote: at least
   * twice an interval). The timer is the edge: it reads the clock.
   */
  private scheduleSweep(): void {
    const sweepNs = Math.max(10e6, Math.min(1e9, this.config.intervalNs / 2));
    this.lostTimer = this.deps.clock.setTimer(sweepNs, () => {
      const now = this.deps.clock.read();
      if (this.steps.poll(now.wall)) this.mesh.masterStepped(now.mono);
      this.sweep(now);
      if (++this.sweepsSinceVote >= sweepsPerVote(this.fleet.size, sweepNs, this.config.intervalNs)) {
        this.sweepsSinceVote = 0;
        const changes = this.mesh.evaluate(now);
        if (changes) this.meshEvents(changes, now.wall);
      }
      this.scheduleSweep();
    });
  }

  /** Raises slave_lost for every slave silent for 3 of its intervals, slave_forgotten after --forget-after. */
  private sweep(now: Instant): void {
    const { lost, forgotten } = this.fleet.sweep(now);
    for (const node of forgotten) {
      this.mesh.forget(node.id);
      this.deps.forgotten?.(node);
      const silentS = Math.round(Number(now.mono - node.lastSeenMono) / 1e9);
      this.deps.journal.emit({
        kind: 'slave_forgotten',
        at: now.wall,
        node: subjectOf(node),
        detail: `no check for ${silentS} s`,
      });
    }
    for (const node of lost) {
      const silentS = Math.round(Number(now.mono - node.lastSeenMono) / 1e9);
      const last = node.lastCheckAt === undefined ? 'none' : isoNanos(node.lastCheckAt);
      this.deps.journal.emit({
        kind: 'slave_lost',
        at: now.wall,
        node: subjectOf(node),
        detail: `no check for ${silentS} s (last good check: ${last})`,
      });
    }
  }

  /** The mesh's events: each node named or cleared, the majority lost or back. */
  private meshEvents(changes: MeshChanges, at: Nanos): void {
    const { agree, of } = changes.consensus;
    const about = (verdict: NodeVerdict) => ({
      at,
      node: this.subjectById(verdict.id),
      offsetNs: verdict.consensusOffsetNs,
      errorNs: verdict.consensusErrorNs,
      agree,
      of,
    });
    for (const verdict of changes.newFalsetickers) this.deps.journal.emit({ kind: 'falseticker', ...about(verdict) });
    for (const verdict of changes.recovered)
      this.deps.journal.emit({ kind: 'falseticker_recovered', ...about(verdict) });
    if (changes.majorityLost) this.deps.journal.emit({ kind: 'no_majority', at, agree, of });
    if (changes.majorityRegained) this.deps.journal.emit({ kind: 'no_majority_recovered', at, agree, of });
  }

  /** The master's own entry and the mesh's vote, for /status and the dashboard. */
  meshInput(): MeshInput {
    return {
      peers: this.config.peers,
      consensus: this.mesh.consensus,
      named: this.mesh.named,
      master: {
        id: this.config.name,
        addr: formatHostPort(this.pipeline?.address ?? this.config.listenAddr),
        intervalNs: this.config.intervalNs,
        resolutionNs: this.deps.clock.resolutionNs,
        view: this.mesh.masterView,
      },
      masterFrequency: this.mesh.masterFrequency,
    };
  }

  /** A node the mesh names, the master included (by its --name and listen address). */
  private subjectById(id: string): EventSubject {
    const node = id === this.config.name ? undefined : this.fleet.get(id);
    if (node) return subjectOf(node);
    return { id, addr: formatHostPort(this.pipeline?.address ?? this.config.listenAddr) };
  }

  async close(): Promise<void> {
    this.lostTimer?.cancel();
    const pipeline = this.pipeline;
    this.pipeline = undefined;
    await pipeline?.close();
  }
}

/** The node as events name it. */
function subjectOf(node: NodeState): EventSubject {
  return { id: node.id, addr: addrOf(node) };
}
