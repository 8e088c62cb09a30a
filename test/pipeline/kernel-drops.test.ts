import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { createSocket } from 'node:dgram';
import { existsSync, mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { dropsInProcNetUdp, socketReceiveDrops } from '../../src/pipeline/kernel-drops.js';

const PROC_NET_UDP = `   sl  local_address rem_address   st tx_queue rx_queue tr tm->when retrnsmt   uid  timeout inode ref pointer drops
  130: 0100007F:101B 00000000:0000 07 00000000:00000000 00:00000000 00000000     0        0 4242 2 0000000000000000 17
  131: 00000000:101B 00000000:0000 07 00000000:00000000 00:00000000 00000000     0        0 4243 2 0000000000000000 5
  200: 0100007F:0FA0 00000000:0000 07 00000000:00000000 00:00000000 00000000     0        0 4244 2 0000000000000000 9
`;

test('the drops column of /proc/net/udp is read for the socket bound to the address', () => {
  assert.equal(dropsInProcNetUdp(PROC_NET_UDP, '127.0.0.1', 4123), 17);
  assert.equal(dropsInProcNetUdp(PROC_NET_UDP, '0.0.0.0', 4123), 5);
  assert.equal(dropsInProcNetUdp(PROC_NET_UDP, '127.0.0.1', 4000), 9);
  assert.equal(dropsInProcNetUdp(PROC_NET_UDP, '127.0.0.1', 9999), undefined);
  assert.equal(dropsInProcNetUdp('', '127.0.0.1', 4123), undefined);
});

test('a flood the process cannot read in time shows as receive-buffer drops of its socket', async (t) => {
  if (!existsSync('/proc/net/udp')) {
    t.skip('no /proc/net/udp on this system');
    return;
  }
  const socket = createSocket('udp4');
  await new Promise<void>((r) => socket.bind(0, '127.0.0.1', r));
  try {
    socket.setRecvBufferSize(4096);
    const address = { host: '127.0.0.1', port: socket.address().port };
    assert.equal(socketReceiveDrops(address), 0);
    const done = join(mkdtempSync(join(tmpdir(), 'saturn-drops-')), 'sent');
    const sender = spawn(process.execPath, [
      '-e',
      `const s = require('node:dgram').createSocket('udp4'); const b = Buffer.alloc(200); let n = 0;
       const more = () => { for (let i = 0; i < 100; i++) s.send(b, ${address.port}, '127.0.0.1'); if (++n < 50) setImmediate(more);
         else setTimeout(() => { require('node:fs').writeFileSync(${JSON.stringify(done)}, ''); s.close(); }, 100); };
       more();`,
    ]);
    // This process reads nothing while the sender floods: the event loop is held until it is done.
    const deadline = Date.now() + 10_000;
    while (!existsSync(done) && Date.now() < deadline);
    await new Promise((r) => sender.on('exit', r));
    const drops = socketReceiveDrops(address);
    assert.ok(drops !== undefined && drops > 1000, `${drops} drops of 5,000 datagrams`);
  } finally {
    socket.close();
  }
});
