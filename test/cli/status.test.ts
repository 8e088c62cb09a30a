import assert from 'node:assert/strict';
import { after, describe, test } from 'node:test';
import { main } from '../../src/cli/main.js';
import { allOk, formatStatusTable } from '../../src/cli/status.js';
import type { NodeStatus } from '../../src/http/status.js';
import { startMesh } from '../helpers/mesh.js';
import { lineSink } from '../helpers/sinks.js';
import { until } from '../helpers/wait.js';

async function run(...argv: string[]) {
  const stdout = lineSink();
  const stderr = lineSink();
  const code = await main(argv, { stdout, stderr });
  return { code, stdout: stdout.text(), stderr: stderr.text() };
}

describe('saturn status against a running master (in process)', () => {
  const cleanups: (() => Promise<void>)[] = [];
  after(async () => {
    for (const c of cleanups) await c();
  });

  test("a table of the mesh, worst first, with each node's state, the master's row; --json for machines; --check", async () => {
    const mesh = await startMesh([{ name: 'web-1' }, { name: 'web-2' }, { name: 'web-3', clockOffset: '750ms' }]);
    cleanups.push(mesh.close);
    await mesh.checked(2);
    // The vote and web-3's alarm are both in (the vote runs on the master's sweep, after checks).
    const master = mesh.master.master!;
    await until(
      'web-3 named and over the threshold',
      () => master.mesh.isFalseticker('web-3') && master.fleet.get('web-3')!.alarm.over,
    );
    const addr = mesh.base.replace('http://', '');

    const table = await run('status', '--metrics-addr', addr);
    assert.equal(table.code, 0, table.stderr);
    const lines = table.stdout.split('\n');
    assert.match(
      lines[0]!,
      /^S\s+Name\s+Address\s+State\s+Offset\s+\+\/- Error\s+Vs agreed\s+Freq ppm\s+\+\/- ppm\s+RTT\s+Checks\s+Discarded\s+Last$/,
    );
    assert.match(lines[1]!, /^=+$/);
    assert.match(lines[2]!, /^x\s+web-3\s+127\.0\.0\.1:\d+\s+falseticker\s+\+7(4\d|5\d)\.\d{3}ms/, 'worst first');
    assert.match(table.stdout, /\n {3}master \(master\)\s+127\.0\.0\.1:\d+\s+ok\s+\+0\.000ms/);
    assert.match(table.stdout, /\n {3}web-1\s+127\.0\.0\.1:\d+\s+ok\s+[+-]\d\.\d{3}ms/);
    assert.match(
      table.stdout,
      /4 nodes: 1 falseticker \(x\), 1 over threshold \(\*; 1 of them marked x or \?\), 0 lost and 0 pending \(\?\), 0 drifting too fast/,
    );
    assert.match(table.stdout, /mesh: 3 of 4 clocks agree; .*falsetickers: web-3/);

    const json = await run('status', '--metrics-addr', addr, '--json');
    assert.equal(json.code, 0);
    const doc = JSON.parse(json.stdout);
    assert.deepEqual(doc.nodes.map((n: any) => n.id).sort(), ['master', 'web-1', 'web-2', 'web-3']);
    const web3 = doc.nodes.find((n: any) => n.id === 'web-3');
    assert.equal(web3.state, 'falseticker');
    assert.equal(web3.falseticker, true);
    assert.equal(web3.overThreshold, true);
    assert.equal(web3.reference, 'agreed');
    assert.ok(Math.abs(web3.consensusOffsetSeconds - 0.75) < 0.01, String(web3.consensusOffsetSeconds));
    assert.equal(web3.intervalSeconds, 0.25, 'the slave said its own interval');
    // Both clocks are this machine's: the frequency is 0 within its bound, and nothing drifts.
    assert.ok(
      Math.abs(web3.frequencyPpm) <= web3.frequencyErrorPpm,
      `${web3.frequencyPpm} ± ${web3.frequencyErrorPpm}`,
    );
    assert.equal(web3.driftRateAlarm, false);
    assert.deepEqual(doc.mesh.falsetickers, ['web-3']);
    assert.equal(doc.mesh.majority, true);
    assert.deepEqual([doc.mesh.agree, doc.mesh.of], [3, 4]);

    const check = await run('status', '--metrics-addr', addr, '--check');
    assert.equal(check.code, 1, 'a falseticker fails the check');
  });

  test('--check passes when every node is ok', async () => {
    const mesh = await startMesh([{ name: 'web-1' }, { name: 'web-2' }]);
    cleanups.push(mesh.close);
    await mesh.checked(2);
    const check = await run('status', '--metrics-addr', mesh.base.replace('http://', ''), '--check', '--timeout', '2s');
    assert.equal(check.code, 0, check.stdout + check.stderr);
  });
});

test('an unreachable master is exit 2 with one line; usage errors are exit 2 too', async () => {
  const { createServer } = await import('node:net');
  const server = createServer();
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  const port = (server.address() as { port: number }).port;
  await new Promise((r) => server.close(r));
  for (const extra of [[], ['--check']]) {
    const down = await run('status', '--metrics-addr', `127.0.0.1:${port}`, ...extra);
    assert.equal(down.code, 2);
    assert.match(down.stderr, /^saturn: cannot get http:\/\/127\.0\.0\.1:\d+\/status: ECONNREFUSED\n$/);
  }
  const usage = await run('status');
  assert.equal(usage.code, 2);
  assert.match(usage.stderr, /--metrics-addr/);
  const bad = await run('status', '--metrics-addr', 'nowhere');
  assert.equal(bad.code, 2);
  for (const timeout of ['abc', '-5', '0']) {
    const r = await run('status', '--metrics-addr', `127.0.0.1:${port}`, '--timeout', timeout);
    assert.equal(r.code, 2, `--timeout ${timeout}`);
    assert.match(r.stderr, /--timeout/);
    assert.equal(r.stderr.trim().split('\n').length, 1);
  }
});

test('a master that does not answer in time is exit 2, saying so', async () => {
  const { createServer } = await import('node:net');
  const sockets: import('node:net').Socket[] = [];
  const silent = createServer((socket) => void sockets.push(socket)); // accepts, never answers
  await new Promise<void>((r) => silent.listen(0, '127.0.0.1', r));
  const port = (silent.address() as { port: number }).port;
  try {
    const r = await run('status', '--metrics-addr', `127.0.0.1:${port}`, '--timeout', '200ms');
    assert.equal(r.code, 2);
    assert.match(r.stderr, /no answer within 200ms/);
  } finally {
    for (const s of sockets) s.destroy();
    await new Promise((r) => silent.close(r));
  }
});

const status = (over: Partial<NodeStatus>): NodeStatus => ({
  id: 'a',
  name: 'a',
  addr: '10.0.0.1:4123',
  state: 'ok',
  offsetSeconds: -0.0001234,
  errorSeconds: 0.00002,
  rttSeconds: 0.0004,
  checks: 12,
  discarded: 1,
  lastCheckAt: '2024-05-01T12:00:00.000Z',
  lastSeenSecondsAgo: 10,
  intervalSeconds: 10,
  overThreshold: false,
  frequencyPpm: 0.012,
  frequencyErrorPpm: 0.0041,
  frequencyVsAgreedPpm: null,
  frequencyVsAgreedErrorPpm: null,
  driftRateAlarm: false,
  role: 'slave',
  reference: 'master',
  falseticker: false,
  consensusOffsetSeconds: null,
  consensusErrorSeconds: null,
  meshPaths: 0,
  disagreeingPaths: [],
  ...over,
});

test('the table marks nodes that are not current, sorts worst first and aligns columns', () => {
  const text = formatStatusTable({
    drops: {},
    mesh: { peers: 0, falsetickers: [], agree: 0, of: 0, majority: false, agreedOffsetSeconds: null },
    nodes: [
      status({}),
      status({
        id: 'new-node',
        name: 'new-node',
        addr: '10.0.0.22:4123',
        state: 'pending',
        offsetSeconds: null,
        errorSeconds: null,
        rttSeconds: null,
        checks: 0,
        discarded: 0,
        lastCheckAt: null,
        lastSeenSecondsAgo: 2,
        frequencyPpm: null,
        frequencyErrorPpm: null,
      }),
      status({ id: 'gone', name: 'gone', state: 'lost', lastSeenSecondsAgo: 400 }),
      status({ id: 'fast', name: 'fast', frequencyPpm: 1000.5, frequencyErrorPpm: 1.25, driftRateAlarm: true }),
    ],
  });
  const lines = text.split('\n');
  assert.match(
    lines[0]!,
    /^S\s+Name\s+Address\s+State\s+Offset\s+\+\/- Error\s+Vs agreed\s+Freq ppm\s+\+\/- ppm\s+RTT\s+Checks/,
  );
  assert.match(
    lines[2]!,
    /^\?  gone\s+10\.0\.0\.1:4123\s+lost\s+-0\.123ms\s+0\.020ms\s+-\s+\+0\.012\s+0\.004\s+0\.400ms\s+12\s+1\s+7m$/,
  );
  assert.match(lines[3]!, /^\?  new-node\s+10\.0\.0\.22:4123\s+pending\s+-\s+-\s+-\s+-\s+-\s+-\s+0\s+0\s+2s$/);
  assert.match(
    lines[4]!,
    /^ {3}a\s+10\.0\.0\.1:4123\s+ok\s+-0\.123ms\s+0\.020ms\s+-\s+\+0\.012\s+0\.004\s+0\.400ms\s+12\s+1\s+10s$/,
  );
  assert.match(lines[5]!, /^~  fast\s+10\.0\.0\.1:4123\s+ok\s+-0\.123ms\s+0\.020ms\s+-\s+\+1000\.500\s+1\.250\s+/);
  assert.match(
    text,
    /4 nodes: 0 falseticker \(x\), 0 over threshold \(\*\), 1 lost and 1 pending \(\?\), 1 drifting too fast \(~\)/,
  );
  // Right-aligned numbers: the Checks column ends at the same place in every row.
  const end = (l: string, cell: string) => l.indexOf(cell) + cell.length;
  assert.equal(end(lines[4]!, ' 12'), end(lines[0]!, 'Checks'));
  assert.equal(end(lines[5]!, '+1000.500'), end(lines[0]!, 'Freq ppm'));
});

test('--check fails on a node that drifts too fast, even while it is within the threshold', () => {
  const mesh = { peers: 0, falsetickers: [], agree: 0, of: 0, majority: false, agreedOffsetSeconds: null };
  assert.equal(allOk({ drops: {}, mesh, nodes: [status({})] }), true);
  assert.equal(allOk({ drops: {}, mesh, nodes: [status({}), status({ id: 'fast', driftRateAlarm: true })] }), false);
});

test('with the mesh on, the master is a row of its own, a falseticker is marked x and first, and a line says the vote', () => {
  const text = formatStatusTable({
    drops: {},
    mesh: { peers: 3, falsetickers: ['m1'], agree: 4, of: 5, majority: true, agreedOffsetSeconds: -0.5 },
    nodes: [
      status({
        id: 'm1',
        name: 'm1',
        role: 'master',
        state: 'falseticker',
        offsetSeconds: 0,
        falseticker: true,
        consensusOffsetSeconds: 0.5001,
      }),
      status({ id: 'web-1', consensusOffsetSeconds: -0.0001 }),
    ],
  });
  const lines = text.split('\n');
  assert.match(lines[2]!, /^x  m1 \(master\)\s+10\.0\.0\.1:4123\s+falseticker\s+\+0\.000ms\s+0\.020ms\s+\+500\.100ms/);
  assert.match(lines[3]!, /^ {3}web-1\s.*ok\s+-0\.123ms\s+0\.020ms\s+-0\.100ms/);
  assert.match(text, /mesh: 4 of 5 clocks agree; agreed time = master clock -500\.000ms; falsetickers: m1/);
  const split = formatStatusTable({
    drops: {},
    mesh: { peers: 3, falsetickers: [], agree: 2, of: 4, majority: false, agreedOffsetSeconds: null },
    nodes: [status({})],
  });
  assert.match(split, /mesh: NO MAJORITY, at most 2 of 4 clocks agree/);
});

test('names with control characters cannot break the table or reach the terminal: they are escaped', () => {
  const text = formatStatusTable({
    drops: {},
    mesh: { peers: 3, falsetickers: ['evil\u001b[2J'], agree: 3, of: 4, majority: true, agreedOffsetSeconds: 0 },
    nodes: [status({ id: 'new\nline', name: 'new\nline' }), status({ id: 'evil\u001b[2J', name: 'evil\u001b[2J' })],
  });
  assert.ok(!/[\u0000-\u0009\u000b-\u001f]/.test(text), 'no control character but the newlines between lines');
  assert.equal(text.split('\n').length, 2 + 2 + 3 + 1, 'header, rule, two rows, blank, summary, mesh line, end');
  assert.match(text, /new\\u000aline/);
  assert.match(text, /evil\\u001b\[2J/);
  const bidi = formatStatusTable({
    drops: {},
    mesh: { peers: 0, falsetickers: [], agree: 1, of: 1, majority: false, agreedOffsetSeconds: null },
    nodes: [status({ id: 'web-1\u202e3-bew', name: 'web-1\u202e3-bew' })],
  });
  assert.ok(!bidi.includes('\u202e'), 'a bidirectional override cannot reorder the row');
  assert.match(bidi, /web-1\\u202e3-bew/);
});
