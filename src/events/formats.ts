/**
 * Webhook bodies, one codec per format: `json` (saturn's own record of an event), `slack` (a text
 * message), `alertmanager` (Alertmanager's POST /api/v2/alerts list, from the alert table of
 * alerts.ts); and the JSON line of an event on stdout.
 */
import { type Nanos, isoNanos } from '../clock/clock.js';
import { ConfigError } from '../errors.js';
import { type ActiveAlert, alertLabels, alertOf, endedRules, labelsOf } from './alerts.js';
import type { EventKind, SaturnEvent } from './event.js';

export const WEBHOOK_FORMATS = ['json', 'slack', 'alertmanager'] as const;
export type WebhookFormat = (typeof WEBHOOK_FORMATS)[number];

/** One webhook: where, and in which format. */
export interface WebhookSpec {
  url: string;
  format: WebhookFormat;
}

/** A format name, or a ConfigError naming `option`. */
export function parseWebhookFormat(text: string, option: string): WebhookFormat {
  if (!(WEBHOOK_FORMATS as readonly string[]).includes(text))
    throw new ConfigError(`${option} must be one of ${WEBHOOK_FORMATS.join(', ')}, got "${text}"`);
  return text as WebhookFormat;
}

/**
 * `[FORMAT=]URL` (e.g. `alertmanager=http://am:9093/api/v2/alerts`): a webhook with its own format,
 * or `defaultFormat` without a prefix. Throws a ConfigError naming `option` on anything else.
 */
export function parseWebhookSpec(text: string, defaultFormat: WebhookFormat, option: string): WebhookSpec {
  const prefixed = /^([a-z]+)=(.*)$/.exec(text);
  const format = prefixed ? parseWebhookFormat(prefixed[1]!, `the format of ${option}`) : defaultFormat;
  const rest = prefixed ? prefixed[2]! : text;
  let url: URL;
  try {
    url = new URL(rest);
  } catch {
    throw new ConfigError(`${option} must be an http or https URL (with an optional FORMAT= prefix), got "${text}"`);
  }
  if (url.protocol !== 'http:' && url.protocol !== 'https:')
    throw new ConfigError(`${option} must be an http or https URL (with an optional FORMAT= prefix), got "${text}"`);
  return { url: url.href, format };
}

const seconds = (ns: number | undefined) => (ns === undefined ? null : ns / 1e9);

/** The JSON body of the `json` format. */
export function jsonBody(event: SaturnEvent): Record<string, unknown> {
  return {
    event: event.kind,
    sequence: event.sequence,
    reporter: event.reporter,
    node: event.node ? { id: event.node.id, addr: event.node.addr } : null,
    offsetSeconds: seconds(event.offsetNs),
    errorSeconds: seconds(event.errorNs),
    rttSeconds: seconds(event.rttNs),
    thresholdSeconds: seconds(event.thresholdNs),
    frequencyPpm: event.frequencyPpm ?? null,
    frequencyErrorPpm: event.frequencyErrorPpm ?? null,
    agree: event.agree ?? null,
    of: event.of ?? null,
    repeat: event.repeat ?? false,
    detail: event.detail ?? null,
    time: isoNanos(event.at),
  };
}

/**
 * An event as a JSON line on stdout (--event-format json): the `json` webhook body (with its time
 * and sequence) after the level and message its llog line has.
 */
export function eventJsonLine(event: SaturnEvent, level: string, message: string): Record<string, unknown> {
  const body = jsonBody(event);
  return { time: body.time, level, msg: message, ...body };
}

const signedMs = (ns: number) => `${ns >= 0 ? '+' : ''}${(ns / 1e6).toFixed(3)} ms`;

/** One sentence for humans (Slack text, Alertmanager summary). */
export function summaryText(event: SaturnEvent): string {
  const who = event.node ? `${event.node.id} (${event.node.addr})` : event.reporter;
  const offset = event.offsetNs === undefined ? '' : ` offset ${signedMs(event.offsetNs)}`;
  const error = event.errorNs === undefined ? '' : ` ± ${(event.errorNs / 1e6).toFixed(3)} ms`;
  const threshold = event.thresholdNs === undefined ? '' : `, threshold ${(event.thresholdNs / 1e6).toFixed(3)} ms`;
  const detail = event.detail === undefined ? '' : `: ${event.detail}`;
  const what: Record<EventKind, string> = {
    drift: event.repeat ? 'still over threshold' : 'over threshold',
    recovered: 'back under threshold',
    drift_rate: event.repeat ? 'still drifts too fast' : 'drifts too fast',
    drift_rate_recovered: 'drift back within limits',
    slave_lost: 'lost (no check for 3 intervals)',
    slave_back: 'back',
    slave_forgotten: 'forgotten (lost for longer than --forget-after)',
    name_conflict: 'is a name two hosts report: kept apart by address',
    master_unreachable: `unreachable from ${event.reporter}`,
    master_reachable: `reachable again from ${event.reporter}`,
    reference_clock_wrong: event.repeat ? 'reference clock is still wrong' : 'reference clock is wrong',
    reference_clock_recovered: 'reference clock agrees again',
    roughtime_malfeasance: 'contradict each other: one of them signed a wrong time',
    falseticker: `clock disagrees with the majority (${event.agree} of ${event.of} agree)`,
    falseticker_recovered: 'clock agrees with the majority again',
    no_majority: `no majority of clocks agrees (at most ${event.agree} of ${event.of})`,
    no_majority_recovered: `a majority of clocks agrees again (${event.agree} of ${event.of})`,
    clock_step: 'clock stepped',
  };
  return `saturn #${event.sequence}: ${who} ${what[event.kind]}${offset}${error}${threshold}${detail}`;
}

/** How far ahead of each post an active alert's endsAt is set when the options do not say: 4 re-posts of 1 min. */
export const DEFAULT_ALERT_HOLD_NS = 4 * 60e9;

/** What an Alertmanager body needs besides the event. */
export interface AlertmanagerContext {
  /** Wall time of the POST. */
  now: Nanos;
  /**
   * How far ahead of `now` an alert that is still firing gets its endsAt: saturn re-posts it well
   * within that, and Alertmanager resolves it by itself if saturn stops.
   */
  holdNs: number;
  /** The dashboard (set when --metrics-addr is). */
  generatorUrl?: string | undefined;
}

/**
 * One alert in Alertmanager's form. Labels identify the alert (alerts.ts), so the event that
 * resolves it posts the same labels with `endsAt` = its time; an alert that something will resolve
 * gets `endsAt` = now + hold, re-posted while it fires; one that nothing resolves gets no endsAt
 * (Alertmanager's resolve_timeout ends it). `startsAt` is when the alert began, if known.
 */
export function alertmanagerAlert(
  event: SaturnEvent,
  context: AlertmanagerContext,
  startsAt: Nanos = event.at,
): Record<string, unknown> {
  const { rule, resolves } = alertOf(event.kind);
  const annotations: Record<string, string> = {
    summary: summaryText(event),
    sequence: String(event.sequence),
    reporter: event.reporter,
  };
  if (event.node) annotations.node_addr = event.node.addr;
  if (event.offsetNs !== undefined) annotations.offset_seconds = String(event.offsetNs / 1e9);
  if (event.errorNs !== undefined) annotations.error_seconds = String(event.errorNs / 1e9);
  if (event.thresholdNs !== undefined) annotations.threshold_seconds = String(event.thresholdNs / 1e9);
  if (event.frequencyPpm !== undefined) annotations.frequency_ppm = String(event.frequencyPpm);
  if (event.detail !== undefined) annotations.detail = event.detail;
  if (event.agree !== undefined) annotations.agree = `${event.agree} of ${event.of}`;
  const alert: Record<string, unknown> = { labels: alertLabels(event), annotations, startsAt: isoNanos(startsAt) };
  if (resolves) alert.endsAt = isoNanos(event.at);
  else if (rule.resolvedBy.length > 0) alert.endsAt = isoNanos(context.now + BigInt(Math.round(context.holdNs)));
  if (context.generatorUrl !== undefined) alert.generatorURL = context.generatorUrl;
  return alert;
}

/**
 * Alertmanager's POST /api/v2/alerts body for one event: its alert, and for an event after which
 * its node is gone (endedRules), the end of every alert about that node (Alertmanager ignores the
 * end of one that was not firing).
 */
export function alertmanagerBody(event: SaturnEvent, context: AlertmanagerContext): Record<string, unknown>[] {
  const ends = endedRules(event).map((rule) => ({
    labels: labelsOf(rule, event),
    annotations: { summary: summaryText(event), sequence: String(event.sequence), reporter: event.reporter },
    startsAt: isoNanos(event.at),
    endsAt: isoNanos(event.at),
  }));
  return [alertmanagerAlert(event, context), ...ends];
}

/** Every active alert again, with its endsAt moved ahead: the re-post that keeps them firing. */
export function alertmanagerRepost(active: readonly ActiveAlert[], context: AlertmanagerContext): string {
  return JSON.stringify(active.map((a) => alertmanagerAlert(a.event, context, a.startsAt)));
}

/**
 * Text as Slack's message formatting takes it: `&`, `<` and `>` as entities, the three characters
 * Slack reads as control (mentions, links), so a node name such as `<!channel>` is shown, not obeyed.
 */
function slackEscaped(text: string): string {
  return text.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;');
}

/** The request body of an event in a format (Alertmanager's needs the time of the POST and the hold). */
export function webhookBody(event: SaturnEvent, format: WebhookFormat, context: AlertmanagerContext): string {
  switch (format) {
    case 'json':
      return JSON.stringify(jsonBody(event));
    case 'slack':
      return JSON.stringify({ text: slackEscaped(summaryText(event)) });
    case 'alertmanager':
      return JSON.stringify(alertmanagerBody(event, context));
  }
}
