/**
 * Server lists in the ecosystem format:
 * `{"servers":[{"name","version","publicKeyType":"ed25519","publicKey","addresses":[{"protocol","address"}]}]}`,
 * and the command line's `host:port=BASE64KEY`. Problems are ConfigErrors naming the entry.
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

function parsePublicKey(value: unknown, what: string): Uint8Array {
  if (typeof value !== 'string' || !/^[A-Za-z0-9+/_-]+={0,2}$/.test(value.trim()))
    throw new ConfigError(`${what}: publicKey must be a base64 string`);
  const key = new Uint8Array(
    Buffer.from(value.trim(), value.includes('-') || value.includes('_') ? 'base64url' : 'base64'),
  );
  if (key.byteLength !== 32)
    throw new ConfigError(`${what}: publicKey decodes to ${key.byteLength} bytes, an Ed25519 key has 32`);
  return key;
}

function parseVersions(value: unknown, what: string): 'google' | number[] {
  if (value === undefined || value === null || value === 'IETF-Roughtime') return [...ALL_IETF_VERSIONS];
  const labels = Array.isArray(value) ? value : [value];
  const versions = labels.map((label) =>
    typeof label === 'number' || typeof label === 'string' ? parseVersionLabel(String(label)) : undefined,
  );
  if (versions.length === 0 || versions.some((v) => v === undefined))
    throw new ConfigError(
      `${what}: version ${JSON.stringify(value)} is not one saturn speaks (Google-Roughtime, IETF-Roughtime, 1, 0x8000000c, 0x80000008-0x8000000b)`,
    );
  if (versions.includes('google')) {
    if (versions.length > 1)
      throw new ConfigError(`${what}: the Google protocol cannot be offered together with IETF versions`);
    return 'google';
  }
  return [...new Set(versions as number[])].sort((a, b) => a - b);
}

/** Parses an ecosystem-format list; servers without a UDP address are left out. */
export function parseServerList(text: string, source: string): RoughtimeServer[] {
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch (error) {
    throw new ConfigError(`${source} is not valid JSON (${(error as Error).message})`);
  }
  const entries = (json as { servers?: unknown } | null)?.servers;
  if (!Array.isArray(entries)) throw new ConfigError(`${source} has no "servers" array`);
  const servers: RoughtimeServer[] = [];
  entries.forEach((entry: unknown, i) => {
    if (typeof entry !== 'object' || entry === null) throw new ConfigError(`${source}: server ${i} is not an object`);
    const e = entry as Record<string, unknown>;
    const name = typeof e.name === 'string' && e.name !== '' ? e.name : `server ${i}`;
    const what = `${source}: ${name}`;
    if (e.publicKeyType !== undefined && String(e.publicKeyType).toLowerCase() !== 'ed25519')
      throw new ConfigError(`${what}: publicKeyType ${JSON.stringify(e.publicKeyType)} is not ed25519`);
    const publicKey = parsePublicKey(e.publicKey, what);
    const versions = parseVersions(e.version, what);
    if (!Array.isArray(e.addresses)) throw new ConfigError(`${what}: "addresses" must be an array`);
    const udp = e.addresses.find(
      (a: unknown) =>
        typeof a === 'object' && a !== null && String((a as Record<string, unknown>).protocol).toLowerCase() === 'udp',
    ) as Record<string, unknown> | undefined;
    if (udp === undefined) return;
    if (typeof udp.address !== 'string') throw new ConfigError(`${what}: address must be a string`);
    servers.push({ name, ...parseServerAddress(udp.address, what), publicKey, versions });
  });
  if (servers.length === 0) throw new ConfigError(`${source} lists no server reachable over UDP`);
  return servers;
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
