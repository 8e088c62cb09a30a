import type { RemoteInfo } from 'node:dgram';
import { LlogWriter, nsToMillisText } from '../alert/llog.js';
import type { Config } from '../cli/config.js';
import { formatHostPort } from '../cli/parse.js';
import type { Clock, Nanos } from '../clock/clock.js';
import type { Logger, Sink } from '../log/diagnostics.js';
import { UdpEndpoint } from '../net/udp-endpoint.js';
import { type CheckRecord, Fleet } from '../saturn/fleet.js';
import { MasterCore } from '../saturn/master.js';
import { Envelope } from '../wire/envelope.js';
import { DropCounts } from './drop-counts.js';

export interface MasterDeps {
  clock: Clock;
  logger: Logger;
  /** Where the llog event stream goes (stdout in production). */
  events: Sink;
}

/** A running master: the UDP edge wired to the protocol core, the fleet and the llog stream. */
export class MasterService {
  readonly fleet: Fleet;
  readonly drops = new DropCounts();
  private constructor(
    private readonly config: Config,
    private readonly deps: MasterDeps,
    private readonly core: MasterCore,
    private readonly llog: LlogWriter,
    private endpoint: UdpEndpoint | undefined,
  ) {
    this.fleet = new Fleet({ thresholdNs: config.thresholdNs, realertNs: config.realertNs });
  }

  static async start(config: Config, deps: MasterDeps): Promise<MasterService> {
    const core = new MasterCore({
      envelope: new Envelope(config.hmacKey),
      rounds: config.rounds,
      // Both clocks' resolution widens each sample: the master's plus the slave's (assumed alike).
      resolutionNs: 2 * deps.clock.resolutionNs,
    });
    const service = new MasterService(config, deps, core, new LlogWriter(deps.events), undefined);
    service.endpoint = await UdpEndpoint.bind(config.listenAddr, deps.clock, (d, from, at) => service.onDatagram(d, from, at));
    deps.logger.info({ addr: formatHostPort(service.address), rounds: config.rounds }, 'master listening');
    return service;
  }

  get address() {
    return this.endpoint!.address;
  }

  private onDatagram(datagram: Buffer, from: RemoteInfo, receivedAt: Nanos): void {
    const { clock, logger } = this.deps;
    const outcome = this.core.handle(datagram, from.address, from.port, receivedAt, clock.stepCount);
    const to = { host: from.address, port: from.port };
    switch (outcome.kind) {
      case 'drop':
        this.drops.add(outcome.code);
        logger.debug({ from: `${from.address}:${from.port}`, code: outcome.code }, 'datagram dropped');
        return;
      case 'reply':
        this.send(outcome.reply.build(clock.now()), to);
        return;
      case 'finished': {
        const record = this.fleet.record(outcome.finished);
        this.send(outcome.conclude(record.verdict).build(clock.now()), to);
        this.report(record, outcome.finished.outcome.ok ? undefined : outcome.finished.outcome.detail);
        return;
      }
    }
  }

  private send(bytes: Uint8Array, to: { host: string; port: number }): void {
    this.endpoint?.send(bytes, to, (err) => this.deps.logger.debug({ err: err.message }, 'send failed'));
  }

  /** The llog lines of one finished check: INFO always, WARN on crossing/re-alert, INFO on recovery. */
  private report(record: CheckRecord, discardReason: string | undefined): void {
    const { node, verdict, alarm } = record;
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
    this.llog.line('INFO', 'slave offset', fields);
    const threshold = nsToMillisText(this.config.thresholdNs);
    if (alarm === 'drift' || alarm === 'realert') this.llog.line('WARN', 'slave offset is over threshold', { ...fields, threshold });
    else if (alarm === 'recovered') this.llog.line('INFO', 'slave offset back under threshold', { ...fields, threshold });
  }

  async close(): Promise<void> {
    const endpoint = this.endpoint;
    this.endpoint = undefined;
    await endpoint?.close();
  }
}
