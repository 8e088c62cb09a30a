/**
 * Alerts: the lifecycle behind the events. An alert is raised by one event kind and resolved by
 * another (drift by recovered, ...); the table below pairs them, one row per alert, so a new kind
 * only adds a row (or a kind to `resolvedBy`). An alert is identified by its name, the node it is
 * about and the node that reports it: exactly the labels Alertmanager sees, so a resolve matches
 * its raise. `ActiveAlerts` follows the events as they are published and knows which alerts are
 * firing now, for the Alertmanager webhooks to re-post (formats.ts, webhook.ts).
 */
import type { Nanos } from '../clock/clock.js';
import { EVENT_KINDS, type EventKind, type SaturnEvent } from './event.js';

/** One alert: its name and severity as Alertmanager shows them, the kind that raises it and the kind that ends it. */
export interface AlertRule {
  readonly alertname: string;
  readonly severity: 'warning' | 'critical';
  readonly raisedBy: EventKind;
  /**
   * The kinds that resolve it. None (yet): the alert is posted once, without an end, and
   * Alertmanager resolves it after its own resolve_timeout.
   */
  readonly resolvedBy: readonly EventKind[];
  /**
   * One alert per reporter, not per node: a link's state as one node sees it (slave → master),
   * which another reporter does not share. Otherwise reporters of the same node share the alert.
   */
  readonly perReporter?: true;
}

/** Every alert saturn raises. Each event kind appears exactly once, raising or resolving. */
export const ALERT_RULES: readonly AlertRule[] = [
  { alertname: 'SaturnClockOffset', severity: 'warning', raisedBy: 'drift', resolvedBy: ['recovered'] },
  { alertname: 'SaturnDriftRate', severity: 'warning', raisedBy: 'drift_rate', resolvedBy: ['drift_rate_recovered'] },
  // A forgotten node's lost alert is over too.
  {
    alertname: 'SaturnSlaveLost',
    severity: 'warning',
    raisedBy: 'slave_lost',
    resolvedBy: ['slave_back', 'slave_forgotten'],
  },
  {
    alertname: 'SaturnMasterUnreachable',
    severity: 'warning',
    raisedBy: 'master_unreachable',
    resolvedBy: ['master_reachable'],
    perReporter: true,
  },
  { alertname: 'SaturnNameConflict', severity: 'warning', raisedBy: 'name_conflict', resolvedBy: [] },
  {
    alertname: 'SaturnReferenceClockWrong',
    severity: 'critical',
    raisedBy: 'reference_clock_wrong',
    resolvedBy: ['reference_clock_recovered'],
  },
  {
    alertname: 'SaturnFalseticker',
    severity: 'critical',
    raisedBy: 'falseticker',
    resolvedBy: ['falseticker_recovered'],
  },
  {
    alertname: 'SaturnNoMajority',
    severity: 'critical',
    raisedBy: 'no_majority',
    resolvedBy: ['no_majority_recovered'],
  },
  // A step is a moment, not a state: posted once, it ends by Alertmanager's resolve_timeout.
  { alertname: 'SaturnClockStep', severity: 'warning', raisedBy: 'clock_step', resolvedBy: [] },
  // A proof of a past fact (a pair of signed answers), not a state: posted once.
  {
    alertname: 'SaturnRoughtimeMalfeasance',
    severity: 'warning',
    raisedBy: 'roughtime_malfeasance',
    resolvedBy: [],
  },
];

/** An event kind's alert, and whether the kind resolves it (rather than raising it). */
export interface KindAlert {
  rule: AlertRule;
  resolves: boolean;
}

const BY_KIND = new Map<EventKind, KindAlert>();
for (const rule of ALERT_RULES) {
  BY_KIND.set(rule.raisedBy, { rule, resolves: false });
  for (const kind of rule.resolvedBy) BY_KIND.set(kind, { rule, resolves: true });
}

/**
 * The alert an event kind raises or resolves. A kind without a row (a test fails for that) still
 * gets an alert of its own name, posted once.
 */
export function alertOf(kind: EventKind): KindAlert {
  return (
    BY_KIND.get(kind) ?? {
      rule: { alertname: `Saturn_${kind}`, severity: 'warning', raisedBy: kind, resolvedBy: [] },
      resolves: false,
    }
  );
}

/** Event kinds the table does not mention (should be none). */
export function kindsWithoutAlert(): EventKind[] {
  return EVENT_KINDS.filter((kind) => !BY_KIND.has(kind));
}

/**
 * The labels that identify an event's alert (Prometheus conventions: no `instance`, which
 * Prometheus sets itself). An alert about a node is named by the node alone, not by who reports
 * it: two masters watching one slave (an HA pair) raise the same label set, and Alertmanager
 * deduplicates them into one notification. The reporter is a label too where the alert is its own
 * view: a link (perReporter), or no node in particular (no_majority: the reporter's own fleet).
 */
export function alertLabels(event: SaturnEvent): Record<string, string> {
  return labelsOf(alertOf(event.kind).rule, event);
}

/** The labels of `rule`'s alert about what `event` is about. */
export function labelsOf(rule: AlertRule, event: SaturnEvent): Record<string, string> {
  const labels: Record<string, string> = { alertname: rule.alertname, severity: rule.severity };
  if (event.node) labels.node = event.node.id;
  if (!event.node || rule.perReporter) labels.reporter = event.reporter;
  return labels;
}

const keyOf = (event: SaturnEvent) => JSON.stringify(alertLabels(event));

/**
 * Kinds after which their node is gone: forgotten (lost for longer than --forget-after), or found
 * to be two hosts under one name (kept apart from then on as name@addr). Every alert about it ends
 * with them; held, it would be re-posted (and fire) for ever, since nothing about that node comes
 * again.
 */
export const NODE_ENDING_KINDS: readonly EventKind[] = ['slave_forgotten', 'name_conflict'];

/** The kinds raising the held alerts about a slave the master watches. */
const SLAVE_ALERT_KINDS: readonly EventKind[] = ['drift', 'drift_rate', 'slave_lost', 'falseticker'];

/** The held alerts an event ends besides its own rule's: every alert about a slave that is gone. */
export function endedRules(event: SaturnEvent): readonly AlertRule[] {
  if (!event.node || !NODE_ENDING_KINDS.includes(event.kind)) return [];
  const own = alertOf(event.kind).rule;
  return ALERT_RULES.filter((rule) => rule !== own && SLAVE_ALERT_KINDS.includes(rule.raisedBy));
}

/** A firing alert: the event that raised it last (a re-alert updates it) and when it began. */
export interface ActiveAlert {
  startsAt: Nanos;
  event: SaturnEvent;
}

/** The alerts firing now (raised and not yet resolved), from the events in sequence order. */
export class ActiveAlerts {
  readonly #active = new Map<string, ActiveAlert>();

  /** Follows one published event. Alerts without a resolving kind are never held active. */
  apply(event: SaturnEvent): void {
    const { rule, resolves } = alertOf(event.kind);
    for (const ended of endedRules(event)) this.#active.delete(JSON.stringify(labelsOf(ended, event)));
    if (rule.resolvedBy.length === 0) return;
    const key = keyOf(event);
    if (resolves) this.#active.delete(key);
    else this.#active.set(key, { startsAt: this.#active.get(key)?.startsAt ?? event.at, event });
  }

  /** The active alert an event belongs to, if it is firing. */
  get(event: SaturnEvent): ActiveAlert | undefined {
    return this.#active.get(keyOf(event));
  }

  all(): ActiveAlert[] {
    return [...this.#active.values()];
  }

  get size(): number {
    return this.#active.size;
  }
}
