/**
 * The HTTP port behind TLS and basic auth, configured with the web config file format of every
 * Prometheus exporter: the file passes `promtool check web-config`, a scrape with the right
 * password over TLS gets /metrics, a wrong one gets 401, and a real Prometheus scrapes it with a
 * scrape config written as for any exporter.
 */
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import bcrypt from 'bcryptjs';
import { Agent, fetch } from 'undici';
import { makeCertificate } from '../helpers/certificate.js';
import { hasCommand } from '../helpers/system.js';
import { SaturnProcess } from '../helpers/saturn-process.js';

const PASSWORD = 'correct horse battery staple';

async function freePort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  const { port } = server.address() as { port: number };
  await new Promise((r) => server.close(r));
  return port;
}

describe(
  '--web-config: TLS and basic auth on the HTTP port',
  { skip: !hasCommand('openssl') && 'openssl is not installed' },
  () => {
    const dir = mkdtempSync(join(tmpdir(), 'saturn-tls-'));
    const procs: SaturnProcess[] = [];
    let webConfig: string;
    let base: string;
    let dispatcher: Agent;
    let ca: string;

    before(async () => {
      const { cert } = makeCertificate(dir);
      ca = cert;
      webConfig = join(dir, 'web.yml');
      // Relative paths, as exporter-toolkit resolves them: next to the web config.
      writeFileSync(
        webConfig,
        [
          'tls_server_config:',
          '  cert_file: server.crt',
          '  key_file: server.key',
          '  min_version: TLS12',
          'http_server_config:',
          '  headers:',
          '    X-Content-Type-Options: nosniff',
          'basic_auth_users:',
          `  prometheus: ${bcrypt.hashSync(PASSWORD, 10).replace(/^\$2b\$/, '$2y$')}`,
          '',
        ].join('\n'),
      );
      const master = SaturnProcess.start([
        '--listen-addr',
        '127.0.0.1:0',
        '--metrics-addr',
        '127.0.0.1:0',
        '--web-config',
        webConfig,
        '--hmac-key',
        'tls-test-key-0123456789',
        '--log-format',
        'json',
      ]);
      procs.push(master);
      const http = await master.waitForLog('http listening');
      assert.equal(http.tls, true);
      assert.match(http.url, /^https:\/\//);
      base = `https://${http.addr}`;
      dispatcher = new Agent({ connect: { ca: readFileSync(cert) } });
    });
    after(async () => {
      await dispatcher?.close();
      for (const p of procs) await p.stop('SIGKILL');
    });

    const get = (path: string, auth?: string) =>
      fetch(`${base}${path}`, {
        dispatcher,
        headers: auth ? { authorization: `Basic ${Buffer.from(auth).toString('base64')}` } : {},
      });

    test('promtool accepts the web config file', (t) => {
      if (!hasCommand('promtool')) {
        t.skip("promtool is not installed (Debian's prometheus package; .ci/run installs it)");
        return;
      }
      const checked = spawnSync('promtool', ['check', 'web-config', webConfig], { encoding: 'utf8' });
      assert.equal(checked.status, 0, `${checked.stdout}${checked.stderr}`);
    });

    test('the right password gets /metrics over TLS; a wrong one, another user or none gets 401', async () => {
      const ok = await get('/metrics', `prometheus:${PASSWORD}`);
      assert.equal(ok.status, 200);
      assert.equal(ok.headers.get('x-content-type-options'), 'nosniff');
      assert.match(await ok.text(), /^saturn_threshold_seconds 0\.1$/m);
      for (const auth of [`prometheus:${PASSWORD}x`, `prometheus:`, `admin:${PASSWORD}`, undefined]) {
        const refused = await get('/metrics', auth);
        assert.equal(refused.status, 401, `credentials ${auth}`);
        assert.equal(refused.headers.get('www-authenticate'), 'Basic');
        assert.doesNotMatch(await refused.text(), /saturn_/);
      }
      assert.equal((await get('/status', `prometheus:${PASSWORD}`)).status, 200, 'every route is behind the same auth');
      assert.equal((await get('/status')).status, 401);
    });

    test('plain HTTP and an untrusted certificate get nothing', async () => {
      await assert.rejects(fetch(`${base.replace('https', 'http')}/metrics`));
      await assert.rejects(fetch(`${base}/metrics`));
    });

    test('a real Prometheus scrapes it with an ordinary scrape config', async (t) => {
      if (!hasCommand('prometheus')) {
        t.skip("prometheus is not installed (Debian's prometheus package; .ci/run installs it)");
        return;
      }
      const port = await freePort();
      const config = join(dir, 'prometheus.yml');
      writeFileSync(
        config,
        [
          'global: { scrape_interval: 1s, scrape_timeout: 900ms }',
          'scrape_configs:',
          '  - job_name: saturn',
          '    scheme: https',
          `    tls_config: { ca_file: ${ca} }`,
          `    basic_auth: { username: prometheus, password: "${PASSWORD}" }`,
          `    static_configs: [{ targets: ["${base.replace('https://', '')}"] }]`,
          '',
        ].join('\n'),
      );
      const prometheus = SaturnProcess.startCommand('prometheus', [
        `--config.file=${config}`,
        `--storage.tsdb.path=${join(dir, 'tsdb')}`,
        `--web.listen-address=127.0.0.1:${port}`,
      ]);
      procs.push(prometheus);
      const query = async (q: string) => {
        const res = await fetch(`http://127.0.0.1:${port}/api/v1/query?query=${encodeURIComponent(q)}`);
        return ((await res.json()) as { data: { result: { value: [number, string] }[] } }).data.result;
      };
      let value: string | undefined;
      for (let i = 0; i < 300 && value === undefined; i++) {
        await new Promise((r) => setTimeout(r, 100));
        value = await query('saturn_threshold_seconds{job="saturn"}').then(
          (r) => r[0]?.value[1],
          () => undefined,
        );
      }
      assert.equal(value, '0.1', `Prometheus never scraped saturn; its output:\n${prometheus.output()}`);
      assert.equal((await query('up{job="saturn"}'))[0]?.value[1], '1');
    });
  },
);
