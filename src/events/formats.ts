/**
 * Webhook bodies, one codec per format: `json` (saturn's own record of an event), `slack` (a text
 * message), `alertmanager` (Alertmanager's POST /api/v2/alerts list).
 */
import { isoNanos } from '../clock/clock.js';
import { ConfigError } from '../errors.js';
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
    slave_lost: 'lost (no check for 3 intervals)',
    master_unreachable: `unreachable from ${event.reporter}`,
    reference_clock_wrong: 'reference clock is wrong',
    falseticker: 'is a falseticker',
    no_majority: 'no majority of clocks agrees',
  };
  return `saturn #${event.sequence}: ${who} ${what[event.kind]}${offset}${error}${threshold}${detail}`;
}

const ALERT_NAMES: Record<EventKind, string> = {
  drift: 'SaturnClockOffset',
  recovered: 'SaturnClockOffset', // resolves the drift alert: same labels, endsAt set
  slave_lost: 'SaturnSlaveLost',
  master_unreachable: 'SaturnMasterUnreachable',
  reference_clock_wrong: 'SaturnReferenceClockWrong',
  falseticker: 'SaturnFalseticker',
  no_majority: 'SaturnNoMajority',
};

/** Alertmanager's POST /api/v2/alerts body: a list of alerts (here, one). */
export function alertmanagerBody(event: SaturnEvent): Record<string, unknown>[] {
  const time = isoNanos(event.at);
  const labels: Record<string, string> = {
    alertname: ALERT_NAMES[event.kind],
    severity: event.kind === 'reference_clock_wrong' || event.kind === 'no_majority' ? 'critical' : 'warning',
    reporter: event.reporter,
  };
  if (event.node) {
    labels.node = event.node.id;
    labels.instance = event.node.addr;
  }
  const annotations: Record<string, string> = { summary: summaryText(event), sequence: String(event.sequence) };
  if (event.offsetNs !== undefined) annotations.offset_seconds = String(event.offsetNs / 1e9);
  if (event.errorNs !== undefined) annotations.error_seconds = String(event.errorNs / 1e9);
  if (event.thresholdNs !== undefined) annotations.threshold_seconds = String(event.thresholdNs / 1e9);
  const alert: Record<string, unknown> = { labels, annotations, startsAt: time };
  if (event.kind === 'recovered') alert.endsAt = time;
  return [alert];
}

/** The request body of an event in a format. */
export function webhookBody(event: SaturnEvent, format: WebhookFormat): string {
  switch (format) {
    case 'json':
      return JSON.stringify(jsonBody(event));
    case 'slack':
      return JSON.stringify({ text: summaryText(event) });
    case 'alertmanager':
      return JSON.stringify(alertmanagerBody(event));
  }
}
