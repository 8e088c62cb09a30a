import assert from 'node:assert/strict';
import { test } from 'node:test';
import { ALERT_RULES, ActiveAlerts, alertLabels, alertOf, kindsWithoutAlert } from '../../src/events/alerts.js';
import { EVENT_KINDS, type EventKind, type SaturnEvent } from '../../src/events/event.js';
import { alertmanagerBody } from '../../src/events/formats.js';

const AT = 1_714_564_800_000_000_000n;
let sequence = 0;
const event = (kind: EventKind, node = 'web-3', reporter = 'master', at = AT): SaturnEvent => ({
  kind,
  at,
  sequence: ++sequence,
  reporter,
  node: { id: node, addr: '10.0.0.3:4123' },
});

test('the table: every event kind raises or resolves exactly one alert', () => {
  assert.deepEqual(kindsWithoutAlert(), []);
  const mentions = ALERT_RULES.flatMap((r) => [r.raisedBy, ...r.resolvedBy]);
  assert.equal(new Set(mentions).size, mentions.length, 'no kind in two rows');
  for (const kind of EVENT_KINDS) assert.ok(mentions.includes(kind), `${kind} has no row`);
  assert.equal(new Set(ALERT_RULES.map((r) => r.alertname)).size, ALERT_RULES.length);
  assert.deepEqual(alertOf('recovered'), { rule: alertOf('drift').rule, resolves: true });
  assert.deepEqual(alertOf('master_reachable'), { rule: alertOf('master_unreachable').rule, resolves: true });
});

test('labels identify an alert: name, severity and the node it is about, whoever reports it; never instance', () => {
  assert.deepEqual(alertLabels(event('drift')), {
    alertname: 'SaturnClockOffset',
    severity: 'warning',
    node: 'web-3',
  });
  // Two masters of an HA pair raise the same alert: Alertmanager deduplicates it.
  assert.deepEqual(alertLabels(event('drift', 'web-3', 'master-b')), alertLabels(event('drift', 'web-3', 'master-a')));
  // A link is its reporter's own view; an alert about no node is about the reporter's fleet.
  assert.equal(alertLabels(event('master_unreachable', '10.0.0.1:4123', 'web-1')).reporter, 'web-1');
  assert.equal(alertLabels({ ...event('no_majority'), node: undefined }).reporter, 'master');
  assert.deepEqual(alertLabels(event('recovered')), alertLabels(event('drift')));
  assert.equal(alertLabels(event('reference_clock_wrong')).severity, 'critical');
  for (const kind of EVENT_KINDS) assert.equal(alertLabels(event(kind)).instance, undefined);
});

test('active alerts: raised, re-alerted (same start), resolved; each node on its own', () => {
  const alerts = new ActiveAlerts();
  alerts.apply(event('drift', 'web-3'));
  alerts.apply(event('drift', 'web-4', 'master', AT + 5n));
  const realert = event('drift', 'web-3', 'master', AT + 600n);
  alerts.apply(realert);
  assert.equal(alerts.size, 2);
  assert.deepEqual(alerts.get(realert), { startsAt: AT, event: realert });
  alerts.apply(event('recovered', 'web-3'));
  assert.deepEqual(
    alerts.all().map((a) => a.event.node!.id),
    ['web-4'],
  );
  alerts.apply(event('recovered', 'web-9')); // nothing to resolve: harmless
  assert.equal(alerts.size, 1);
});

test('an alert nothing resolves is never held active (it is posted once)', () => {
  const alerts = new ActiveAlerts();
  for (const rule of ALERT_RULES.filter((r) => r.resolvedBy.length === 0)) alerts.apply(event(rule.raisedBy));
  assert.equal(alerts.size, 0);
});

test('a lost slave is resolved by its return, or by being forgotten', () => {
  const alerts = new ActiveAlerts();
  alerts.apply(event('slave_lost', 'web-1'));
  alerts.apply(event('slave_lost', 'web-2'));
  alerts.apply(event('slave_back', 'web-1'));
  alerts.apply(event('slave_forgotten', 'web-2'));
  assert.equal(alerts.size, 0);
  assert.deepEqual(alertOf('slave_forgotten'), { rule: alertOf('slave_lost').rule, resolves: true });
});

test('a node that is gone (forgotten, or found to be two hosts) ends every alert about it, posted as ended', () => {
  const alerts = new ActiveAlerts();
  for (const kind of ['drift', 'drift_rate', 'falseticker', 'slave_lost'] as const) alerts.apply(event(kind, 'web-1'));
  alerts.apply(event('drift', 'web-2'));
  const conflict = event('name_conflict', 'web-1');
  alerts.apply(conflict);
  assert.deepEqual(
    alerts.all().map((a) => a.event.node!.id),
    ['web-2'],
    'held for ever otherwise: nothing about the merged node comes again',
  );
  const body = alertmanagerBody(conflict, { now: AT, holdNs: 60e9 });
  const ended = body.filter((a) => a.endsAt === '2024-05-01T12:00:00.000000000Z');
  assert.deepEqual(ended.map((a) => (a.labels as Record<string, string>).alertname).sort(), [
    'SaturnClockOffset',
    'SaturnDriftRate',
    'SaturnFalseticker',
    'SaturnSlaveLost',
  ]);
  for (const a of ended) assert.equal((a.labels as Record<string, string>).node, 'web-1');
  alerts.apply(event('drift', 'web-3'));
  alerts.apply(event('slave_forgotten', 'web-3'));
  assert.deepEqual(
    alerts.all().map((a) => a.event.node!.id),
    ['web-2'],
  );
});

test('master unreachable is resolved by master reachable from the same slave only', () => {
  const alerts = new ActiveAlerts();
  alerts.apply(event('master_unreachable', 'master', 'web-1'));
  alerts.apply(event('master_unreachable', 'master', 'web-2'));
  alerts.apply(event('master_reachable', 'master', 'web-1'));
  assert.deepEqual(
    alerts.all().map((a) => a.event.reporter),
    ['web-2'],
  );
});
