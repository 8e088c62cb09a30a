/**
 * The HTTP edge behind TLS as a web config sets it up: tls_server_config.min_version is what the
 * server negotiates on the wire, not only what the file parser accepts.
 */
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { type SecureVersion, connect } from 'node:tls';
import { test } from 'node:test';
import { HttpServer } from '../../src/http/http-server.js';
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
