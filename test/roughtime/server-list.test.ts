import assert from 'node:assert/strict';
import { test } from 'node:test';
import { ConfigError } from '../../src/errors.js';
import { parseServerAddress, parseServerList, parseServerSpec } from '../../src/roughtime/server-list.js';
import { ALL_IETF_VERSIONS } from '../../src/roughtime/versions.js';

const KEY = '0GD7c3yP8xEc4Zl2zeuN2SlLvDVVocjsPSL8/Rl/7zg=';

test('parses the ecosystem format, picking UDP addresses and versions', () => {
  const { servers, skipped } = parseServerList(
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
          version: 'IETF-Roughtime',
          publicKeyType: 'ed25519',
          publicKey: KEY,
          addresses: [{ protocol: 'tcp', address: 'b:2' }],
        },
      ],
    }),
    'list.json',
  );
  assert.deepEqual(skipped, ['list.json: tcp-only: no UDP address (saturn speaks Roughtime over UDP only); skipped']);
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
  // One entry alone: a problem with it leaves no usable server, so the whole list is refused, naming it.
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
  assert.match(message(JSON.stringify({ servers: [] })), /lists no server saturn can use$/);
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

test('a list as published: an ml-dsa-44 entry reachable only over TCP is skipped with a warning, the rest are used', () => {
  const { servers, skipped } = parseServerList(
    JSON.stringify({
      servers: [
        {
          name: 'pq-tcp',
          version: 'IETF-Roughtime',
          publicKeyType: 'ml-dsa-44',
          publicKey: Buffer.alloc(1312, 7).toString('base64'),
          addresses: [{ protocol: 'tcp', address: 'pq.example:2002' }],
        },
        {
          name: 'good',
          version: 'IETF-Roughtime',
          publicKeyType: 'ed25519',
          publicKey: KEY,
          addresses: [{ protocol: 'udp', address: 'good.example:2002' }],
        },
      ],
    }),
    'published.json',
  );
  assert.deepEqual(
    servers.map((s) => s.name),
    ['good'],
  );
  assert.deepEqual(skipped, ['published.json: pq-tcp: publicKeyType "ml-dsa-44" is not ed25519; skipped']);
});

test('no "version" means the original Google protocol; 3000600613 (pre-IETF) is Google too', () => {
  const entry = { publicKeyType: 'ed25519', publicKey: KEY, addresses: [{ protocol: 'udp', address: 'h:1' }] };
  const { servers } = parseServerList(
    JSON.stringify({
      servers: [
        { ...entry, name: 'unversioned' },
        { ...entry, name: 'number', version: 3000600613 },
        { ...entry, name: 'string', version: '3000600613' },
        { ...entry, name: 'ietf', version: 'IETF-Roughtime' },
      ],
    }),
    'list.json',
  );
  assert.deepEqual(
    servers.map((s) => [s.name, s.versions]),
    [
      ['unversioned', 'google'],
      ['number', 'google'],
      ['string', 'google'],
      ['ietf', ALL_IETF_VERSIONS],
    ],
  );
});

test('a list with no usable entry is refused, and says why for each', () => {
  assert.throws(
    () =>
      parseServerList(
        JSON.stringify({
          servers: [{ name: 'pq', publicKeyType: 'ml-dsa-44', publicKey: KEY, addresses: [] }],
        }),
        'list.json',
      ),
    (e: unknown) =>
      e instanceof ConfigError &&
      e.message ===
        'list.json lists no server saturn can use (list.json: pq: publicKeyType "ml-dsa-44" is not ed25519; skipped)',
  );
});

test('hostile entries (an object where a string belongs) are skipped with a reason, never a TypeError', () => {
  const { servers, skipped } = parseServerList(
    '{"servers":[' +
      '{"name":"p","publicKey":"' +
      KEY +
      '","addresses":[{"protocol":{"toString":1},"address":"h:2002"}]},' +
      '{"name":"t","publicKeyType":{"toString":1},"publicKey":"' +
      KEY +
      '","addresses":[{"protocol":"udp","address":"h:2002"}]},' +
      '{"name":"ok","publicKey":"' +
      KEY +
      '","addresses":[{"protocol":"udp","address":"h:2002"}]}]}',
    'list.json',
  );
  assert.deepEqual(
    servers.map((s) => s.name),
    ['ok'],
  );
  assert.deepEqual(skipped, [
    'list.json: p: no UDP address (saturn speaks Roughtime over UDP only); skipped',
    'list.json: t: publicKeyType {"toString":1} is not ed25519; skipped',
  ]);
});

test('a key given as 64 hex digits (either case) is read as hex, as some lists publish it', () => {
  const hex = Buffer.from(KEY, 'base64').toString('hex');
  for (const publicKey of [hex, hex.toUpperCase()]) {
    const { servers } = parseServerList(
      JSON.stringify({ servers: [{ name: 'h', publicKey, addresses: [{ protocol: 'udp', address: 'h:2002' }] }] }),
      'list.json',
    );
    assert.deepEqual(Buffer.from(servers[0]!.publicKey).toString('base64'), KEY);
  }
  assert.deepEqual(Buffer.from(parseServerSpec(`h:2002=${hex}`).publicKey).toString('base64'), KEY);
});

test('of several UDP addresses, the first usable one is taken', () => {
  const { servers, skipped } = parseServerList(
    JSON.stringify({
      servers: [
        {
          name: 'multi',
          publicKey: KEY,
          addresses: [
            { protocol: 'udp', address: 'no-port' },
            { protocol: 'udp', address: 'b:2002' },
            { protocol: 'udp', address: 'c:2002' },
          ],
        },
      ],
    }),
    'list.json',
  );
  assert.deepEqual(skipped, []);
  assert.deepEqual(
    servers.map((s) => [s.host, s.port]),
    [['b', 2002]],
  );
});

test('a list that starts with a UTF-8 byte order mark (as Windows editors write) is read', () => {
  const text = `\uFEFF${JSON.stringify({
    servers: [
      {
        name: 'bom',
        version: 'IETF-Roughtime',
        publicKeyType: 'ed25519',
        publicKey: Buffer.alloc(32, 7).toString('base64'),
        addresses: [{ protocol: 'udp', address: '127.0.0.1:2002' }],
      },
    ],
  })}`;
  const { servers, skipped } = parseServerList(text, 'list.json');
  assert.deepEqual(skipped, []);
  assert.equal(servers[0]?.name, 'bom');
});
