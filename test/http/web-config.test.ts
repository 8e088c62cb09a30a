import assert from 'node:assert/strict';
import { test } from 'node:test';
import bcrypt from 'bcryptjs';
import { ConfigError } from '../../src/errors.js';
import { HttpServer } from '../../src/http/http-server.js';
import { parseWebConfig } from '../../src/http/web-config.js';
import { formatHostPort } from '../../src/util/parse.js';

const HASH = bcrypt.hashSync('secret', 4);
const files: Record<string, string> = { 'a.crt': 'CERT', 'a.key': 'KEY', 'ca.crt': 'CA' };
const readFile = (file: string) => {
  if (!(file in files)) throw Object.assign(new Error('no such file'), { code: 'ENOENT' });
  return Buffer.from(files[file]!);
};
const parse = (text: string) => parseWebConfig(text, 'web.yml', readFile);

test('the exporter-toolkit keys are read: TLS files, versions, client auth, headers, users', () => {
  const web = parse(
    [
      'tls_server_config:',
      '  cert_file: a.crt',
      '  key_file: a.key',
      '  min_version: TLS13',
      '  client_auth_type: RequireAndVerifyClientCert',
      '  client_ca_file: ca.crt',
      'http_server_config:',
      '  http2: true',
      '  headers: { X-Frame-Options: deny }',
      'basic_auth_users:',
      `  alice: ${HASH}`,
    ].join('\n'),
  );
  assert.equal(web.tls?.cert.toString(), 'CERT');
  assert.equal(web.tls?.minVersion, 'TLSv1.3');
  assert.equal(web.tls?.maxVersion, 'TLSv1.3');
  assert.equal(web.tls?.clientAuth, 'RequireAndVerifyClientCert');
  assert.equal(web.tls?.clientCa?.toString(), 'CA');
  assert.deepEqual(web.headers, { 'X-Frame-Options': 'deny' });
  assert.equal(web.basicAuthUsers.get('alice'), HASH);
});

test('an empty file, or users without TLS, serve plain HTTP as exporter-toolkit does', () => {
  assert.equal(parse('').tls, undefined);
  const web = parse(`basic_auth_users:\n  bob: ${HASH}\n`);
  assert.equal(web.tls, undefined);
  assert.equal(web.basicAuthUsers.size, 1);
  assert.equal(parse('tls_server_config:\n  cert_file: ""\n  key_file: ""\n').tls, undefined);
});

test('mistakes are one sentence naming the file and key; nothing weaker than asked runs silently', () => {
  const cases: [string, RegExp][] = [
    ['tls_server_config: [1, 2]', /tls_server_config must be a mapping/],
    ['tls_server_confg: {}', /unknown key tls_server_confg/],
    [
      'tls_server_config:\n  cert_file: a.crt\n  key_file: a.key\n  cipher_suites: [TLS_AES_128_GCM_SHA256]',
      /cipher_suites is not supported/,
    ],
    ['tls_server_config:\n  cert_file: a.crt', /needs both a certificate and a key/],
    [
      'tls_server_config:\n  cert_file: missing.crt\n  key_file: a.key',
      /cannot read the certificate missing.crt: ENOENT/,
    ],
    ['tls_server_config:\n  cert_file: a.crt\n  key_file: a.key\n  min_version: SSL3', /min_version must be TLS10/],
    [
      'tls_server_config:\n  cert_file: a.crt\n  key_file: a.key\n  min_version: TLS13\n  max_version: TLS12',
      /min_version is above/,
    ],
    [
      'tls_server_config:\n  cert_file: a.crt\n  key_file: a.key\n  client_auth_type: Sometimes',
      /client_auth_type must be one of/,
    ],
    [
      'tls_server_config:\n  cert_file: a.crt\n  key_file: a.key\n  client_auth_type: RequireAndVerifyClientCert',
      /needs client_ca_file/,
    ],
    ['basic_auth_users:\n  eve: plaintext-password', /user "eve" must be a bcrypt hash/],
    ['http_server_config:\n  headers: { X-A: 1 }', /header X-A must be a string/],
    ['a: [', /not valid YAML/],
  ];
  for (const [text, message] of cases) {
    assert.throws(
      () => parse(text),
      (err: unknown) => err instanceof ConfigError && message.test(err.message) && err.message.includes('web.yml'),
      `${JSON.stringify(text)} should fail with ${message}`,
    );
  }
  assert.throws(
    () => parse('basic_auth_users:\n  eve: plaintext-password'),
    (err: Error) => !err.message.includes('plaintext'),
  );
});

test('basic auth over plain HTTP: 401 with a challenge, then the page; unknown users cost a bcrypt too', async () => {
  const server = await HttpServer.start(
    { host: '127.0.0.1', port: 0 },
    { '/status': () => ({ type: 'text/plain', body: 'fine\n' }) },
    parse(`basic_auth_users:\n  bob: ${HASH}\n`),
  );
  try {
    const url = `http://${formatHostPort(server.address)}/status`;
    const as = (auth: string) =>
      fetch(url, { headers: { authorization: `Basic ${Buffer.from(auth).toString('base64')}` } });
    const none = await fetch(url);
    assert.equal(none.status, 401);
    assert.equal(none.headers.get('www-authenticate'), 'Basic');
    assert.equal((await as('bob:wrong')).status, 401);
    assert.equal((await as('nobody:secret')).status, 401);
    assert.equal((await as('bob:secret')).status, 200);
    assert.equal(await (await as('bob:secret')).text(), 'fine\n', 'again, from the cache');
    assert.equal((await fetch(url, { headers: { authorization: 'Bearer xyz' } })).status, 401);
  } finally {
    await server.close();
  }
});
