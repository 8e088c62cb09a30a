import { hostname } from 'node:os';
import { type OpenJournal, openJournal } from '../events/open-journal.js';
import { LlogWriter } from '../log/llog.js';
import type { Config } from '../config/options.js';
import { loadHmacKeyFile } from '../config/key-file.js';
import { formatHostPort } from '../util/parse.js';
import type { Clock, Instant } from '../clock/clock.js';
import { peerAgreement } from '../mesh/peer-agreement.js';
import { renderDashboard } from '../http/dashboard.js';
import { HttpServer } from '../http/http-server.js';
import { loadWebConfig } from '../http/web-config.js';
import { SaturnMetrics, type StageTimings } from '../http/metrics.js';
import { statusDocument } from '../http/status.js';
import type { Logger, Sink } from '../log/diagnostics.js';
import type { CheckRecord } from '../fleet/fleet.js';
import { MasterService } from './master-service.js';
import { RESPONDER_DROP_CODES } from '../protocol/responder.js';
import { reasonOf } from '../errors.js';
import { SATURN_VERSION } from '../util/version.js';
import { startRoughtimeServer, type RunningRoughtimeServer } from '../roughtime/server.js';
import { adHocKeys, loadKeyFile } from '../roughtime/server-keys.js';
import { ReferenceMonitor, type ReferenceState } from './reference-monitor.js';
import type { MasterDns } from './masters.js';
import { SlaveService } from './slave-service.js';
import { listening } from './listen.js';
import { SlaveMetrics, type SlaveView, slaveStatusDocument } from '../http/slave-view.js';

/** A JSON route answer. */
function json(doc: unknown) {
  return { type: 'application/json', body: `${JSON.stringify(doc)}\n` };
}

/** The part of a SlaveService its HTTP view reads. */
function slaveState(slave: SlaveService, config: Config, now: Instant): SlaveView {
  const { lastResult, lastResultAt, masterReachable, checksCompleted, checksFailed, masterStates } = slave;
  const peers = slave.peerMeasurements(now.mono);
  return {
    lastResult,
    lastResultAt,
    masterReachable,
    checksCompleted,
    checksFailed,
    masters: masterStates,
    peers,
    peersDisagreeing: peerAgreement(peers, config.meshToleranceNs).disagree,
    name: config.name,
    master: slave.masterNames(),
  };
}

/** A running master or slave with whatever else it serves; `close()` stops everything, newest first. */
export interface RunningNode {
  master?: MasterService;
  slave?: SlaveService;
  http?: HttpServer;
  reference?: ReferenceMonitor;
  roughtime?: RunningRoughtimeServer;
  events?: OpenJournal;
  /**
   * Reads --hmac-key-file again (guarded as at start) and seals and opens with its keys from now
   * on; sessions and checks in flight go on. Returns the key ids now held, current first, or
   * undefined when the key did not come from a file. Throws ConfigError when the file is not
   * usable: the keys in use then stay.
   */
  reloadKeys(): number[] | undefined;
  close(): Promise<void>;
}

export interface NodeDeps {
  clock: Clock;
  logger: Logger;
  /** Where llog lines go: every event and every check (stdout in production). */
  stdout: Sink;
  /** How a slave finds masters given by name (default the system's resolver). */
  dns?: MasterDns;
}

/** The dashboard's URL for links from elsewhere (alerts): an unspecified address becomes the host's name. */
function dashboardUrl(address: { host: string; port: number }, scheme: string): string {
  const host = address.host === '0.0.0.0' || address.host === '::' ? hostname() : address.host;
  return `${scheme}://${formatHostPort({ host, port: address.port })}/`;
}

/** Fleets up to this size export their pairwise peer offsets (about 3 series per node). */
const MAX_PAIRWISE_NODES = 200;

/** Starts the role the configuration asks for, plus the optional HTTP endpoint and reference check. */
export async function startNode(config: Config, deps: NodeDeps): Promise<RunningNode> {
  const closers: (() => Promise<void>)[] = [];
  const node: RunningNode = {
    reloadKeys: () => {
      if (config.hmacKeyFile === undefined) return undefined;
      const keys = loadHmacKeyFile(config.hmacKeyFile, config.allowInsecureKeyFile);
      node.master?.setKeys(keys);
      node.slave?.setKeys(keys);
      return keys.ids;
    },
    close: async () => {
      for (const close of closers.splice(0).reverse()) await close();
    },
  };
  let metrics: SaturnMetrics | undefined;
  try {
    const llog = new LlogWriter(deps.stdout, config.eventFormat);
    const services = { clock: deps.clock, logger: deps.logger, llog };
    const events = await openJournal(
      {
        name: config.name,
        stateDir: config.stateDir,
        webhooks: config.webhooks,
        webhookTimeoutMs: config.webhookTimeoutNs / 1e6,
        outboxMax: config.webhookOutboxMax,
        alertRepostNs: config.alertRepostNs,
      },
      services,
    );
    const journalState = () => ({
      uncommitted: events.journal.uncommitted,
      commitFailures: events.journal.stats.commitFailures,
    });
    node.events = events;
    closers.push(() => events.close());
    // TLS and basic auth of the HTTP port, master's or slave's; read before any socket is opened.
    const web = config.metricsAddr && config.webConfigFile ? loadWebConfig(config.webConfigFile) : undefined;
    if (config.role === 'slave') {
      const slave = await listening(
        '--listen-addr',
        config.listenAddr,
        () => SlaveService.start(config, { ...services, journal: events.journal, dns: deps.dns }),
        ' (by the master or another saturn on this host? give this node its own --listen-addr, e.g. 0.0.0.0:4124)',
      );
      node.slave = slave;
      closers.push(() => slave.close());
      if (config.metricsAddr) {
        const view = (): SlaveView => slaveState(slave, config, deps.clock.read());
        const slaveMetrics = new SlaveMetrics(view, {
          drops: () => slave.drops.snapshot(),
          events: () => events.journal.counts,
          journal: journalState,
          webhooks: () => events.webhooks,
          build: { version: SATURN_VERSION },
          keyUse: () => slave.envelope.keyUse,
          receiveBufferDrops: () => slave.receiveBufferDrops(),
        });
        node.http = await listening('--metrics-addr', config.metricsAddr, () =>
          HttpServer.start(
            config.metricsAddr!,
            {
              '/status': () => json(slaveStatusDocument(view(), deps.clock.read(), slave.drops.snapshot())),
              '/healthz': () => ({ type: 'text/plain', body: 'ok\n' }),
              '/metrics': async () => ({ type: slaveMetrics.contentType, body: await slaveMetrics.render() }),
            },
            web,
          ),
        );
      }
    } else {
      const masterMetrics = new SaturnMetrics({
        nodes: () => node.master?.fleet.all() ?? [],
        thresholdNs: config.thresholdNs,
        drops: () => node.master?.drops.snapshot() ?? {},
        dropReasons: RESPONDER_DROP_CODES.map(reasonOf),
        build: { version: SATURN_VERSION },
        events: () => events.journal.counts,
        journal: journalState,
        webhooks: () => events.webhooks,
        stages: (): Record<string, StageTimings> => (node.master ? { master_leg_hold: node.master.legHold } : {}),
        reference: () => node.reference?.state().state,
        keyUse: () => node.master?.envelope.keyUse ?? { received: new Map(), sent: new Map() },
        receiveBufferDrops: () => node.master?.receiveBufferDrops(),
        cookiesSent: () => node.master?.cookiesSent ?? 0,
        mesh: config.peers > 0 ? () => node.master!.meshInput() : undefined,
        // A series per measured pair: only for fleets small enough that it is cheap.
        meshPairs: () => {
          const master = node.master;
          if (!master || master.fleet.size > MAX_PAIRWISE_NODES) return [];
          return master.mesh.freshEdges(deps.clock.monotonic());
        },
      });
      metrics = masterMetrics;
      // The metrics see every finished check (the RTT histogram) and forget what they kept of a forgotten node.
      const master = await listening('--listen-addr', config.listenAddr, () =>
        MasterService.start(config, {
          ...services,
          journal: events.journal,
          observe: (record: CheckRecord) => masterMetrics.observeCheck(record),
          forgotten: (node) => masterMetrics.forgetNode(node.id),
        }),
      );
      node.master = master;
      closers.push(() => master.close());
      if (config.metricsAddr) {
        node.http = await listening('--metrics-addr', config.metricsAddr, () =>
          HttpServer.start(
            config.metricsAddr!,
            {
              '/status': () =>
                json({
                  ...statusDocument(master.fleet.all(), deps.clock.read(), master.drops.snapshot(), master.meshInput()),
                  legHoldUs: master.legHold.summary(),
                  reference: referenceStatus(node.reference?.state()),
                }),
              '/healthz': () => ({ type: 'text/plain', body: 'ok\n' }),
              '/metrics': async () => ({ type: masterMetrics.contentType, body: await masterMetrics.render() }),
              '/': () => ({
                type: 'text/html; charset=utf-8',
                body: renderDashboard({
                  nodes: master.fleet.all(),
                  thresholdNs: config.thresholdNs,
                  now: deps.clock.read(),
                  reference: node.reference === undefined ? undefined : referenceView(node.reference.state()),
                  mesh:
                    config.peers > 0
                      ? {
                          ...master.meshInput(),
                          toleranceNs: config.meshToleranceNs,
                          edges: master.mesh.freshEdges(deps.clock.monotonic()),
                        }
                      : undefined,
                }),
              }),
            },
            web,
          ),
        );
      }
    }
    if (node.http) {
      const http = node.http;
      closers.push(() => http.close());
      const scheme = web?.tls ? 'https' : 'http';
      if (node.master) events.setGeneratorUrl(dashboardUrl(http.address, scheme));
      deps.logger.info(
        {
          addr: formatHostPort(http.address),
          url: `${scheme}://${formatHostPort(http.address)}/status`,
          tls: web?.tls !== undefined,
          basicAuth: (web?.basicAuthUsers.size ?? 0) > 0,
        },
        'http listening',
      );
    }
    if (config.roughtimeListen) {
      const keys = config.roughtimeKeyFile === undefined ? adHocKeys() : await loadKeyFile(config.roughtimeKeyFile);
      const server = await listening('--roughtime-listen', config.roughtimeListen, () =>
        startRoughtimeServer({ listenAddr: config.roughtimeListen!, keys, clock: deps.clock, logger: deps.logger }),
      );
      node.roughtime = server;
      closers.push(async () => void (await server.close()));
      const publicKey = Buffer.from(server.publicKey).toString('base64');
      if (keys.adHoc)
        deps.logger.warn(
          { publicKey },
          'roughtime: ad hoc long-term key (no --roughtime-key-file): NOT FOR PRODUCTION',
        );
      deps.logger.info({ addr: formatHostPort(server.address), publicKey }, 'roughtime listening');
    }
    if (config.roughtimeServers.length > 0) {
      node.reference = new ReferenceMonitor({
        servers: config.roughtimeServers,
        intervalNs: config.roughtimeIntervalNs,
        clock: deps.clock,
        logger: deps.logger,
        journal: events.journal,
        stateDir: config.stateDir,
        realertNs: config.realertNs,
        onRound: (round) => {
          for (const answer of round.answers) {
            const result = answer.withinInterval
              ? 'ok'
              : round.outvoted.includes(answer.server.name)
                ? 'server_wrong'
                : 'clock_wrong';
            metrics?.observeRoughtime(answer.server.name, result);
            if (answer.result.radiBelowResolution) metrics?.observeRoughtime(answer.server.name, 'server_fault');
          }
          for (const server of round.failures) metrics?.observeRoughtime(server, 'no_answer');
        },
      });
      node.reference.start();
      closers.push(() => node.reference!.close());
    }
  } catch (err) {
    await node.close();
    throw err;
  }
  return node;
}

/**
 * The master's own reference state in /status: `configured: false` without Roughtime servers;
 * offsets in milliseconds (this clock − the server's MIDP), the check time as ISO 8601.
 */
function referenceStatus(state: ReferenceState | undefined): Record<string, unknown> {
  if (state === undefined) return { configured: false, state: 'unknown' };
  return {
    configured: true,
    state: state.state,
    checkedAt: state.checkedAt === undefined ? null : new Date(Number(state.checkedAt / 1_000_000n)).toISOString(),
    server: state.server ?? null,
    offsetMs: state.offsetNs === undefined ? null : state.offsetNs / 1e6,
    errorMs: state.errorNs === undefined ? null : state.errorNs / 1e6,
  };
}

/** The dashboard's line on the master's reference clock: the state and the answer that decided it. */
function referenceView(state: ReferenceState): { state: string; detail: string } {
  if (state.offsetNs === undefined || state.errorNs === undefined)
    return { state: state.state, detail: '(no usable answer yet)' };
  const sign = state.offsetNs >= 0 ? '+' : '−';
  return {
    state: state.state,
    detail: `${state.server}: ${sign}${(Math.abs(state.offsetNs) / 1e6).toFixed(3)} ms ± ${(state.errorNs / 1e6).toFixed(3)} ms`,
  };
}
