/**
 * `--web-config FILE`: TLS and basic authentication of the HTTP port, in the web configuration
 * format every Prometheus exporter reads (prometheus/exporter-toolkit, `--web.config.file`), so a
 * file written for another exporter, and the Prometheus scrape config that goes with it, work
 * unchanged:
 *
 *   tls_server_config:
 *     cert_file: server.crt          # relative paths are relative to this file
 *     key_file: server.key
 *     min_version: TLS12             # TLS10 .. TLS13 (default TLS12)
 *     max_version: TLS13
 *     client_auth_type: RequireAndVerifyClientCert   # or NoClientCert (default), RequestClientCert,
 *     client_ca_file: clients.crt                    #   RequireAnyClientCert, VerifyClientCertIfGiven
 *   http_server_config:
 *     headers: { Strict-Transport-Security: max-age=31536000 }
 *   basic_auth_users:
 *     prometheus: $2y$10$...         # bcrypt hashes (htpasswd -nBC 10 "" | tr -d ':\n')
 *
 * Keys saturn does not implement (cipher_suites, curve_preferences, client_allowed_sans) are
 * refused with a sentence rather than ignored, so nothing weaker than asked for runs silently.
 * Every problem is a ConfigError naming the file and the key.
 */
import { readFileSync } from 'node:fs';
import { dirname, resolve } from 'node:path';
import type { SecureVersion } from 'node:tls';
import { parse as parseYaml } from 'yaml';
import { ConfigError } from '../errors.js';

/** What exporter-toolkit calls client_auth_type, with its Go names. */
export const CLIENT_AUTH_TYPES = [
  'NoClientCert',
  'RequestClientCert',
  'RequireAnyClientCert',
  'VerifyClientCertIfGiven',
  'RequireAndVerifyClientCert',
] as const;
export type ClientAuthType = (typeof CLIENT_AUTH_TYPES)[number];

const TLS_VERSIONS: Record<string, SecureVersion> = {
  TLS10: 'TLSv1',
  TLS11: 'TLSv1.1',
  TLS12: 'TLSv1.2',
  TLS13: 'TLSv1.3',
};

export interface WebTls {
  readonly cert: Buffer;
  readonly key: Buffer;
  readonly minVersion: SecureVersion;
  readonly maxVersion: SecureVersion;
  readonly clientAuth: ClientAuthType;
  /** CA certificates client certificates are verified against. */
  readonly clientCa: Buffer | undefined;
  readonly honorCipherOrder: boolean;
}

/** A loaded web configuration. */
export interface WebConfig {
  /** undefined: plain HTTP (basic auth may still apply, as in exporter-toolkit). */
  readonly tls: WebTls | undefined;
  /** User name to bcrypt hash; empty: no authentication. */
  readonly basicAuthUsers: ReadonlyMap<string, string>;
  /** Extra response headers. */
  readonly headers: Readonly<Record<string, string>>;
}

/** A bcrypt hash as htpasswd, Python's and Go's bcrypt write them. */
const BCRYPT_HASH = /^\$2[aby]?\$(0[4-9]|[12]\d|3[01])\$[./A-Za-z0-9]{53}$/;

type Yaml = Record<string, unknown>;

/** Reads and checks a web config file and the certificate files it names. */
export function loadWebConfig(path: string): WebConfig {
  let text: string;
  try {
    text = readFileSync(path, 'utf8');
  } catch (err) {
    throw new ConfigError(
      `cannot read --web-config ${path}: ${(err as NodeJS.ErrnoException).code ?? (err as Error).message}`,
    );
  }
  return parseWebConfig(text, path, (file) => readFileSync(resolve(dirname(path), file)));
}

/** Parses a web config's text; `readFile` reads a file it names (relative to the config's directory). */
export function parseWebConfig(text: string, path: string, readFile: (file: string) => Buffer): WebConfig {
  let doc: unknown;
  try {
    doc = parseYaml(text);
  } catch (err) {
    throw new ConfigError(`--web-config ${path} is not valid YAML: ${(err as Error).message.split('\n')[0]}`);
  }
  if (doc === null || doc === undefined) doc = {};
  const top = section(doc, '', path);
  onlyKeys(top, ['tls_server_config', 'http_server_config', 'basic_auth_users'], '', path);

  const http = section(top.http_server_config ?? {}, 'http_server_config', path);
  onlyKeys(http, ['http2', 'headers'], 'http_server_config', path);
  const headers: Record<string, string> = {};
  for (const [name, value] of Object.entries(section(http.headers ?? {}, 'http_server_config.headers', path))) {
    if (typeof value !== 'string') throw new ConfigError(`--web-config ${path}: header ${name} must be a string`);
    headers[name] = value;
  }

  const basicAuthUsers = new Map<string, string>();
  for (const [user, hash] of Object.entries(section(top.basic_auth_users ?? {}, 'basic_auth_users', path))) {
    if (typeof hash !== 'string' || !BCRYPT_HASH.test(hash))
      throw new ConfigError(`--web-config ${path}: the password of user "${user}" must be a bcrypt hash ($2y$10$...)`);
    if (user.includes(':')) throw new ConfigError(`--web-config ${path}: user name "${user}" must not contain ":"`);
    basicAuthUsers.set(user, hash);
  }

  return { tls: parseTls(top.tls_server_config, path, readFile), basicAuthUsers, headers };
}

function parseTls(value: unknown, path: string, readFile: (file: string) => Buffer): WebTls | undefined {
  if (value === undefined || value === null) return undefined;
  const tls = section(value, 'tls_server_config', path);
  const unsupported = ['cipher_suites', 'curve_preferences', 'client_allowed_sans'].find((k) => tls[k] !== undefined);
  if (unsupported)
    throw new ConfigError(
      `--web-config ${path}: tls_server_config.${unsupported} is not supported by saturn; remove it`,
    );
  onlyKeys(
    tls,
    [
      'cert_file',
      'key_file',
      'cert',
      'key',
      'client_ca_file',
      'client_ca',
      'client_auth_type',
      'min_version',
      'max_version',
      'prefer_server_cipher_suites',
    ],
    'tls_server_config',
    path,
  );
  const material = (inline: string, file: string, what: string): Buffer | undefined => {
    if (tls[inline] !== undefined && tls[file] !== undefined)
      throw new ConfigError(`--web-config ${path}: give tls_server_config.${inline} or ${file}, not both`);
    if (tls[inline] !== undefined) return Buffer.from(String(tls[inline]));
    if (tls[file] === undefined || tls[file] === '') return undefined;
    try {
      return readFile(String(tls[file]));
    } catch (err) {
      throw new ConfigError(
        `--web-config ${path}: cannot read the ${what} ${String(tls[file])}: ${(err as NodeJS.ErrnoException).code ?? (err as Error).message}`,
      );
    }
  };
  const cert = material('cert', 'cert_file', 'certificate');
  const key = material('key', 'key_file', 'private key');
  // As in exporter-toolkit: a tls_server_config without certificate and key serves plain HTTP.
  if (cert === undefined && key === undefined) return undefined;
  if (cert === undefined || key === undefined)
    throw new ConfigError(`--web-config ${path}: tls_server_config needs both a certificate and a key`);
  const version = (name: 'min_version' | 'max_version', fallback: string): SecureVersion => {
    const text = String(tls[name] ?? fallback);
    const v = TLS_VERSIONS[text];
    if (!v)
      throw new ConfigError(
        `--web-config ${path}: tls_server_config.${name} must be TLS10, TLS11, TLS12 or TLS13, got "${text}"`,
      );
    return v;
  };
  const clientAuth = String(tls.client_auth_type ?? 'NoClientCert');
  if (!(CLIENT_AUTH_TYPES as readonly string[]).includes(clientAuth))
    throw new ConfigError(
      `--web-config ${path}: tls_server_config.client_auth_type must be one of ${CLIENT_AUTH_TYPES.join(', ')}, got "${clientAuth}"`,
    );
  const clientCa = material('client_ca', 'client_ca_file', 'client CA file');
  if ((clientAuth === 'RequireAndVerifyClientCert' || clientAuth === 'VerifyClientCertIfGiven') && !clientCa)
    throw new ConfigError(`--web-config ${path}: client_auth_type ${clientAuth} needs client_ca_file`);
  const minVersion = version('min_version', 'TLS12');
  const maxVersion = version('max_version', 'TLS13');
  const order = Object.values(TLS_VERSIONS);
  if (order.indexOf(minVersion) > order.indexOf(maxVersion))
    throw new ConfigError(`--web-config ${path}: tls_server_config.min_version is above max_version`);
  return {
    cert,
    key,
    minVersion,
    maxVersion,
    clientAuth: clientAuth as ClientAuthType,
    clientCa,
    honorCipherOrder: tls.prefer_server_cipher_suites === true,
  };
}

function section(value: unknown, name: string, path: string): Yaml {
  if (typeof value !== 'object' || value === null || Array.isArray(value))
    throw new ConfigError(`--web-config ${path}: ${name === '' ? 'the file' : name} must be a mapping`);
  return value as Yaml;
}

/** Unknown keys are errors, as exporter-toolkit's strict YAML makes them: a typo must not pass silently. */
function onlyKeys(value: Yaml, known: readonly string[], name: string, path: string): void {
  for (const key of Object.keys(value)) {
    if (!known.includes(key))
      throw new ConfigError(`--web-config ${path}: unknown key ${name === '' ? key : `${name}.${key}`}`);
  }
}
