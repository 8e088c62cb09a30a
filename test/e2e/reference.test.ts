import assert from 'node:assert/strict';
import { after, describe, test } from 'node:test';
import { SaturnProcess, parseLlog } from '../helpers/saturn-process.js';

const KEY = 'e2e-reference-key-0123456789';

/** Starts `saturn roughtime serve` on an ephemeral port; returns its host:port=KEY spec. */
async function startRoughtimeServer(procs: SaturnProcess[]): Promise<string> {
  const server = SaturnProcess.start(['roughtime', 'serve', '--listen-addr', '127.0.0.1:0']);
  procs.push(server);
  const line = await server.waitForLine((l) => l.text.startsWith('roughtime server listening on'));
  const [, addr, key] = /listening on (\S+) public key (\S+)/.exec(line.text)!;
  return `${addr}=${key}`;
}

function startMaster(procs: SaturnProcess[], extra: string[]) {
  const master = SaturnProcess.start([
    '--listen-addr',
    '127.0.0.1:0',
    '--hmac-key',
    KEY,
    '--log-format',
    'json',
    '--roughtime-interval',
    '1s',
    ...extra,
  ]);
  procs.push(master);
  return master;
}

describe('end to end: the master checks its clock against Roughtime', () => {
  const procs: SaturnProcess[] = [];
  after(async () => {
    await Promise.all(procs.map((p) => p.stop('SIGKILL')));
  });

  test('a master 10 s ahead raises reference_clock_wrong against a local saturn roughtime server', async () => {
    const spec = await startRoughtimeServer(procs);
    const master = startMaster(procs, ['--roughtime-server', spec, '--clock-offset', '10s']);
    const line = await master.waitForLine(
      (l) => parseLlog(l.text)?.message === 'reference clock disagrees with roughtime',
    );
    const { level, fields } = parseLlog(line.text)!;
    assert.equal(level, 'ERROR');
    assert.equal(fields.event, 'reference_clock_wrong');
    assert.equal(fields.server, spec.split('=')[0]);
    // Roughtime's IETF times are whole seconds: 10 s give or take one.
    assert.ok(Math.abs(Number(fields.offset) - 10_000) <= 1_000, `offset ${fields.offset} ms`);
    await master.stop();
  });

  test('a master in step checks the same server and raises nothing', async () => {
    const spec = await startRoughtimeServer(procs);
    const master = startMaster(procs, ['--roughtime-server', spec]);
    const checked = await master.waitForLog('roughtime reference checked');
    assert.equal(checked.agrees, true);
    // A second round, so a wrong verdict would have had time to show.
    const first = master.lines.findIndex((l) => l.text.includes('roughtime reference checked'));
    await master.waitForLine((l) => l.text.includes('roughtime reference checked'), 20_000, first + 1);
    assert.ok(!master.lines.some((l) => l.text.includes('reference clock disagrees')), master.output());
    await master.stop();
  });

  test('a node serves Roughtime with --roughtime-listen, and saturn roughtime query verifies it', async () => {
    const master = startMaster(procs, ['--roughtime-listen', '127.0.0.1:0']);
    const listening = await master.waitForLog('roughtime listening');
    const query = SaturnProcess.start([
      'roughtime',
      'query',
      '--json',
      '--roughtime-server',
      `${listening.addr}=${listening.publicKey}`,
    ]);
    procs.push(query);
    const { code } = await query.exited;
    assert.equal(code, 0, query.output());
    const doc = JSON.parse(
      query.lines
        .filter((l) => l.stream === 'stdout')
        .map((l) => l.text)
        .join('\n'),
    );
    assert.equal(doc.servers.length, 1);
    assert.equal(doc.servers[0].valid, true);
    assert.equal(doc.servers[0].version, '1');
    await master.stop();
  });

  test("the master's own reference state shows in /status, /metrics and the dashboard", async () => {
    const spec = await startRoughtimeServer(procs);
    const master = startMaster(procs, [
      '--roughtime-server',
      spec,
      '--clock-offset',
      '10s',
      '--metrics-addr',
      '127.0.0.1:0',
    ]);
    const { addr } = await master.waitForLog('http listening');
    await master.waitForLine((l) => parseLlog(l.text)?.message === 'reference clock disagrees with roughtime');
    const status = (await (await fetch(`http://${addr}/status`)).json()) as { reference: Record<string, unknown> };
    assert.equal(status.reference.configured, true);
    assert.equal(status.reference.state, 'wrong');
    assert.equal(status.reference.server, spec.split('=')[0]);
    assert.ok(Math.abs(Number(status.reference.offsetMs) - 10_000) <= 1_000, JSON.stringify(status.reference));
    const metrics = await (await fetch(`http://${addr}/metrics`)).text();
    assert.match(metrics, /^saturn_reference_clock_state\{state="wrong"\} 1$/m);
    assert.match(metrics, /^saturn_reference_clock_state\{state="ok"\} 0$/m);
    const page = await (await fetch(`http://${addr}/`)).text();
    assert.match(
      page,
      /<span class="reference wrong">master clock vs Roughtime: <b>wrong<\/b> <small>127\.0\.0\.1:\d+: \+\d+\.\d{3} ms ± /,
    );
    await master.stop();
  });
});
