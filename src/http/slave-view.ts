/**
 * A slave's own /status and /metrics (with --metrics-addr on a slave): what the master last told
 * it about its clock, whether the master answers, and its checks. Pure: the slave's state and the
 * time come in.
 */
import { Registry } from 'prom-client';
import type { Instant } from '../clock/clock.js';
import type { Result } from '../wire/messages.js';
import { type CommonSources, mirroredCounter, mirroredGauge, registerCommon } from './metrics.js';

/** What the slave knows of one master. */
export interface SlaveMasterView {
  readonly key: string;
  readonly lastResult: Result | undefined;
  readonly lastResultAt: Instant | undefined;
  readonly reachable: boolean;
}

/** One fresh peer measurement: this node − the peer. */
export interface SlavePeerView {
  readonly peerId: string;
  readonly addr: string;
  readonly offsetNs: number;
  readonly errorNs: number;
  readonly rttNs: number;
  readonly atMono: bigint;
}

/** What the slave knows about itself. */
export interface SlaveView {
  readonly name: string;
  /** The masters as configured. */
  readonly master: string;
  /** Each master it checks (the first one's verdict is `lastResult`). */
  readonly masters: readonly SlaveMasterView[];
  /** Fresh peer measurements (the mesh) and how many of them disagree beyond the tolerance. */
  readonly peers: readonly SlavePeerView[];
  readonly peersDisagreeing: readonly string[];
  readonly lastResult: Result | undefined;
  readonly lastResultAt: Instant | undefined;
  readonly masterReachable: boolean;
  readonly checksCompleted: number;
  readonly checksFailed: number;
}

/** The slave's /status document. */
export function slaveStatusDocument(view: SlaveView, now: Instant, drops: Record<string, number>) {
  const r = view.lastResult;
  const good = r !== undefined && r.ok;
  return {
    role: 'slave',
    name: view.name,
    master: view.master,
    masterReachable: view.masterReachable,
    /** The master's last verdict: this clock − the master's. */
    offsetSeconds: good ? r.offsetNs / 1e9 : null,
    errorSeconds: good ? r.errorNs / 1e9 : null,
    rttSeconds: good ? r.rttNs / 1e9 : null,
    lastResultAt: view.lastResultAt ? new Date(Number(view.lastResultAt.wall / 1_000_000n)).toISOString() : null,
    lastResultSecondsAgo: view.lastResultAt ? Number(now.mono - view.lastResultAt.mono) / 1e9 : null,
    checksCompleted: view.checksCompleted,
    checksFailed: view.checksFailed,
    masters: view.masters.map((m) => ({
      addr: m.key,
      reachable: m.reachable,
      offsetSeconds: m.lastResult?.ok ? m.lastResult.offsetNs / 1e9 : null,
      errorSeconds: m.lastResult?.ok ? m.lastResult.errorNs / 1e9 : null,
      lastResultSecondsAgo: m.lastResultAt ? Number(now.mono - m.lastResultAt.mono) / 1e9 : null,
    })),
    /** This node − each peer, as this node measured it. */
    peers: view.peers.map((p) => ({
      id: p.peerId,
      addr: p.addr,
      offsetSeconds: p.offsetNs / 1e9,
      errorSeconds: p.errorNs / 1e9,
      rttSeconds: p.rttNs / 1e9,
      ageSeconds: Number(now.mono - p.atMono) / 1e9,
      disagrees: view.peersDisagreeing.includes(p.peerId),
    })),
    drops,
  };
}

/** The slave's /metrics. */
export class SlaveMetrics {
  readonly registry = new Registry();

  constructor(view: () => SlaveView, common: CommonSources) {
    const r = this.registry;
    const verdict = () => {
      const v = view();
      return v.lastResult?.ok ? v.lastResult : undefined;
    };
    mirroredGauge(
      r,
      'saturn_slave_offset_seconds',
      "This node's clock minus the master's, as the master last measured it.",
      [],
      () => {
        const v = verdict();
        return v ? [[{}, v.offsetNs / 1e9]] : [];
      },
    );
    mirroredGauge(r, 'saturn_slave_error_bound_seconds', 'Error bound of that offset.', [], () => {
      const v = verdict();
      return v ? [[{}, v.errorNs / 1e9]] : [];
    });
    mirroredGauge(
      r,
      'saturn_slave_master_up',
      '1 while the master answers checks, 0 after one went unanswered.',
      [],
      () => [[{}, view().masterReachable ? 1 : 0]],
    );
    mirroredCounter(r, 'saturn_slave_checks_total', 'Checks with the master, by result.', ['result'], () => [
      [{ result: 'completed' }, view().checksCompleted],
      [{ result: 'failed' }, view().checksFailed],
    ]);
    registerCommon(r, common);
  }

  render(): Promise<string> {
    return this.registry.metrics();
  }

  get contentType(): string {
    return this.registry.contentType;
  }
}
