import assert from 'node:assert/strict';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { after, before, test } from 'node:test';
import { decodeExchangeFile, toJson } from '../../src/cli/roughtime.js';
import {
  DEFAULT_FLUSH_MS,
  DEFAULT_MAX_BATCH,
  DEFAULT_QUEUE_CAPACITY,
  DEFAULT_WORKERS,
} from '../../src/pipeline/batched-lane.js';
import { verifyMalfeasanceReport } from '../../src/roughtime/chain.js';
import { DEFAULT_QUERY_TIMEOUT_NS, type queryChain } from '../../src/roughtime/client.js';
import { signingKeyFromSeed } from '../../src/roughtime/crypto.js';
import {
  DEFAULT_CLOCK_UNCERTAINTY_NS,
  DEFAULT_ROUGHTIME_LISTEN,
  startRoughtimeServer,
} from '../../src/roughtime/server.js';
import { DEFAULT_DELEGATION_WINDOW_NS } from '../../src/roughtime/server-keys.js';
import { runCli } from './run-cli.js';
import { startTestServer, testClock } from './test-server.js';
import { draft19ReportText, roughenoughVector, vectorsDir } from './vectors.js';

const ROUGHENOUGH_KEY = 'AW5uAoTSTDfG5NfY1bTh08GUnOqlRb+HVhbJ3ODJvsE=';
let dir = '';
before(async () => {
  dir = await mkdtemp(path.join(tmpdir(), 'saturn-rt-cli-'));
});
after(async () => {
  await rm(dir, { recursive: true, force: true });
});

test('verify: a saved 0x8000000c exchange in hex files is valid (exit 0)', async (t) => {
  const vectors = vectorsDir();
  const run = await runCli([
    'verify',
    '--public-key',
    ROUGHENOUGH_KEY,
    '--request',
    path.join(vectors, 'roughenough/rfc-request.071039e5.hex'),
    '--response',
    path.join(vectors, 'roughenough/rfc-response.071039e5.hex'),
  ]);
  assert.equal(run.exitCode, 0);
  const json = JSON.parse(run.stdout) as Record<string, unknown>;
  assert.deepEqual(
    { valid: json.valid, version: json.version, midp: json.midp, radi: json.radi, reason: json.reason },
    { valid: true, version: '0x8000000c', midp: 1747944450, radi: 5, reason: null },
  );
  assert.match(run.stdout, /"maxt":18446744073709551615/);
});

test('verify: raw files work too; a mismatched pair is invalid (exit 1)', async (t) => {
  const vectors = vectorsDir();
  const request = path.join(dir, 'request.bin');
  const response = path.join(dir, 'response.bin');
  await writeFile(request, roughenoughVector(vectors, 'rfc-request.071039e5.hex'));
  await writeFile(response, roughenoughVector(vectors, 'rfc-response.071039e5.hex'));
  assert.equal(
    (await runCli(['verify', '--public-key', ROUGHENOUGH_KEY, '--request', request, '--response', response])).exitCode,
    0,
  );
  const other = path.join(vectors, 'roughenough/rfc-request.SRV.417aa962.hex');
  const run = await runCli(['verify', '--public-key', ROUGHENOUGH_KEY, '--request', other, '--response', response]);
  assert.equal(run.exitCode, 1);
  const json = JSON.parse(run.stdout) as Record<string, unknown>;
  assert.equal(json.valid, false);
  assert.equal(json.reason, 'NONC does not echo the request nonce');
});

test('verify: usage errors exit 2 with one sentence', async () => {
  const missing = await runCli(['verify', '--public-key', ROUGHENOUGH_KEY]);
  assert.equal(missing.exitCode, 2);
  assert.match(missing.stderr, /needs --public-key, --request and --response/);
  const badKey = await runCli(['verify', '--public-key', 'AAAA', '--request', 'x', '--response', 'y']);
  assert.equal(badKey.exitCode, 2);
  assert.match(badKey.stderr, /--public-key must be 32 bytes/);
  const unreadable = await runCli([
    'verify',
    '--public-key',
    ROUGHENOUGH_KEY,
    '--request',
    path.join(dir, 'nope'),
    '--response',
    path.join(dir, 'nope'),
  ]);
  assert.equal(unreadable.exitCode, 2);
  assert.match(unreadable.stderr, /--request .* cannot be read \(ENOENT\)/);
  assert.equal((await runCli(['verify', '--bogus'])).exitCode, 2);
  assert.equal((await runCli(['verify', '--report', 'r.json', '--public-key', ROUGHENOUGH_KEY])).exitCode, 2);
});

test('verify --report: the draft-19 report proves a lie (exit 0); a broken one does not (exit 1)', async (t) => {
  const vectors = vectorsDir();
  const good = path.join(dir, 'report.json');
  await writeFile(good, draft19ReportText(vectors));
  const run = await runCli(['verify', '--report', good]);
  assert.equal(run.exitCode, 0);
  const json = JSON.parse(run.stdout) as {
    valid: boolean;
    responses: Array<{ version: string }>;
    contradictions: unknown[];
  };
  assert.equal(json.valid, true);
  assert.deepEqual(
    json.responses.map((r) => r.version),
    ['1', '1', '1'],
  );
  assert.equal(json.contradictions.length, 2);
  const report = JSON.parse(draft19ReportText(vectors)) as { responses: unknown[] };
  const bad = path.join(dir, 'bad.json');
  await writeFile(bad, JSON.stringify({ responses: report.responses.slice(1) }));
  const broken = await runCli(['verify', '--report', bad]);
  assert.equal(broken.exitCode, 1);
  assert.match(JSON.parse(broken.stdout).reason as string, /consistent/);
  const notJson = path.join(dir, 'not.json');
  await writeFile(notJson, '{');
  assert.equal((await runCli(['verify', '--report', notJson])).exitCode, 1);
});

test("query: prints each server's version, midpoint, radius, RTT and offset; --json", async () => {
  const local = await startTestServer({ seed: 21, name: 'ignored' });
  try {
    const key = Buffer.from(local.publicKey).toString('base64');
    const text = await runCli(['query', '--roughtime-server', `127.0.0.1:${local.port}=${key}`], {
      clock: testClock(),
    });
    assert.equal(text.exitCode, 0, text.stderr);
    assert.match(
      text.stdout,
      new RegExp(
        `^127\\.0\\.0\\.1:${local.port}  version 1  midpoint \\d{4}-\\d\\d-\\d\\dT[0-9:.]+Z  radius 1 s  rtt [0-9.]+ ms  offset [+-][0-9.]+ ms ± 1\\.\\d+ s \\(local clock inside the interval\\)\\n$`,
      ),
    );
    const json = await runCli(['query', '--json', '--roughtime-server', `127.0.0.1:${local.port}=${key}`]);
    assert.equal(json.exitCode, 0);
    const parsed = JSON.parse(json.stdout) as {
      servers: Array<Record<string, unknown>>;
      contradictions: unknown[];
      malfeasanceReport: unknown;
    };
    assert.equal(parsed.servers[0]!.version, '1');
    assert.equal(parsed.servers[0]!.withinInterval, true);
    assert.equal(typeof parsed.servers[0]!.midp, 'number');
    assert.deepEqual(parsed.contradictions, []);
    assert.equal(parsed.malfeasanceReport, null);
  } finally {
    await local.close();
  }
});

test('query: a list with a silent server and a liar exits 1 and writes the malfeasance report', async () => {
  const honest = await startTestServer({ seed: 22, name: 'honest' });
  const liar = await startTestServer({ seed: 23, offsetNs: -86_400_000_000_000n });
  const silent = await startTestServer({ seed: 24, behaviour: () => 'silent' });
  try {
    const entry = (name: string, s: { port: number; publicKey: Uint8Array }, version: unknown = 'IETF-Roughtime') => ({
      name,
      version,
      publicKeyType: 'ed25519',
      publicKey: Buffer.from(s.publicKey).toString('base64'),
      addresses: [{ protocol: 'udp', address: `127.0.0.1:${s.port}` }],
    });
    const list = path.join(dir, 'servers.json');
    await writeFile(
      list,
      JSON.stringify({ servers: [entry('honest', honest), entry('silent', silent), entry('liar', liar, 1)] }),
    );
    const reportFile = path.join(dir, 'malfeasance.json');
    const run = await runCli(
      [
        'query',
        '--roughtime-servers',
        list,
        '--timeout',
        '50ms',
        '--attempts',
        '2',
        '--malfeasance-report',
        reportFile,
      ],
      { clock: testClock() },
    );
    assert.equal(run.exitCode, 1);
    assert.match(run.stdout, /^honest {2}version 1 /m);
    assert.match(
      run.stdout,
      /^silent {2}no valid answer: silent did not answer 2 request\(s\): it is down or unreachable, or it does not hold the public key given \(a server ignores requests for another key\)$/m,
    );
    assert.match(
      run.stdout,
      /^CONTRADICTION: honest answered before liar, yet its interval begins after liar's ends: one of them lies$/m,
    );
    assert.match(run.stdout, /malfeasance report written to/);
    const verdict = verifyMalfeasanceReport(JSON.parse(await readFile(reportFile, 'utf8')));
    assert.equal(verdict.valid, true, verdict.reason ?? '');
  } finally {
    await Promise.all([honest.close(), liar.close(), silent.close()]);
  }
});

test('query: no servers, bad options and bad lists are usage errors (exit 2)', async () => {
  assert.match((await runCli(['query'])).stderr, /needs --roughtime-servers FILE or --roughtime-server/);
  assert.equal((await runCli(['query'])).exitCode, 2);
  assert.equal((await runCli(['query', '--roughtime-server', 'nonsense'])).exitCode, 2);
  assert.equal(
    (await runCli(['query', '--roughtime-server', `127.0.0.1:1=${ROUGHENOUGH_KEY}`, '--attempts', '0'])).exitCode,
    2,
  );
  const list = path.join(dir, 'empty.json');
  await writeFile(list, '{"servers":[]}');
  const run = await runCli(['query', '--roughtime-servers', list]);
  assert.equal(run.exitCode, 2);
  assert.match(run.stderr, /lists no server saturn can use/);
});

test('helpers: exchange files as hex or raw; JSON keeps uint64 exact', () => {
  assert.deepEqual(decodeExchangeFile(new Uint8Array(Buffer.from('0a0B\n ff\n'))), new Uint8Array([0x0a, 0x0b, 0xff]));
  const raw = new Uint8Array([0x52, 0x4f, 0x55, 0x47]);
  assert.equal(decodeExchangeFile(raw), raw);
  assert.equal(toJson({ maxt: 2n ** 64n - 1n, s: 'a' }), '{"maxt":18446744073709551615,"s":"a"}');
});

test('query: a published list with an entry saturn cannot use warns about it and queries the rest', async () => {
  const honest = await startTestServer({ seed: 25, name: 'honest' });
  try {
    const list = path.join(dir, 'published.json');
    await writeFile(
      list,
      JSON.stringify({
        servers: [
          {
            name: 'pq',
            version: 'IETF-Roughtime',
            publicKeyType: 'ml-dsa-44',
            publicKey: Buffer.alloc(1312, 1).toString('base64'),
            addresses: [{ protocol: 'tcp', address: 'pq.example:2002' }],
          },
          {
            name: 'honest',
            version: 'IETF-Roughtime',
            publicKeyType: 'ed25519',
            publicKey: Buffer.from(honest.publicKey).toString('base64'),
            addresses: [{ protocol: 'udp', address: `127.0.0.1:${honest.port}` }],
          },
        ],
      }),
    );
    const run = await runCli(['query', '--roughtime-servers', list, '--timeout', '500'], { clock: testClock() });
    assert.equal(run.exitCode, 0, run.stdout + run.stderr);
    assert.match(run.stderr, /warning: .*published\.json: pq: publicKeyType "ml-dsa-44" is not ed25519; skipped/);
    assert.match(run.stdout, /^honest {2}version 1 /m);
  } finally {
    await honest.close();
  }
});

test('IPv6 addresses print as the ecosystem writes them: [::1]:port in what serve and query print', async () => {
  const keys = { longTermKey: signingKeyFromSeed(new Uint8Array(32).fill(0x66)), adHoc: false };
  const server = await startRoughtimeServer({ listenAddr: { host: '::1', port: 0 }, keys, clock: testClock() });
  try {
    const address = `[::1]:${server.address.port}`;
    const key = Buffer.from(server.publicKey).toString('base64');
    const text = await runCli(['query', '--roughtime-server', `${address}=${key}`], { clock: testClock() });
    assert.equal(text.exitCode, 0, text.stdout + text.stderr);
    assert.match(text.stdout, new RegExp(`^\\[::1\\]:${server.address.port} {2}version 1 `, 'm'));
    const json = await runCli(['query', '--roughtime-server', `${address}=${key}`, '--json'], { clock: testClock() });
    assert.equal(JSON.parse(json.stdout).servers[0].address, address);
  } finally {
    await server.close();
  }
});

test('query --timeout is a duration (a bare number is milliseconds, as before); its default is the client’s', async () => {
  const waits: (number | undefined)[] = [];
  const query: typeof queryChain = async (_servers, options) => {
    waits.push(options.backoff?.initialMs);
    return { answers: [], failures: [], contradictions: [], links: [], report: undefined };
  };
  const server = ['query', '--roughtime-server', `127.0.0.1:1=${ROUGHENOUGH_KEY}`];
  for (const timeout of ['2s', '250ms', '250'])
    assert.equal((await runCli([...server, '--timeout', timeout], { query })).exitCode, 0);
  assert.equal((await runCli(server, { query })).exitCode, 0);
  assert.deepEqual(waits, [2000, 250, 250, DEFAULT_QUERY_TIMEOUT_NS / 1e6]);
  for (const timeout of ['0', 'soon', '-1s']) {
    const run = await runCli([...server, '--timeout', timeout], { query });
    assert.equal(run.exitCode, 2, timeout);
    assert.match(run.stderr, /^saturn: --timeout must (be a positive duration|be a duration|not be negative)/m);
  }
});

test('serve --flush is a duration up to 1s (--flush-ms, its former name, still works); help shows the owners’ defaults', async () => {
  for (const [args, message] of [
    [['--flush', '2s'], /--flush must be at most 1s, got "2s"/],
    [['--flush', 'soon'], /--flush must be a duration/],
    [['--flush-ms', '1500'], /--flush-ms must be at most 1s, got "1500"/],
  ] as const) {
    const run = await runCli(['serve', '--listen-addr', '127.0.0.1:0', ...args]);
    assert.equal(run.exitCode, 2, args.join(' '));
    assert.match(run.stderr, message);
  }
  const served = await runCli(['serve', '--listen-addr', '127.0.0.1:0', '--workers', '0', '--flush', '5ms'], {
    shutdown: () => Promise.resolve(),
  });
  assert.equal(served.exitCode, 0, served.stderr);
  const help = (await runCli(['serve', '--help'])).stdout.replace(/\s+/g, ' ');
  for (const [flag, value] of [
    ['--listen-addr', DEFAULT_ROUGHTIME_LISTEN],
    ['--max-batch', String(DEFAULT_MAX_BATCH)],
    ['--flush', `${DEFAULT_FLUSH_MS}ms`],
    ['--workers', String(DEFAULT_WORKERS)],
    ['--queue-size', String(DEFAULT_QUEUE_CAPACITY)],
    ['--delegation-window', `${DEFAULT_DELEGATION_WINDOW_NS / 3_600e9}h`],
    ['--clock-uncertainty', `${DEFAULT_CLOCK_UNCERTAINTY_NS / 1e9}s`],
  ])
    assert.match(help, new RegExp(`${flag} <[^>]+>(?:(?! --).)*\\(default: "${value}"\\)`), flag);
  assert.doesNotMatch(help, /--flush-ms/, 'the former name is not advertised');
});
