import assert from 'node:assert/strict';
import { after, describe, test } from 'node:test';
import { SaturnProcess, parseLlog } from '../helpers/saturn-process.js';
import { until } from '../helpers/wait.js';
import { startTestServer } from '../roughtime/test-server.js';

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
    // Roughtime's IETF times are whole seconds (MIDP floored): 10 s can read as up to 11 s and a little
    // more; the truth lies within the reported error bound (RADI + RTT/2), not within a fixed second.
    assert.ok(
      Math.abs(Number(fields.offset) - 10_000) <= Number(fields.error),
      `offset ${fields.offset} ms ± ${fields.error} ms`,
    );
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
  test('a server signing RADI 0 is counted as a server fault in /metrics and logged at WARN', async () => {
    const truncating = await startTestServer({ seed: 41, radiZero: true });
    try {
      const addr = `127.0.0.1:${truncating.port}`;
      const spec = `${addr}=${Buffer.from(truncating.publicKey).toString('base64')}`;
      const master = startMaster(procs, ['--roughtime-server', spec, '--metrics-addr', '127.0.0.1:0']);
      const http = await master.waitForLog('http listening');
      const fault = await master.waitForLine(
        (l) => l.stream === 'stderr' && l.text.includes('roughtime server fault: RADI below its timestamp resolution'),
      );
      assert.equal(JSON.parse(fault.text).level, 40, 'WARN');
      // The round's metrics are counted after its log lines: wait for the round to finish.
      await master.waitForLog('roughtime reference checked');
      const server = addr.replace(/[.]/g, '\\.');
      let metrics = '';
      await until('the server fault counted in /metrics', async () => {
        metrics = await (await fetch(`http://${http.addr}/metrics`)).text();
        return metrics.includes('result="server_fault"');
      });
      const count = new RegExp(
        `^saturn_roughtime_checks_total\\{server="${server}",result="server_fault"\\} (\\d+)$`,
        'm',
      ).exec(metrics);
      assert.ok(count && Number(count[1]) >= 1, metrics);
      assert.match(
        metrics,
        new RegExp(`^saturn_roughtime_checks_total\\{server="${server}",result="ok"\\} \\d+$`, 'm'),
      );
      assert.ok(!master.lines.some((l) => l.text.includes('reference clock disagrees')), master.output());
      await master.stop();
    } finally {
      await truncating.close();
    }
  });
  test('a silent server is counted as no_answer under its own name in /metrics', async () => {
    const quiet = await startTestServer({ seed: 42, behaviour: () => 'silent' });
    try {
      const addr = `127.0.0.1:${quiet.port}`;
      const spec = `${addr}=${Buffer.from(quiet.publicKey).toString('base64')}`;
      const master = startMaster(procs, ['--roughtime-server', spec, '--metrics-addr', '127.0.0.1:0']);
      const http = await master.waitForLog('http listening');
      await master.waitForLog('roughtime server did not answer');
      let metrics = '';
      await until('the silent server counted in /metrics', async () => {
        metrics = await (await fetch(`http://${http.addr}/metrics`)).text();
        return metrics.includes('result="no_answer"');
      });
      const server = addr.replace(/[.]/g, '\\.');
      assert.match(
        metrics,
        new RegExp(`^saturn_roughtime_checks_total\\{server="${server}",result="no_answer"\\} [1-9]\\d*$`, 'm'),
      );
      await master.stop();
    } finally {
      await quiet.close();
    }
  });
});
