import assert from 'node:assert/strict';
import { after, describe, test } from 'node:test';
import { main } from '../../src/cli/main.js';
import { formatStatusTable } from '../../src/cli/status.js';
import { startMesh } from '../helpers/mesh.js';
import { lineSink } from '../helpers/sinks.js';

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

  test('a table of the mesh, and --json for machines', async () => {
    const mesh = await startMesh([{ name: 'web-1' }, { name: 'web-3', clockOffset: '750ms' }]);
    cleanups.push(mesh.close);
    await mesh.checked(2);
    const addr = mesh.base.replace('http://', '');

    const table = await run('status', '--metrics-addr', addr);
    assert.equal(table.code, 0, table.stderr);
    const lines = table.stdout.split('\n');
    assert.match(lines[0]!, /^S\s+Name\s+Address\s+Offset\s+\+\/- Error\s+RTT\s+Checks\s+Discarded\s+Last$/);
    assert.match(lines[1]!, /^=+$/);
    const web3 = lines.find((l) => l.includes('web-3'))!;
    assert.match(web3, /^\*\s+web-3\s+127\.0\.0\.1:\d+\s+\+7(4\d|5\d)\.\d{3}ms/);
    assert.match(
      lines.find((l) => l.includes('web-1'))!,
      /^ \s+web-1\s+127\.0\.0\.1:\d+\s+[+-]\d\.\d{3}ms/,
    );
    assert.match(table.stdout, /2 nodes, 1 over threshold/);

    const json = await run('status', '--metrics-addr', addr, '--json');
    assert.equal(json.code, 0);
    const doc = JSON.parse(json.stdout);
    assert.deepEqual(doc.nodes.map((n: any) => n.id).sort(), ['web-1', 'web-3']);
    assert.equal(doc.nodes.find((n: any) => n.id === 'web-3').overThreshold, true);
  });
});

test('an unreachable master is exit 1 with one line; no address is a usage error, exit 2', async () => {
  const { createServer } = await import('node:net');
  const server = createServer();
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  const port = (server.address() as { port: number }).port;
  await new Promise((r) => server.close(r));
  const down = await run('status', '--metrics-addr', `127.0.0.1:${port}`);
  assert.equal(down.code, 1);
  assert.match(down.stderr, /^saturn: cannot get http:\/\/127\.0\.0\.1:\d+\/status: ECONNREFUSED\n$/);
  const usage = await run('status');
  assert.equal(usage.code, 2);
  assert.match(usage.stderr, /--metrics-addr/);
  const bad = await run('status', '--metrics-addr', 'nowhere');
  assert.equal(bad.code, 2);
});

test('the table marks nodes without a check and aligns columns', () => {
  const now = Date.parse('2024-05-01T12:00:10Z');
  const text = formatStatusTable(
    {
      nodes: [
        {
          id: 'a',
          addr: '10.0.0.1:4123',
          offsetSeconds: -0.0001234,
          errorSeconds: 0.00002,
          rttSeconds: 0.0004,
          checks: 12,
          discarded: 1,
          lastCheckAt: '2024-05-01T12:00:00.000Z',
          overThreshold: false,
        },
        {
          id: 'new-node',
          addr: '10.0.0.22:4123',
          offsetSeconds: null,
          errorSeconds: null,
          rttSeconds: null,
          checks: 0,
          discarded: 0,
          lastCheckAt: null,
          overThreshold: false,
        },
      ],
    },
    now,
  );
  const lines = text.split('\n');
  assert.match(lines[2]!, /^ {3}a {9}10\.0\.0\.1:4123\s+-0\.123ms\s+0\.020ms\s+0\.400ms\s+12\s+1\s+10s$/);
  assert.match(lines[3]!, /^\?  new-node  10\.0\.0\.22:4123\s+-\s+-\s+-\s+0\s+0\s+never$/);
  // Right-aligned numbers: the Checks column ends at the same place in every row.
  const end = (l: string, cell: string) => l.indexOf(cell) + cell.length;
  assert.equal(end(lines[2]!, ' 12'), end(lines[0]!, 'Checks'));
});
