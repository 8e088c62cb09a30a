/**
 * The HTTP edge behind TLS as a web config sets it up: tls_server_config.min_version is what the
 * server negotiates on the wire, not only what the file parser accepts.
 */
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';
import bcrypt from 'bcryptjs';
import { type Socket, connect as connectTcp } from 'node:net';
import { type SecureVersion, connect } from 'node:tls';
import { test } from 'node:test';
import { HttpServer, MAX_HTTP_CONNECTIONS, PasswordWorker } from '../../src/http/http-server.js';
import { parseWebConfig } from '../../src/http/web-config.js';
import { makeCertificate } from '../helpers/certificate.js';
import { hasCommand } from '../helpers/system.js';

/** A TLS handshake with the server limited to `maxVersion`: the version agreed, or the error. */
function handshake(server: HttpServer, ca: Buffer, maxVersion: SecureVersion): Promise<string> {
  return new Promise((resolve) => {
    const socket = connect({ host: '127.0.0.1', port: server.address.port, ca, maxVersion, servername: 'localhost' });
    socket.once('secureConnect', () => {
      resolve(socket.getProtocol() ?? 'none');
      socket.end();
    });
    socket.once('error', (err) => resolve(`error: ${(err as NodeJS.ErrnoException).code ?? err.message}`));
  });
}

async function tlsServer(dir: string, minVersion: string): Promise<HttpServer> {
  const web = parseWebConfig(
    `tls_server_config:\n  cert_file: server.crt\n  key_file: server.key\n  min_version: ${minVersion}\n`,
    join(dir, 'web.yml'),
    (file) => readFileSync(join(dir, file)),
  );
  return HttpServer.start(
    { host: '127.0.0.1', port: 0 },
    { '/status': () => ({ type: 'text/plain', body: 'ok\n' }) },
    web,
  );
}

test(
  'min_version TLS13 refuses a client limited to TLS 1.2 and accepts TLS 1.3; TLS12 accepts both',
  { skip: !hasCommand('openssl') && 'openssl is not installed' },
  async () => {
    const dir = mkdtempSync(join(tmpdir(), 'saturn-http-tls-'));
    const ca = readFileSync(makeCertificate(dir).cert);
    const strict = await tlsServer(dir, 'TLS13');
    try {
      assert.match(await handshake(strict, ca, 'TLSv1.2'), /^error: /, 'a TLS 1.2 client is refused');
      assert.equal(await handshake(strict, ca, 'TLSv1.3'), 'TLSv1.3');
    } finally {
      await strict.close();
    }
    // The same client gets in where TLS 1.2 is allowed: the refusal above is min_version's doing.
    const lenient = await tlsServer(dir, 'TLS12');
    try {
      assert.equal(await handshake(lenient, ca, 'TLSv1.2'), 'TLSv1.2');
      assert.equal(await handshake(lenient, ca, 'TLSv1.3'), 'TLSv1.3');
    } finally {
      await lenient.close();
    }
  },
);

/** A connection that sends the start of a request and never finishes its headers (slowloris); resolves once connected. */
function stalledRequest(port: number, closed: () => void): Promise<Socket> {
  return new Promise((resolve, reject) => {
    const socket = connectTcp(port, '127.0.0.1', () => {
      socket.write('GET /status HTTP/1.1\r\nHost: x\r\n');
      resolve(socket);
    });
    // After the connect, an error (a reset by the server) settles nothing: the close is what counts.
    socket.on('error', reject);
    socket.once('close', closed);
  });
}

test(
  'slowloris: connections past MAX_HTTP_CONNECTIONS are closed at once, so stalled clients cannot use up the file descriptors',
  { timeout: 30_000 },
  async () => {
    const server = await HttpServer.start(
      { host: '127.0.0.1', port: 0 },
      { '/status': () => ({ type: 'text/plain', body: 'ok\n' }) },
    );
    const extra = 20;
    let closedByServer = 0;
    let allClosed: () => void = () => undefined;
    const extraClosed = new Promise<void>((resolve) => (allClosed = resolve));
    const sockets: Socket[] = [];
    try {
      for (let i = 0; i < MAX_HTTP_CONNECTIONS + extra; i++)
        sockets.push(
          await stalledRequest(server.address.port, () => {
            if (++closedByServer === extra) allClosed();
          }),
        );
      await extraClosed;
      assert.equal(closedByServer, extra, 'exactly the connections beyond the cap are closed');
    } finally {
      for (const socket of sockets) socket.destroy();
      await server.close();
    }
  },
);

test('wrong passwords are checked off the main thread: a burst of them leaves the event loop (and the checks on it) idle', async () => {
  // Cost 12: about a quarter of a second of bcrypt per comparison, so a main thread doing them would be busy throughout.
  const hash = bcrypt.hashSync('right', 12);
  const web = parseWebConfig(`basic_auth_users:\n  prom: ${hash}\n`, 'web.yml', () => Buffer.alloc(0));
  const server = await HttpServer.start(
    { host: '127.0.0.1', port: 0 },
    { '/status': () => ({ type: 'text/plain', body: 'ok\n' }) },
    web,
  );
  try {
    const url = `http://127.0.0.1:${server.address.port}/status`;
    const ask = (password: string) =>
      fetch(url, { headers: { authorization: `Basic ${Buffer.from(`prom:${password}`).toString('base64')}` } });
    const start = performance.eventLoopUtilization();
    const answers = await Promise.all([1, 2, 3, 4].map((i) => ask(`wrong-${i}`)));
    const busy = performance.eventLoopUtilization(start);
    assert.deepEqual(
      answers.map((a) => a.status),
      [401, 401, 401, 401],
    );
    assert.ok(busy.utilization < 0.5, `the event loop was busy ${(busy.utilization * 100).toFixed(0)}% of the time`);
    assert.equal((await ask('right')).status, 200);
  } finally {
    await server.close();
  }
});

test('the password worker is started again after it ends: a comparison after a crash is answered, not left waiting', async () => {
  const hash = bcrypt.hashSync('right', 4);
  const passwords = new PasswordWorker();
  try {
    assert.equal(await passwords.compare('right', hash), true);
    // What a crash of the worker looks like from here: it exits.
    await (passwords as unknown as { worker: { terminate(): Promise<number> } }).worker.terminate();
    assert.equal(await passwords.compare('wrong', hash), false);
    assert.equal(await passwords.compare('right', hash), true);
  } finally {
    await passwords.close();
  }
  assert.equal(await passwords.compare('right', hash), false, 'closed: every comparison is refused');
});

test('GET and HEAD carry the same content-length; HEAD sends no body (text, bytes and bytes in chunks)', async () => {
  const server = await HttpServer.start(
    { host: '127.0.0.1', port: 0 },
    {
      '/text': () => ({ type: 'text/plain', body: 'héllo\n' }),
      '/bytes': () => ({ type: 'application/octet-stream', body: new Uint8Array([1, 2, 3]) }),
      '/chunks': async () => ({ type: 'text/plain', body: [Buffer.from('a\n'), Buffer.from('bc\n')] }),
    },
  );
  try {
    for (const [path, expected] of [
      ['/text', 'héllo\n'],
      ['/bytes', '\u0001\u0002\u0003'],
      ['/chunks', 'a\nbc\n'],
    ] as const) {
      const url = `http://127.0.0.1:${server.address.port}${path}`;
      const got = await fetch(url);
      const body = await got.text();
      assert.equal(body, expected);
      assert.equal(got.headers.get('content-length'), String(Buffer.byteLength(expected)), path);
      const head = await fetch(url, { method: 'HEAD' });
      assert.equal(head.status, 200);
      assert.equal(head.headers.get('content-length'), String(Buffer.byteLength(expected)), `HEAD ${path}`);
      assert.equal(await head.text(), '');
    }
  } finally {
    await server.close();
  }
});
