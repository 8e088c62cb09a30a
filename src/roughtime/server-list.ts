/**
 * Server lists in the ecosystem format:
 * `{"servers":[{"name","version","publicKeyType":"ed25519","publicKey","addresses":[{"protocol","address"}]}]}`,
 * and the command line's `host:port=BASE64KEY`. Problems are ConfigErrors naming the entry; a list
 * skips the entries it cannot use and says why.
 */
import { ConfigError } from '../errors.js';
import { ALL_IETF_VERSIONS, parseVersionLabel } from './versions.js';
import { parseHostPort } from '../util/parse.js';

/** A server to query: where, with which long-term key, offering which versions. */
export interface RoughtimeServer {
  readonly name: string;
  readonly host: string;
  readonly port: number;
  readonly publicKey: Uint8Array;
  /** `google` for the original protocol, else the IETF versions to offer. */
  readonly versions: 'google' | readonly number[];
}

/** A server's `host:port` or `[v6]:port`: the program's one address parser, with a host and a real port required. */
export function parseServerAddress(address: string, what: string): { host: string; port: number } {
  const parsed = parseHostPort(address, `${what}: address`, '');
  if (parsed.host === '' || parsed.port === 0)
    throw new ConfigError(`${what}: address ${JSON.stringify(address)} is not host:port`);
  return parsed;
}

/** An Ed25519 key as 64 hex digits: some lists publish keys so (as base64 it would decode to 48 bytes, never 32). */
const HEX_KEY = /^[0-9a-fA-F]{64}$/;

/** A public key as base64, base64url or 64 hex digits. */
function parsePublicKey(value: unknown, what: string): Uint8Array {
  if (typeof value !== 'string' || !/^[A-Za-z0-9+/_-]+={0,2}$/.test(value.trim()))
    throw new ConfigError(`${what}: publicKey must be a base64 or hex string`);
  const text = value.trim();
  const encoding = HEX_KEY.test(text) ? 'hex' : text.includes('-') || text.includes('_') ? 'base64url' : 'base64';
  const key = new Uint8Array(Buffer.from(text, encoding));
  if (key.byteLength !== 32)
    throw new ConfigError(`${what}: publicKey decodes to ${key.byteLength} bytes, an Ed25519 key has 32`);
  return key;
}

/**
 * The version number the drafts assign to pre-IETF Roughtime: a list entry that names it means
 * Google's original protocol, which has no version number on the wire.
 */
export const GOOGLE_VERSION_NUMBER = 3000600613;

/**
 * An entry's `version`. The list format's own rule: no `version` means the original Google
 * protocol. `IETF-Roughtime` offers every IETF version saturn speaks; numbers and labels offer
 * those; `Google-Roughtime` and 3000600613 mean Google's.
 */
function parseVersions(value: unknown, what: string): 'google' | number[] {
  if (value === undefined || value === null) return 'google';
  if (value === 'IETF-Roughtime') return [...ALL_IETF_VERSIONS];
  const labels = Array.isArray(value) ? value : [value];
  const versions = labels.map((label) =>
    label === GOOGLE_VERSION_NUMBER || label === String(GOOGLE_VERSION_NUMBER)
      ? 'google'
      : typeof label === 'number' || typeof label === 'string'
        ? parseVersionLabel(String(label))
        : undefined,
  );
  if (versions.length === 0 || versions.some((v) => v === undefined))
    throw new ConfigError(
      `${what}: version ${JSON.stringify(value)} is not one saturn speaks (Google-Roughtime or 3000600613, IETF-Roughtime, 1, 0x8000000c, 0x80000008-0x8000000b)`,
    );
  if (versions.includes('google')) {
    if (versions.length > 1)
      throw new ConfigError(`${what}: the Google protocol cannot be offered together with IETF versions`);
    return 'google';
  }
  return [...new Set(versions as number[])].sort((a, b) => a - b);
}

/** A parsed list: the servers saturn can use, and one sentence for each entry it skipped. */
export interface ServerList {
  readonly servers: RoughtimeServer[];
  readonly skipped: string[];
}

/**
 * Parses an ecosystem-format list as lists are published: an entry saturn cannot use (a key type
 * other than Ed25519, no UDP address, a version it does not speak, a bad key or address) is
 * skipped with a one-sentence reason, and the rest are used. Throws a ConfigError only when the
 * file is not a list at all or no entry is usable.
 */
export function parseServerList(text: string, source: string): ServerList {
  let json: unknown;
  try {
    // A UTF-8 byte order mark (Windows editors write one) is not JSON: skip it.
    json = JSON.parse(text.replace(/^\uFEFF/, ''));
  } catch (error) {
    throw new ConfigError(`${source} is not valid JSON (${(error as Error).message})`);
  }
  const entries = (json as { servers?: unknown } | null)?.servers;
  if (!Array.isArray(entries)) throw new ConfigError(`${source} has no "servers" array`);
  const servers: RoughtimeServer[] = [];
  const skipped: string[] = [];
  entries.forEach((entry: unknown, i) => {
    try {
      const server = parseEntry(entry, i, source);
      if (server !== undefined) servers.push(server);
    } catch (error) {
      if (!(error instanceof ConfigError)) throw error;
      skipped.push(`${error.message}; skipped`);
    }
  });
  if (servers.length === 0)
    throw new ConfigError(
      `${source} lists no server saturn can use${skipped.length > 0 ? ` (${skipped.join('; ')})` : ''}`,
    );
  return { servers, skipped };
}

/** One entry: the server, or a ConfigError saying why it cannot be used. */
function parseEntry(entry: unknown, i: number, source: string): RoughtimeServer {
  if (typeof entry !== 'object' || entry === null) throw new ConfigError(`${source}: server ${i} is not an object`);
  const e = entry as Record<string, unknown>;
  const name = typeof e.name === 'string' && e.name !== '' ? e.name : `server ${i}`;
  const what = `${source}: ${name}`;
  if (
    e.publicKeyType !== undefined &&
    (typeof e.publicKeyType !== 'string' || e.publicKeyType.toLowerCase() !== 'ed25519')
  )
    throw new ConfigError(`${what}: publicKeyType ${JSON.stringify(e.publicKeyType)} is not ed25519`);
  const publicKey = parsePublicKey(e.publicKey, what);
  const versions = parseVersions(e.version, what);
  if (!Array.isArray(e.addresses)) throw new ConfigError(`${what}: "addresses" must be an array`);
  // Hostile lists may put any JSON where a string belongs: only a string protocol counts.
  const udp = e.addresses.filter((a: unknown) => {
    const protocol = typeof a === 'object' && a !== null ? (a as Record<string, unknown>).protocol : undefined;
    return typeof protocol === 'string' && protocol.toLowerCase() === 'udp';
  }) as Record<string, unknown>[];
  if (udp.length === 0) throw new ConfigError(`${what}: no UDP address (saturn speaks Roughtime over UDP only)`);
  // The first usable address of several; when none is, the first one's problem is the reason.
  let firstProblem: ConfigError | undefined;
  for (const { address } of udp) {
    try {
      if (typeof address !== 'string') throw new ConfigError(`${what}: address must be a string`);
      return { name, ...parseServerAddress(address, what), publicKey, versions };
    } catch (error) {
      if (!(error instanceof ConfigError)) throw error;
      firstProblem ??= error;
    }
  }
  throw firstProblem!;
}

/** Parses `host:port=BASE64KEY` (the `--roughtime-server` option), offering every IETF version. */
export function parseServerSpec(spec: string): RoughtimeServer {
  // Addresses never contain '=', base64 keys may end with it: the first one separates.
  const at = spec.indexOf('=');
  if (at <= 0) throw new ConfigError(`--roughtime-server ${JSON.stringify(spec)} is not host:port=BASE64KEY`);
  const address = spec.slice(0, at);
  const what = `--roughtime-server ${address}`;
  return {
    name: address,
    ...parseServerAddress(address, what),
    publicKey: parsePublicKey(spec.slice(at + 1), what),
    versions: [...ALL_IETF_VERSIONS],
  };
}
