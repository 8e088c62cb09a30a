/** --event-format json: stdout as JSON lines (events with their time and sequence), for log shippers. */
import assert from 'node:assert/strict';
import { after, test } from 'node:test';
import { SaturnProcess } from '../helpers/saturn-process.js';

const KEY = 'e2e-event-format-key-0123456789';
const procs: SaturnProcess[] = [];
after(async () => void (await Promise.all(procs.map((p) => p.stop('SIGKILL')))));

test('--event-format json: every stdout line is a JSON object; events carry time, sequence and the webhook fields', async () => {
  const master = SaturnProcess.start([
    ...['--listen-addr', '127.0.0.1:0', '--hmac-key', KEY, '--log-format', 'json', '--event-format', 'json'],
    ...['--interval', '200ms', '--realert', '200ms'],
  ]);
  procs.push(master);
  const udp = (await master.waitForLog('master listening')).addr as string;
  const slave = SaturnProcess.start([
    ...['--master-addr', udp, '--listen-addr', '127.0.0.1:0', '--hmac-key', KEY, '--name', 'shifted'],
    ...['--interval', '200ms', '--clock-offset', '750ms', '--log-format', 'json', '--event-format', 'json'],
  ]);
  procs.push(slave);
  const stdout = (p: SaturnProcess) => p.lines.filter((l) => l.stream === 'stdout').map((l) => JSON.parse(l.text));
  await master.waitForLine(() => stdout(master).filter((r) => r.event === 'drift').length >= 2, 30_000);
  await slave.waitForLine(() => stdout(slave).some((r) => r.msg === 'slave offset'), 30_000);
  const drift = stdout(master).find((r) => r.event === 'drift');
  assert.equal(drift.level, 'WARN');
  assert.equal(drift.msg, 'slave offset is over threshold');
  assert.match(drift.time, /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{9}Z$/);
  assert.equal(typeof drift.sequence, 'number');
  assert.equal(drift.node.id, 'shifted');
  assert.ok(Math.abs(drift.offsetSeconds - 0.75) < 0.005);
  const check = stdout(master).find((r) => r.msg === 'slave offset');
  assert.equal(check.level, 'INFO');
  assert.match(check.time, /Z$/);
  assert.equal(check.name, 'shifted');
  const sequences = stdout(master)
    .filter((r) => r.event !== undefined)
    .map((r) => r.sequence);
  assert.deepEqual(
    sequences,
    sequences.map((_: number, i: number) => i + 1),
  );
  const seen = stdout(slave).find((r) => r.msg === 'slave offset');
  assert.match(seen.time, /Z$/);
  await slave.stop();
  await master.stop();
});
