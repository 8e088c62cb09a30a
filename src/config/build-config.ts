/**
 * Raw option values (from argv and the environment through commander, or a JSON config file) into
 * one validated Config. Every problem is a ConfigError with one sentence naming the option; the
 * CLI prints it and exits 2. Reads the files an option names (key, server list, config file).
 */
import { accessSync, constants, mkdirSync, readFileSync, statSync } from 'node:fs';
import { dirname, resolve } from 'node:path';
import { hostname } from 'node:os';
import { WEBHOOK_FORMATS, type WebhookFormat } from '../events/webhook.js';
import { ConfigError } from '../errors.js';
import { type RoughtimeServer, parseServerList, parseServerSpec } from '../roughtime/server-list.js';
import { MIN_KEY_BYTES } from '../wire/envelope.js';
import { parseCount, parseDuration, parseHostPort } from '../util/parse.js';
import { type Config, OPTIONS, OPTION_KEYS, type OptionKey } from './options.js';
import { LOG_LEVELS, type LogLevel } from '../log/diagnostics.js';

export type { Config, OptionKey };

/** Options whose default is a value (not a description such as "the host name"). */
type KeyWithDefault = {
  [K in OptionKey]: (typeof OPTIONS)[K] extends { default: string } ? K : never;
}[OptionKey];

/** Raw option values as strings (lists for repeatable options), from argv/env (commander) or the config file. */
export type RawOptions = Partial<Record<OptionKey, string | number | string[]>>;

/** Reads a JSON config file into raw options; unknown keys are an error (a typo must not pass silently). */
export function readConfigFile(path: string): RawOptions {
  let parsed: unknown;
  try {
    parsed = JSON.parse(readFileSync(path, 'utf8'));
  } catch (err) {
    throw new ConfigError(`cannot read config file ${path}: ${(err as Error).message}`);
  }
  if (typeof parsed !== 'object' || parsed === null || Array.isArray(parsed)) {
    throw new ConfigError(`config file ${path} must hold a JSON object`);
  }
  const raw: RawOptions = {};
  for (const [key, value] of Object.entries(parsed)) {
    const camel = key.replace(/-([a-z])/g, (_, c: string) => c.toUpperCase()) as OptionKey;
    if (!OPTION_KEYS.includes(camel) || camel === 'config')
      throw new ConfigError(`config file ${path} has an unknown key "${key}"`);
    const isList = Array.isArray(value) && value.every((v) => typeof v === 'string');
    if (typeof value !== 'string' && typeof value !== 'number' && !isList) {
      throw new ConfigError(`config file ${path}: "${key}" must be a string, a number or a list of strings`);
    }
    raw[camel] = value;
  }
  return raw;
}

/** Loads the HMAC key from the option or the file; refuses a missing or short key. */
export function resolveKey(raw: RawOptions): Uint8Array {
  let key: Uint8Array;
  if (raw.hmacKeyFile !== undefined) {
    try {
      // A trailing newline from `echo key > file` is not part of the key.
      key = new Uint8Array(readFileSync(String(raw.hmacKeyFile))).subarray(0);
    } catch (err) {
      throw new ConfigError(
        `cannot read HMAC key file ${raw.hmacKeyFile}: ${(err as NodeJS.ErrnoException).code ?? (err as Error).message}`,
      );
    }
    let end = key.length;
    while (end > 0 && (key[end - 1] === 0x0a || key[end - 1] === 0x0d)) end--;
    key = key.subarray(0, end);
  } else if (raw.hmacKey !== undefined) {
    key = new TextEncoder().encode(String(raw.hmacKey));
  } else {
    throw new ConfigError(
      'an HMAC key is required: pass --hmac-key, --hmac-key-file or SATURN_HMAC_KEY (there is no default key)',
    );
  }
  if (key.length < MIN_KEY_BYTES) {
    const where = raw.hmacKeyFile !== undefined ? ` in ${raw.hmacKeyFile}` : '';
    throw new ConfigError(`the HMAC key${where} must be at least ${MIN_KEY_BYTES} bytes, got ${key.length}`);
  }
  return key;
}

/** Where each raw value came from, as error messages name it: `--threshold`, `SATURN_THRESHOLD`, `"threshold" in saturn.json`. */
export type OptionLabels = Partial<Record<OptionKey, string>>;

/** An option's command-line flag, e.g. `--threshold`. */
export function flagOf(key: OptionKey): string {
  return OPTIONS[key].flag.split(' ')[0]!;
}

/**
 * Turns raw option values (already merged: argv > env > file) into a validated Config. `labels`
 * says where a value came from, so a bad `SATURN_THRESHOLD` is reported as such, not as `--threshold`.
 */
export function buildConfig(raw: RawOptions, labels: OptionLabels = {}): Config {
  const pick = (k: KeyWithDefault) => String(raw[k] ?? OPTIONS[k].default);
  const label = (k: OptionKey) => labels[k] ?? flagOf(k);
  const logLevel = pick('logLevel').toLowerCase();
  if (!(LOG_LEVELS as readonly string[]).includes(logLevel)) {
    throw new ConfigError(`${label('logLevel')} must be one of ${LOG_LEVELS.join(', ')}, got "${logLevel}"`);
  }
  const logFormat = pick('logFormat');
  if (logFormat !== 'llog' && logFormat !== 'json')
    throw new ConfigError(`${label('logFormat')} must be llog or json, got "${logFormat}"`);
  const masterAddr =
    raw.masterAddr !== undefined ? parseHostPort(String(raw.masterAddr), label('masterAddr'), '127.0.0.1') : undefined;
  if (masterAddr && masterAddr.port === 0) throw new ConfigError(`${label('masterAddr')} needs a port other than 0`);
  const intervalNs = parseDuration(pick('interval'), label('interval'), 's');
  if (intervalNs < 10e6) throw new ConfigError(`${label('interval')} must be at least 10ms, got "${pick('interval')}"`);
  const name = String(raw.name ?? hostname());
  if (name.length === 0 || name.length > 255) throw new ConfigError(`${label('name')} must be 1 to 255 characters`);
  return {
    role: masterAddr ? 'slave' : 'master',
    masterAddr,
    listenAddr: parseHostPort(pick('listenAddr'), label('listenAddr')),
    hmacKey: resolveKey(raw),
    name,
    rounds: parseCount(pick('rounds'), label('rounds'), 1, 64),
    thresholdNs: parseDuration(pick('threshold'), label('threshold'), 'ms'),
    intervalNs,
    realertNs: parseDuration(pick('realert'), label('realert'), 's'),
    maxDriftPpm: positiveNumber(pick('maxDriftPpm'), label('maxDriftPpm'), 'ppm'),
    predictNs: parseDuration(pick('predict'), label('predict'), 's'),
    forgetAfterNs: positiveDuration(pick('forgetAfter'), label('forgetAfter')),
    logLevel: logLevel as LogLevel,
    logFormat,
    metricsAddr:
      raw.metricsAddr !== undefined
        ? parseHostPort(String(raw.metricsAddr), label('metricsAddr'), '127.0.0.1')
        : undefined,
    clockOffsetNs:
      raw.clockOffset !== undefined ? parseDuration(String(raw.clockOffset), label('clockOffset'), 'ms', true) : 0,
    roughtimeServers: resolveRoughtimeServers(raw),
    roughtimeIntervalNs: parseDuration(pick('roughtimeInterval'), label('roughtimeInterval'), 's'),
    roughtimeListen:
      raw.roughtimeListen !== undefined
        ? parseHostPort(String(raw.roughtimeListen), label('roughtimeListen'))
        : undefined,
    roughtimeKeyFile: raw.roughtimeKeyFile !== undefined ? String(raw.roughtimeKeyFile) : undefined,
    stateDir:
      raw.stateDir !== undefined && String(raw.stateDir) !== ''
        ? prepareStateDir(String(raw.stateDir), label('stateDir'))
        : undefined,
    webhookUrls: resolveWebhookUrls(raw),
    webhookFormat: parseWebhookFormat(pick('webhookFormat')),
    webhookTimeoutNs: parseDuration(pick('webhookTimeout'), label('webhookTimeout'), 's'),
    webhookOutboxMax: parseCount(pick('webhookOutboxMax'), label('webhookOutboxMax'), 1, 10_000_000),
  };
}

/**
 * Makes sure the state dir is a writable directory, creating it (and missing parents, mode 0700)
 * one level at a time: Node's recursive mkdir loops forever where the kernel refuses (/proc/nope).
 */
function prepareStateDir(dir: string, option: string): string {
  const missing: string[] = [];
  for (let at = resolve(dir); ;) {
    let stats;
    try {
      stats = statSync(at);
    } catch (err) {
      const code = (err as NodeJS.ErrnoException).code;
      const parent = dirname(at);
      if (code !== 'ENOENT' || parent === at) throw new ConfigError(`${option} ${dir}: cannot use ${at} (${code})`);
      missing.unshift(at);
      at = parent;
      continue;
    }
    if (!stats.isDirectory()) throw new ConfigError(`${option} ${dir}: ${at} is not a directory`);
    break;
  }
  for (const path of missing) {
    try {
      mkdirSync(path, { mode: 0o700 });
    } catch (err) {
      throw new ConfigError(`${option} ${dir}: cannot create ${path} (${(err as NodeJS.ErrnoException).code})`);
    }
  }
  try {
    accessSync(dir, constants.W_OK | constants.X_OK);
  } catch (err) {
    throw new ConfigError(`${option} ${dir} is not writable (${(err as NodeJS.ErrnoException).code})`);
  }
  return dir;
}

/** A duration that must be more than 0 (a bare number is seconds). */
function positiveDuration(text: string, option: string): number {
  const ns = parseDuration(text, option, 's');
  if (ns <= 0) throw new ConfigError(`${option} must be more than 0, got "${text}"`);
  return ns;
}

/** A finite number above 0, in `unit` ("500", "12.5"). */
function positiveNumber(text: string, option: string, unit: string): number {
  const value = Number(text);
  if (text.trim() === '' || !Number.isFinite(value) || value <= 0) {
    throw new ConfigError(`${option} must be a number of ${unit} above 0, got "${text}"`);
  }
  return value;
}

function parseWebhookFormat(text: string): WebhookFormat {
  if (!(WEBHOOK_FORMATS as readonly string[]).includes(text)) {
    throw new ConfigError(`--webhook-format must be one of ${WEBHOOK_FORMATS.join(', ')}, got "${text}"`);
  }
  return text as WebhookFormat;
}

/** --webhook-url (repeatable; SATURN_WEBHOOK_URL may hold several, separated by spaces): http(s) URLs only. */
function resolveWebhookUrls(raw: RawOptions): string[] {
  const given = raw.webhookUrl === undefined ? [] : ([] as string[]).concat(raw.webhookUrl as string | string[]);
  return given
    .flatMap((text) => text.split(/\s+/).filter(Boolean))
    .map((text) => {
      let url: URL;
      try {
        url = new URL(text);
      } catch {
        throw new ConfigError(`--webhook-url must be an http or https URL, got "${text}"`);
      }
      if (url.protocol !== 'http:' && url.protocol !== 'https:')
        throw new ConfigError(`--webhook-url must be an http or https URL, got "${text}"`);
      return url.href;
    });
}

/** The servers of --roughtime-server (repeatable) and --roughtime-servers FILE, together. */
function resolveRoughtimeServers(raw: RawOptions): RoughtimeServer[] {
  const specs =
    raw.roughtimeServer === undefined ? [] : ([] as string[]).concat(raw.roughtimeServer as string | string[]);
  const servers = specs.map((spec) => parseServerSpec(spec));
  if (raw.roughtimeServers !== undefined) {
    const file = String(raw.roughtimeServers);
    let text: string;
    try {
      text = readFileSync(file, 'utf8');
    } catch (err) {
      throw new ConfigError(
        `cannot read Roughtime server list ${file}: ${(err as NodeJS.ErrnoException).code ?? (err as Error).message}`,
      );
    }
    servers.push(...parseServerList(text, file));
  }
  return servers;
}
