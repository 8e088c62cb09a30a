/**
 * The configuration a master or slave runs with, and the one table of its options: each option's
 * flag, help text and default live here once. The command line (`src/cli`) builds its options and
 * environment variables from this table, build-config.ts validates raw values into a `Config`, and
 * services only read the `Config`. Durations are nanoseconds.
 */
import { DEFAULT_ALERT_REPOST_NS } from '../events/open-journal.js';
import { DEFAULT_OUTBOX_MAX } from '../events/outbox.js';
import type { WebhookSpec } from '../events/formats.js';
import { DEFAULT_WEBHOOK_TIMEOUT_MS } from '../events/webhook.js';
import { DEFAULT_MAX_DRIFT_PPM, DEFAULT_PREDICT_NS } from '../fleet/drift-rate.js';
import { DEFAULT_FORGET_AFTER_NS, DEFAULT_MAX_NODES } from '../fleet/fleet.js';
import { DEFAULT_REALERT_NS } from '../fleet/threshold.js';
import type { LogFormat, LogLevel } from '../log/diagnostics.js';
import type { StdoutFormat } from '../log/llog.js';
import { DEFAULT_ROUNDS, DEFAULT_SOURCE_RATE } from '../protocol/responder.js';
import type { KeyRing } from '../wire/keys.js';
import type { RoughtimeServer } from '../roughtime/server-list.js';
import { type HostPort, formatDuration } from '../util/parse.js';

/** The one validated configuration a master or slave runs with. Durations in nanoseconds. */
export interface Config {
  role: 'master' | 'slave';
  /** The masters a slave reports to (empty: this node is the master). */
  masters: MasterSpec[];
  listenAddr: HostPort;
  /** The HMAC keys: one (id 0) from --hmac-key, or a key file's. */
  hmacKeys: KeyRing;
  /** Where the keys came from, when a file: SIGHUP reads it again. */
  hmacKeyFile: string | undefined;
  /** Accept key files that other users can read (--allow-insecure-key-file). */
  allowInsecureKeyFile: boolean;
  name: string;
  rounds: number;
  /** Mesh: peers each slave checks per interval (0: no mesh); a master assigns this many. */
  peers: number;
  /** Mesh: peers pinned by address instead of assigned (--peer). */
  pinnedPeers: HostPort[];
  /** Mesh: every node's interval is widened by this before the vote. */
  meshToleranceNs: number;
  thresholdNs: number;
  intervalNs: number;
  realertNs: number;
  /** Alert (drift_rate) when a node's proven frequency is beyond ± this, ppm. */
  maxDriftPpm: number;
  /** Alert (drift_rate) when a node's proven drift takes it over the threshold within this; 0: never. */
  predictNs: number;
  /** A slave lost for this long is forgotten. */
  forgetAfterNs: number;
  logLevel: LogLevel;
  logFormat: LogFormat;
  /** stdout: llog lines (the original's) or JSON lines. */
  eventFormat: StdoutFormat;
  metricsAddr: HostPort | undefined;
  /** TLS and basic auth of the HTTP port, in the Prometheus exporter-toolkit format (a YAML file). */
  webConfigFile: string | undefined;
  /** Most nodes the master keeps; a new node beyond it is refused (counted, logged). */
  maxNodes: number;
  /** Checks one source address (or IPv6 /64) may open per second, bursts of twice this. */
  sourceCheckRate: number;
  clockOffsetNs: number;
  /** Roughtime servers the node checks its own clock against (empty: no reference check). */
  roughtimeServers: RoughtimeServer[];
  /** What the configuration holds that the node cannot use but can run without (one sentence each; logged at start). */
  warnings: string[];
  roughtimeIntervalNs: number;
  /** Serve Roughtime here too (sharing the program's pipeline module), with this long-term key. */
  roughtimeListen: HostPort | undefined;
  roughtimeKeyFile: string | undefined;
  /** Durable state (event sequence, webhook outboxes); undefined: in memory only. */
  stateDir: string | undefined;
  /** Where every event is POSTed, each URL in its own format. */
  webhooks: WebhookSpec[];
  webhookTimeoutNs: number;
  /** Most events waiting per webhook; beyond it the oldest are dropped (and counted). */
  webhookOutboxMax: number;
  /** Alertmanager webhooks get every active alert again this often. */
  alertRepostNs: number;
}

/** A master to report to: an address, or a DNS name whose SRV record _saturn._udp.NAME lists the masters. */
export type MasterSpec =
  { readonly kind: 'address'; readonly addr: HostPort } | { readonly kind: 'srv'; readonly name: string };

/** One option: its commander flag, what it does, and its default as a user would write it. */
export interface OptionSpec {
  readonly flag: string;
  readonly help: string;
  readonly default?: string;
  /** Given several times (or, in the environment, several values separated by spaces). */
  readonly repeatable?: boolean;
  /** A switch without a value (true when given). */
  readonly boolean?: boolean;
}

/** Peers per slave (the mesh). */
export const DEFAULT_PEERS = 3;
/** The mesh's tolerance: wider than honest noise on a LAN, far below any threshold worth alerting on. */
export const DEFAULT_MESH_TOLERANCE_NS = 1e6;

/** The default UDP address of master and slaves: the original tool's port. */
export const DEFAULT_LISTEN_ADDR = '0.0.0.0:4123';
/** Alert when a slave is proven further off than this (the original's default was 5 s). */
export const DEFAULT_THRESHOLD_NS = 100e6;
/** Time between a slave's checks (the original's default was 180 s). */
export const DEFAULT_INTERVAL_NS = 10e9;
/** Time between Roughtime checks of the reference clock. */
export const DEFAULT_ROUGHTIME_INTERVAL_NS = 300e9;

/** Every option a master or slave takes, in the order --help lists them. Config files use the same keys. */
export const OPTIONS = {
  masterAddr: {
    flag: '--master-addr <host:port|name>',
    help: 'run as a slave of this master (repeatable: each master checks this node; a name without a port: the masters its DNS SRV record _saturn._udp.NAME lists); without it: run as the master',
    repeatable: true,
  },
  listenAddr: { flag: '--listen-addr <host:port>', help: 'UDP address to listen on', default: DEFAULT_LISTEN_ADDR },
  hmacKey: {
    flag: '--hmac-key <key>',
    help: 'shared key, at least 16 bytes (prefer --hmac-key-file: argv is visible in ps)',
  },
  hmacKeyFile: {
    flag: '--hmac-key-file <file>',
    help: 'read the key from a file: one key, or "ID KEY" lines (the first is current); reread on SIGHUP',
  },
  allowInsecureKeyFile: {
    flag: '--allow-insecure-key-file',
    help: 'accept key files that group or others may read (refused otherwise)',
    boolean: true,
  },
  name: { flag: '--name <name>', help: "this node's name", default: 'the host name' },
  rounds: { flag: '--rounds <n>', help: 'samples per check, master only', default: String(DEFAULT_ROUNDS) },
  peers: {
    flag: '--peers <n>',
    help: 'mesh: each slave checks this many other nodes per interval, assigned by the master (0 turns the mesh off)',
    default: String(DEFAULT_PEERS),
  },
  peer: {
    flag: '--peer <host:port>',
    help: 'mesh: check this node instead of peers the master assigns (repeatable)',
    repeatable: true,
  },
  meshTolerance: {
    flag: '--mesh-tolerance <duration>',
    help: "mesh: widen every clock's interval by this before the vote, so honest noise never splits the fleet; bare number = ms",
    default: formatDuration(DEFAULT_MESH_TOLERANCE_NS),
  },
  threshold: {
    flag: '--threshold <duration>',
    help: 'alert when |offset| - error exceeds this; bare number = ms',
    default: formatDuration(DEFAULT_THRESHOLD_NS),
  },
  interval: {
    flag: '--interval <duration>',
    help: 'time between checks, slave; bare number = seconds',
    default: formatDuration(DEFAULT_INTERVAL_NS),
  },
  realert: {
    flag: '--realert <duration>',
    help: 'repeat an alert this often while over threshold; bare number = seconds',
    default: formatDuration(DEFAULT_REALERT_NS),
  },
  maxDriftPpm: {
    flag: '--max-drift-ppm <ppm>',
    help: "alert (drift_rate) when a node's proven frequency is beyond +/- this many ppm",
    default: String(DEFAULT_MAX_DRIFT_PPM),
  },
  predict: {
    flag: '--predict <duration>',
    help: "alert (drift_rate) when a node's proven drift takes it over the threshold within this; 0 = never; bare number = seconds",
    default: formatDuration(DEFAULT_PREDICT_NS),
  },
  forgetAfter: {
    flag: '--forget-after <duration>',
    help: 'forget a slave lost for this long (an event says so); bare number = seconds',
    default: formatDuration(DEFAULT_FORGET_AFTER_NS),
  },
  logLevel: { flag: '--log-level <level>', help: 'debug, info, warn or error', default: 'info' },
  logFormat: { flag: '--log-format <format>', help: 'diagnostics format on stderr: llog or json', default: 'llog' },
  eventFormat: {
    flag: '--event-format <format>',
    help: 'stdout (events and checks): llog lines, or json lines with time and sequence for log shippers',
    default: 'llog',
  },
  metricsAddr: {
    flag: '--metrics-addr <host:port>',
    help: 'serve HTTP /status, /metrics and /healthz on this address, and on a master the dashboard at /',
  },
  webConfig: {
    flag: '--web-config <file>',
    help: "TLS and basic auth for --metrics-addr, in Prometheus exporters' web config format (YAML)",
  },
  maxNodes: {
    flag: '--max-nodes <n>',
    help: 'most nodes the master keeps; checks from further new nodes are refused',
    default: String(DEFAULT_MAX_NODES),
  },
  sourceCheckRate: {
    flag: '--source-check-rate <n>',
    help: 'checks one source address (IPv6: one /64) may open per second, bursts of twice this',
    default: String(DEFAULT_SOURCE_RATE),
  },
  clockOffset: {
    flag: '--clock-offset <duration>',
    help: "TESTING AID: shift this node's clock, e.g. 750ms or -2s; bare number = ms",
  },
  roughtimeServer: {
    flag: '--roughtime-server <host:port=BASE64KEY>',
    help: "check this node's clock against a Roughtime server (repeatable)",
    repeatable: true,
  },
  roughtimeServers: {
    flag: '--roughtime-servers <file>',
    help: "Roughtime servers to check against, in the ecosystem's JSON list format",
  },
  roughtimeListen: { flag: '--roughtime-listen <host:port>', help: 'also serve Roughtime on this UDP address' },
  roughtimeKeyFile: {
    flag: '--roughtime-key-file <file>',
    help: 'long-term key for --roughtime-listen (saturn keygen writes one)',
    default: 'an ad hoc key, not for production',
  },
  roughtimeInterval: {
    flag: '--roughtime-interval <duration>',
    help: 'time between Roughtime checks; bare number = seconds',
    default: formatDuration(DEFAULT_ROUGHTIME_INTERVAL_NS),
  },
  stateDir: {
    flag: '--state-dir <dir>',
    help: 'keep event sequence numbers and undelivered webhook events here, across restarts',
    default: 'memory only',
  },
  webhookUrl: {
    flag: '--webhook-url <[format=]url>',
    help: 'POST every event to this URL (repeatable); a json=, slack= or alertmanager= prefix sets its format',
    repeatable: true,
  },
  webhookFormat: {
    flag: '--webhook-format <format>',
    help: 'body of the --webhook-urls without a format prefix: json, slack or alertmanager',
    default: 'json',
  },
  webhookTimeout: {
    flag: '--webhook-timeout <duration>',
    help: 'timeout of one webhook request; bare number = seconds',
    default: formatDuration(DEFAULT_WEBHOOK_TIMEOUT_MS * 1e6),
  },
  webhookOutboxMax: {
    flag: '--webhook-outbox-max <n>',
    help: 'most undelivered events kept per webhook; beyond it the oldest are dropped',
    default: String(DEFAULT_OUTBOX_MAX),
  },
  alertRepost: {
    flag: '--alert-repost <duration>',
    help: 'post every active alert to Alertmanager webhooks again this often, so it stays firing; bare number = seconds',
    default: formatDuration(DEFAULT_ALERT_REPOST_NS),
  },
  config: { flag: '--config <file>', help: 'JSON file with the same keys as the options (kebab-case or camelCase)' },
} as const satisfies Record<string, OptionSpec>;

export type OptionKey = keyof typeof OPTIONS;

/** The options' keys, in table order. */
export const OPTION_KEYS = Object.keys(OPTIONS) as OptionKey[];

/** An option's help text with its default appended, as --help shows it. */
export function optionHelp(spec: OptionSpec): string {
  return spec.default === undefined ? spec.help : `${spec.help} (default ${spec.default})`;
}

/** The environment variable of an option: SATURN_ + its long name in capitals with `_`. */
export function envName(spec: OptionSpec): string {
  return `SATURN_${spec.flag
    .replace(/^--([a-z-]+).*$/, '$1')
    .replace(/-/g, '_')
    .toUpperCase()}`;
}
