import assert from 'node:assert/strict';
import { test } from 'node:test';
import { ConfigError } from '../../src/errors.js';
import { parseServerAddress, parseServerList, parseServerSpec } from '../../src/roughtime/server-list.js';
import { ALL_IETF_VERSIONS } from '../../src/roughtime/versions.js';

const KEY = '0GD7c3yP8xEc4Zl2zeuN2SlLvDVVocjsPSL8/Rl/7zg=';

test('parses the ecosystem format, picking UDP addresses and versions', () => {
  const servers = parseServerList(
    JSON.stringify({
      servers: [
        {
          name: 'Cloudflare-Roughtime-2',
          version: 'IETF-Roughtime',
          publicKeyType: 'ed25519',
          publicKey: KEY,
          addresses: [{ protocol: 'udp', address: 'roughtime.cloudflare.com:2003' }],
        },
        {
          name: 'old',
          version: 'Google-Roughtime',
          publicKeyType: 'ed25519',
          publicKey: KEY,
          addresses: [
            { protocol: 'tcp', address: 'a:1' },
            { protocol: 'udp', address: '[2001:db8::1]:2002' },
          ],
        },
        {
          name: 'picky',
          version: ['0x8000000c', 1],
          publicKeyType: 'ed25519',
          publicKey: KEY,
          addresses: [{ protocol: 'udp', address: '192.0.2.1:2002' }],
        },
        {
          name: 'tcp-only',
          publicKeyType: 'ed25519',
          publicKey: KEY,
          addresses: [{ protocol: 'tcp', address: 'b:2' }],
        },
      ],
    }),
    'list.json',
  );
  assert.deepEqual(
    servers.map((s) => [s.name, s.host, s.port, s.versions]),
    [
      ['Cloudflare-Roughtime-2', 'roughtime.cloudflare.com', 2003, ALL_IETF_VERSIONS],
      ['old', '2001:db8::1', 2002, 'google'],
      ['picky', '192.0.2.1', 2002, [1, 0x8000000c]],
    ],
  );
  assert.equal(servers[0]!.publicKey.byteLength, 32);
});

test('list problems are one-sentence ConfigErrors naming the entry', () => {
  const entry = {
    name: 'x',
    publicKeyType: 'ed25519',
    publicKey: KEY,
    addresses: [{ protocol: 'udp', address: 'h:1' }],
  };
  const message = (text: string): string => {
    try {
      parseServerList(text, 'list.json');
      return 'parsed';
    } catch (error) {
      assert.ok(error instanceof ConfigError);
      return error.message;
    }
  };
  assert.match(message('{'), /list.json is not valid JSON/);
  assert.match(message('{}'), /no "servers" array/);
  assert.match(
    message(JSON.stringify({ servers: [{ ...entry, publicKey: 'AAAA' }] })),
    /x: publicKey decodes to 3 bytes/,
  );
  assert.match(message(JSON.stringify({ servers: [{ ...entry, publicKeyType: 'rsa' }] })), /not ed25519/);
  assert.match(
    message(JSON.stringify({ servers: [{ ...entry, version: '0x80000003' }] })),
    /version "0x80000003" is not one saturn speaks/,
  );
  assert.match(
    message(JSON.stringify({ servers: [{ ...entry, version: ['google', 1] }] })),
    /cannot be offered together/,
  );
  assert.match(
    message(JSON.stringify({ servers: [{ ...entry, addresses: [{ protocol: 'udp', address: 'nohost' }] }] })),
    /address must be host:port/,
  );
  assert.match(message(JSON.stringify({ servers: [{ ...entry, addresses: 'h:1' }] })), /must be an array/);
  assert.match(message(JSON.stringify({ servers: [] })), /no server reachable over UDP/);
  assert.match(message(JSON.stringify({ servers: [5] })), /server 0 is not an object/);
});

test('--roughtime-server host:port=BASE64KEY', () => {
  const server = parseServerSpec(`127.0.0.1:2002=${KEY}`);
  assert.deepEqual(
    [server.host, server.port, server.publicKey.byteLength, server.versions],
    ['127.0.0.1', 2002, 32, ALL_IETF_VERSIONS],
  );
  assert.equal(parseServerSpec(`[::1]:2002=${KEY}`).host, '::1');
  assert.throws(() => parseServerSpec('127.0.0.1:2002'), ConfigError);
  assert.throws(() => parseServerSpec(`127.0.0.1=${KEY}`), ConfigError);
  assert.throws(() => parseServerAddress('h:70000', 'x'), ConfigError);
});
