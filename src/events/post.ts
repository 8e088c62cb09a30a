/**
 * One webhook request and what it came to: POST with undici, `Idempotency-Key: <sequence>`, a
 * timeout, redirects 307 and 308 followed (they keep the method and body; at most MAX_REDIRECTS, and
 * never from https to http), and the answer classified: 2xx delivered; network errors, timeouts,
 * 429 and 5xx retried; anything else rejected (kept as a dead letter by the caller). Failures carry a
 * reason a human can read ("timed out after 5000 ms", "ECONNREFUSED: connect ECONNREFUSED …").
 */
import { Agent, request } from 'undici';
import type { Nanos } from '../clock/clock.js';

/** Redirects (307/308) one delivery follows before it gives up. */
export const MAX_REDIRECTS = 5;

/** A Retry-After longer than this is cut to it: a receiver must not park saturn's alerts for a day. */
const MAX_RETRY_AFTER_MS = 60 * 60 * 1000;

/** Why a delivery attempt failed and will be retried. */
export const WEBHOOK_FAILURE_REASONS = ['network', 'timeout', 'http_429', 'http_5xx'] as const;

/** What one attempt came to. */
export type AttemptOutcome =
  | { kind: 'delivered'; status: number }
  | {
      kind: 'retry';
      reason: (typeof WEBHOOK_FAILURE_REASONS)[number];
      status?: number;
      retryAfterMs?: number;
      message: string;
    }
  | { kind: 'rejected'; status: number | undefined; message: string };

/** Retry-After (delay-seconds or an HTTP date) in milliseconds from `now`; undefined if absent or unreadable. */
export function retryAfterMs(header: string | string[] | undefined, now: Nanos): number | undefined {
  const value = Array.isArray(header) ? header[0] : header;
  if (value === undefined) return undefined;
  let ms: number;
  if (/^\s*\d+\s*$/.test(value)) ms = Number(value) * 1000;
  else {
    const date = Date.parse(value);
    if (Number.isNaN(date)) return undefined;
    ms = date - Number(now / 1_000_000n);
  }
  return Math.min(MAX_RETRY_AFTER_MS, Math.max(0, ms));
}

/** The rule: 2xx delivered; 429 and 5xx retried; anything else rejected for good. */
export function classifyStatus(status: number, retryAfter: number | undefined): AttemptOutcome {
  if (status >= 200 && status < 300) return { kind: 'delivered', status };
  if (status === 429)
    return { kind: 'retry', reason: 'http_429', status, retryAfterMs: retryAfter, message: `HTTP ${status}` };
  if (status >= 500)
    return { kind: 'retry', reason: 'http_5xx', status, retryAfterMs: retryAfter, message: `HTTP ${status}` };
  return { kind: 'rejected', status, message: `HTTP ${status}` };
}

/** The URL without credentials, path or query (Slack-style URLs carry a secret in the path): for logs and metrics. */
export function redactUrl(url: string): string {
  const parsed = new URL(url);
  return `${parsed.protocol}//${parsed.host}`;
}

/** An undici dispatcher whose connect, headers and body each time out after `timeoutMs`. */
export function webhookAgent(timeoutMs: number): Agent {
  return new Agent({ connectTimeout: timeoutMs, headersTimeout: timeoutMs, bodyTimeout: timeoutMs });
}

export interface PostOptions {
  dispatcher: Agent;
  timeoutMs: number;
  /** Wall time now (for a Retry-After date). */
  now: () => Nanos;
  /** Told of each redirect followed (to log a move the operator should know about). */
  onRedirect?: (status: number, to: string) => void;
}

/** Why a failed request failed, for a log line: the timeout with its length, or the error's code and message. */
function failureOf(err: unknown, timeoutMs: number): AttemptOutcome {
  const error = err as Error & { code?: unknown };
  const code = typeof error.code === 'string' ? error.code : undefined;
  if (error.name === 'TimeoutError' || error.name === 'AbortError' || /TIMEOUT/.test(code ?? ''))
    return { kind: 'retry', reason: 'timeout', message: `timed out after ${timeoutMs} ms` };
  const message = code === undefined || error.message.includes(code) ? error.message : `${code}: ${error.message}`;
  return { kind: 'retry', reason: 'network', message: message || error.name };
}

/** POSTs `body` to `url` (with the key, if any), following 307/308, and classifies the answer. Never throws. */
export async function postWebhook(
  url: string,
  body: string,
  idempotencyKey: string | undefined,
  options: PostOptions,
): Promise<AttemptOutcome> {
  const headers: Record<string, string> = { 'content-type': 'application/json', 'user-agent': 'saturn' };
  if (idempotencyKey !== undefined) headers['idempotency-key'] = idempotencyKey;
  let target = url;
  for (let redirects = 0; ; redirects++) {
    let response: Awaited<ReturnType<typeof request>>;
    try {
      response = await request(target, {
        method: 'POST',
        dispatcher: options.dispatcher,
        headers,
        body,
        signal: AbortSignal.timeout(options.timeoutMs),
      });
      await response.body.dump();
    } catch (err) {
      return failureOf(err, options.timeoutMs);
    }
    const status = response.statusCode;
    const location = response.headers.location;
    if (status >= 300 && status < 400) {
      const to = typeof location === 'string' ? safeUrl(location, target) : undefined;
      const where = to === undefined ? 'no usable Location' : `Location ${redactUrl(to)}`;
      if (status !== 307 && status !== 308)
        return { kind: 'rejected', status, message: `HTTP ${status} (${where}): only 307 and 308 keep a POST` };
      if (to === undefined) return { kind: 'rejected', status, message: `HTTP ${status} with ${where}` };
      if (new URL(target).protocol === 'https:' && new URL(to).protocol === 'http:')
        return { kind: 'rejected', status, message: `HTTP ${status} to ${redactUrl(to)}: refused, https to http` };
      if (redirects >= MAX_REDIRECTS)
        return { kind: 'rejected', status, message: `more than ${MAX_REDIRECTS} redirects (last to ${redactUrl(to)})` };
      options.onRedirect?.(status, to);
      target = to;
      continue;
    }
    return classifyStatus(status, retryAfterMs(response.headers['retry-after'], options.now()));
  }
}

/** A Location resolved against the URL it answers, if it is an http(s) URL. */
function safeUrl(location: string, base: string): string | undefined {
  try {
    const url = new URL(location, base);
    return url.protocol === 'http:' || url.protocol === 'https:' ? url.href : undefined;
  } catch {
    return undefined;
  }
}
