/**
 * Raw option values (from argv and the environment through commander, or a JSON config file) into
 * one validated Config. Every problem is a ConfigError with one sentence naming the option; the
 * CLI prints it and exits 2. Reads the files an option names (key, server list, config file).
 */
import { accessSync, constants, mkdirSync, readFileSync, statSync } from 'node:fs';
import { dirname, resolve } from 'node:path';
import { hostname } from 'node:os';
import { type WebhookSpec, parseWebhookFormat, parseWebhookSpec } from '../events/formats.js';
import { ConfigError } from '../errors.js';
import { MAX_INTERVAL_NS, MIN_INTERVAL_NS } from '../fleet/fleet.js';
import { type ServerList, parseServerList, parseServerSpec } from '../roughtime/server-list.js';
import { KeyRing, MIN_KEY_BYTES } from '../wire/keys.js';
import { type HostPort, parseCount, parseDuration, parseHostPort } from '../util/parse.js';
import { checkPrivateFile, loadHmacKeyFile } from './key-file.js';
import {
  type Config,
  DEFAULT_MESH_TOLERANCE_NS,
  type MasterSpec,
  OPTIONS,
  OPTION_KEYS,
  type OptionKey,
} from './options.js';
import { LOG_LEVELS, type LogLevel } from '../log/diagnostics.js';
import { STDOUT_FORMATS, type StdoutFormat } from '../log/llog.js';

export type { Config, OptionKey };

/** Options whose default is a value (not a description such as "the host name"). */
type KeyWithDefault = {
  [K in OptionKey]: (typeof OPTIONS)[K] extends { default: string } ? K : never;
}[OptionKey];

/** Raw option values as strings (lists for repeatable options, booleans for switches), from argv/env (commander) or the config file. */
export type RawOptions = Partial<Record<OptionKey, string | number | boolean | string[]>>;

/** Reads a JSON config file into raw options; unknown keys are an error (a typo must not pass silently). */
export function readConfigFile(path: string): RawOptions {
  let parsed: unknown;
  try {
    // A UTF-8 byte order mark (Windows editors write one) is not JSON: skip it.
    parsed = JSON.parse(readFileSync(path, 'utf8').replace(/^\uFEFF/, ''));
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
    if (typeof value !== 'string' && typeof value !== 'number' && typeof value !== 'boolean' && !isList) {
      throw new ConfigError(
        `config file ${path}: "${key}" must be a string, a number, true/false or a list of strings`,
      );
    }
    // JSON.parse rounds an integer beyond 2^53 (an all-digit key, a long name): the value would not be the one written.
    if (typeof value === 'number' && Number.isInteger(value) && !Number.isSafeInteger(value))
      throw new ConfigError(
        `config file ${path}: "${key}" is a number too large to read exactly: write it as a string`,
      );
    raw[camel] = value;
  }
  return raw;
}

/** Whether a switch is on: given on the command line, as true in a config file, or as 1/true/yes in the environment. */
function isOn(value: RawOptions[OptionKey]): boolean {
  if (value === undefined || value === false) return false;
  return value === true || /^(1|true|yes|on)$/i.test(String(value));
}

/**
 * The HMAC keys, from the file (guarded: other users must not be able to read it) or the option
 * (one key, id 0); refuses a missing or short key. Errors never show a key.
 */
export function resolveKeys(raw: RawOptions, labels: OptionLabels = {}): KeyRing {
  if (raw.hmacKeyFile !== undefined) return loadHmacKeyFile(String(raw.hmacKeyFile), isOn(raw.allowInsecureKeyFile));
  if (raw.hmacKey === undefined) {
    throw new ConfigError(
      'an HMAC key is required: pass --hmac-key, --hmac-key-file or SATURN_HMAC_KEY (there is no default key)',
    );
  }
  const key = new TextEncoder().encode(String(raw.hmacKey));
  if (key.length < MIN_KEY_BYTES) {
    throw new ConfigError(
      `the HMAC key (${labels.hmacKey ?? flagOf('hmacKey')}) must be at least ${MIN_KEY_BYTES} bytes, got ${key.length}`,
    );
  }
  return KeyRing.single(key);
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
  const eventFormat = pick('eventFormat');
  if (!(STDOUT_FORMATS as readonly string[]).includes(eventFormat))
    throw new ConfigError(`${label('eventFormat')} must be ${STDOUT_FORMATS.join(' or ')}, got "${eventFormat}"`);
  const masters = listOf(raw.masterAddr).map((text) => parseMasterSpec(text, label('masterAddr')));
  // Given but empty (SATURN_MASTER_ADDR= from a template whose variable was unset) is not "no
  // master": that node would run as a master, listening for the fleet, and say nothing.
  if (raw.masterAddr !== undefined && masters.length === 0)
    throw new ConfigError(
      `${label('masterAddr')} is empty: give the master as host:port (or a DNS name), or leave it out to run as the master`,
    );
  const intervalNs = parseDuration(pick('interval'), label('interval'), 's');
  if (intervalNs < MIN_INTERVAL_NS || intervalNs > MAX_INTERVAL_NS)
    throw new ConfigError(`${label('interval')} must be 100ms to 1h, got "${pick('interval')}"`);
  const name = String(raw.name ?? hostname());
  if (name.length === 0 || name.length > 255) throw new ConfigError(`${label('name')} must be 1 to 255 characters`);
  if (name.includes('@'))
    throw new ConfigError(
      `${label('name')} may not contain '@' (the master writes name@address for hosts sharing a name)`,
    );
  const roughtime = resolveRoughtimeServers(raw);
  const thresholdNs = parseDuration(pick('threshold'), label('threshold'), 'ms');
  // A clock off by less than the tolerance is never named, so a tolerance at or over the threshold
  // would leave every threshold alert without the mesh's verdict (and a fast master unnamed): the
  // default shrinks to half a threshold below it, and a given one must be below it. A threshold of 0
  // (alert on any offset the error bound proves) has no such room: the tolerance is left as it is.
  const meshToleranceNs =
    raw.meshTolerance === undefined
      ? thresholdNs > 0
        ? Math.min(DEFAULT_MESH_TOLERANCE_NS, Math.floor(thresholdNs / 2))
        : DEFAULT_MESH_TOLERANCE_NS
      : parseDuration(pick('meshTolerance'), label('meshTolerance'), 'ms');
  if (masters.length === 0 && thresholdNs > 0 && meshToleranceNs >= thresholdNs)
    throw new ConfigError(
      `${label('meshTolerance')} (${pick('meshTolerance')}) must be below ${label('threshold')} (${pick('threshold')}): ` +
        'a clock off by less than the tolerance is never named a falseticker',
    );
  return {
    role: masters.length > 0 ? 'slave' : 'master',
    masters,
    listenAddr: parseHostPort(pick('listenAddr'), label('listenAddr')),
    hmacKeys: resolveKeys(raw, labels),
    hmacKeyFile: raw.hmacKeyFile !== undefined ? String(raw.hmacKeyFile) : undefined,
    allowInsecureKeyFile: isOn(raw.allowInsecureKeyFile),
    name,
    rounds: parseCount(pick('rounds'), label('rounds'), 1, 64),
    peers: parseCount(pick('peers'), label('peers'), 0, 16),
    pinnedPeers: listOf(raw.peer).map((text) => parseDestination(text, label('peer'))),
    meshToleranceNs,
    thresholdNs,
    intervalNs,
    realertNs: parseDuration(pick('realert'), label('realert'), 's'),
    maxDriftPpm: positiveNumber(pick('maxDriftPpm'), label('maxDriftPpm'), 'ppm'),
    predictNs: parseDuration(pick('predict'), label('predict'), 's'),
    forgetAfterNs: positiveDuration(pick('forgetAfter'), label('forgetAfter')),
    logLevel: logLevel as LogLevel,
    logFormat,
    eventFormat: eventFormat as StdoutFormat,
    metricsAddr:
      raw.metricsAddr !== undefined
        ? parseHostPort(String(raw.metricsAddr), label('metricsAddr'), '127.0.0.1')
        : undefined,
    webConfigFile: raw.webConfig !== undefined && String(raw.webConfig) !== '' ? String(raw.webConfig) : undefined,
    maxNodes: parseCount(pick('maxNodes'), label('maxNodes'), 1, 100_000_000),
    sourceCheckRate: parseCount(pick('sourceCheckRate'), label('sourceCheckRate'), 1, 1_000_000),
    clockOffsetNs:
      raw.clockOffset !== undefined ? parseDuration(String(raw.clockOffset), label('clockOffset'), 'ms', true) : 0,
    roughtimeServers: roughtime.servers,
    warnings: roughtime.skipped,
    roughtimeIntervalNs: parseDuration(pick('roughtimeInterval'), label('roughtimeInterval'), 's'),
    roughtimeListen:
      raw.roughtimeListen !== undefined
        ? parseHostPort(String(raw.roughtimeListen), label('roughtimeListen'))
        : undefined,
    roughtimeKeyFile: resolveRoughtimeKeyFile(raw),
    stateDir:
      raw.stateDir !== undefined && String(raw.stateDir) !== ''
        ? prepareStateDir(String(raw.stateDir), label('stateDir'))
        : undefined,
    webhooks: resolveWebhooks(
      raw,
      parseWebhookFormat(pick('webhookFormat'), label('webhookFormat')),
      label('webhookUrl'),
    ),
    webhookTimeoutNs: parseDuration(pick('webhookTimeout'), label('webhookTimeout'), 's'),
    webhookOutboxMax: parseCount(pick('webhookOutboxMax'), label('webhookOutboxMax'), 1, 10_000_000),
    alertRepostNs: parseAlertRepost(pick('alertRepost'), label('alertRepost')),
  };
}

/** --roughtime-key-file, guarded like the HMAC key file (it is read later, when the server starts). */
function resolveRoughtimeKeyFile(raw: RawOptions): string | undefined {
  if (raw.roughtimeKeyFile === undefined) return undefined;
  const file = String(raw.roughtimeKeyFile);
  checkPrivateFile(file, 'Roughtime key file', isOn(raw.allowInsecureKeyFile));
  return file;
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

/** A repeatable option's values (the environment may hold several, separated by spaces or commas). */
function listOf(value: RawOptions[OptionKey]): string[] {
  if (value === undefined) return [];
  return ([] as string[]).concat(value as string | string[]).flatMap((v) =>
    String(v)
      .split(/[\s,]+/)
      .filter(Boolean),
  );
}

/** `host:port` (an address) or a bare DNS name (its SRV record _saturn._udp.NAME lists the masters). */
function parseMasterSpec(text: string, option: string): MasterSpec {
  if (/^[a-zA-Z0-9]([a-zA-Z0-9.-]*[a-zA-Z0-9])?$/.test(text) && !/^[0-9.]+$/.test(text))
    return { kind: 'srv', name: text };
  return { kind: 'address', addr: parseDestination(text, option) };
}

/** An address to send to: host:port with a port other than 0 (an empty host is 127.0.0.1). */
function parseDestination(text: string, option: string): HostPort {
  const addr = parseHostPort(text, option, '127.0.0.1');
  if (addr.port === 0) throw new ConfigError(`${option} needs a port other than 0, got "${text}"`);
  return addr;
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

/**
 * --webhook-url (repeatable; SATURN_WEBHOOK_URL may hold several, separated by spaces), each
 * `[FORMAT=]URL`: http(s) URLs only, each URL once (its outbox is named after it).
 */
function resolveWebhooks(raw: RawOptions, defaultFormat: WebhookSpec['format'], option: string): WebhookSpec[] {
  const given = raw.webhookUrl === undefined ? [] : ([] as string[]).concat(raw.webhookUrl as string | string[]);
  const webhooks = given
    .flatMap((text) => text.split(/\s+/).filter(Boolean))
    .map((text) => parseWebhookSpec(text, defaultFormat, option));
  const seen = new Set<string>();
  for (const { url } of webhooks) {
    if (seen.has(url)) throw new ConfigError(`${option} gives ${new URL(url).host} twice: give each URL once`);
    seen.add(url);
  }
  return webhooks;
}

/** --alert-repost: at least 100 ms (a re-post is one request per Alertmanager). */
function parseAlertRepost(text: string, option: string): number {
  const ns = parseDuration(text, option, 's');
  if (ns < 100e6) throw new ConfigError(`${option} must be at least 100ms, got "${text}"`);
  return ns;
}

/** The servers of --roughtime-server (repeatable) and --roughtime-servers FILE, together, and the list entries skipped. */
function resolveRoughtimeServers(raw: RawOptions): ServerList {
  const specs =
    raw.roughtimeServer === undefined ? [] : ([] as string[]).concat(raw.roughtimeServer as string | string[]);
  const servers = specs.map((spec) => parseServerSpec(spec));
  const skipped: string[] = [];
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
    const list = parseServerList(text, file);
    servers.push(...list.servers);
    skipped.push(...list.skipped);
  }
  return { servers, skipped };
}
