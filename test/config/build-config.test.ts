import assert from 'node:assert/strict';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { buildConfig, readConfigFile } from '../../src/config/build-config.js';
import { parseDuration, parseHostPort } from '../../src/util/parse.js';
import { ConfigError } from '../../src/errors.js';

const KEY = '0123456789abcdef';

test("durations take units; a bare number takes the option's own unit", () => {
  assert.equal(parseDuration('250ms', 'x', 's'), 250e6);
  assert.equal(parseDuration('1.5s', 'x', 'ms'), 1.5e9);
  assert.equal(parseDuration('2m', 'x', 'ms'), 120e9);
  assert.equal(parseDuration('5000', '--threshold', 'ms'), 5e9);
  assert.equal(parseDuration('180', '--interval', 's'), 180e9);
  assert.equal(parseDuration('-2s', 'x', 'ms', true), -2e9);
  assert.throws(() => parseDuration('-2s', 'x', 'ms'), ConfigError);
  assert.throws(() => parseDuration('5x', '--interval', 's'), /--interval must be a duration/);
  assert.throws(() => parseDuration('', 'x', 's'), ConfigError);
});

test('durations read as Go reads them: several parts (1h30m), and a bare number as a float flag does (1e3)', () => {
  assert.equal(parseDuration('1h30m', '--forget-after', 's'), 5400e9);
  assert.equal(parseDuration('1m30.5s', 'x', 's'), 90.5e9);
  assert.equal(parseDuration('2s500ms', 'x', 's'), 2.5e9);
  assert.equal(parseDuration('-1m30s', 'x', 's', true), -90e9);
  assert.equal(parseDuration('1e3', '--threshold', 'ms'), 1e9);
  assert.equal(parseDuration('2.5E1', '--interval', 's'), 25e9);
  assert.equal(parseDuration(' 10s ', 'x', 's'), 10e9);
  for (const bad of ['1e3s', '1h30', 'h', '1hh', '1s-2s', '--1s', '1,5s', 'e3', '1.2.3s', 's10', '-', '+'])
    assert.throws(() => parseDuration(bad, '--interval', 's', true), /--interval must be a duration/, bad);
  assert.throws(() => parseDuration('1e400', 'x', 's'), /out of range/);
});

test('addresses: host:port, [v6]:port, :port', () => {
  assert.deepEqual(parseHostPort('127.0.0.1:4123', 'x'), { host: '127.0.0.1', port: 4123 });
  assert.deepEqual(parseHostPort('[::1]:9', 'x'), { host: '::1', port: 9 });
  assert.deepEqual(parseHostPort(':4123', 'x'), { host: '0.0.0.0', port: 4123 });
  assert.deepEqual(parseHostPort('master.example:4123', 'x'), { host: 'master.example', port: 4123 });
  for (const bad of ['127.0.0.1', '127.0.0.1:99999', 'a:b', '[zz]:1', ''])
    assert.throws(() => parseHostPort(bad, '--listen-addr'), ConfigError, bad);
});

test('defaults follow the spec, and --master-addr makes a slave', () => {
  const master = buildConfig({ hmacKey: KEY });
  assert.equal(master.role, 'master');
  assert.deepEqual(master.listenAddr, { host: '0.0.0.0', port: 4123 });
  assert.equal(master.rounds, 5);
  assert.equal(master.thresholdNs, 100e6);
  assert.equal(master.intervalNs, 10e9);
  assert.equal(master.realertNs, 600e9);
  assert.equal(master.logFormat, 'llog');
  assert.equal(master.eventFormat, 'llog');
  const slave = buildConfig({ hmacKey: KEY, masterAddr: '10.0.0.1:4123', threshold: '5000', interval: 180 });
  assert.equal(slave.role, 'slave');
  assert.equal(slave.thresholdNs, 5e9, 'a bare threshold is milliseconds, as in the original');
  assert.equal(slave.intervalNs, 180e9, 'a bare interval is seconds, as in the original');
  assert.throws(() => buildConfig({ hmacKey: KEY, interval: '2h' }), /--interval must be 100ms to 1h, got "2h"/);
  // At 10 ms one slave alone opened more checks than a master takes from one address (50 a second).
  assert.throws(() => buildConfig({ hmacKey: KEY, interval: '10ms' }), /--interval must be 100ms to 1h, got "10ms"/);
  assert.equal(buildConfig({ hmacKey: KEY, interval: '100ms' }).intervalNs, 100e6);
});

test('the key is required, at least 16 bytes, and can come from a file', () => {
  assert.throws(() => buildConfig({}), /HMAC key is required/);
  assert.throws(() => buildConfig({ hmacKey: 'short' }), /at least 16 bytes, got 5/);
  const dir = mkdtempSync(join(tmpdir(), 'saturn-config-'));
  writeFileSync(join(dir, 'key'), `${KEY}\n`, { mode: 0o600 });
  const fromFile = buildConfig({ hmacKeyFile: join(dir, 'key') });
  assert.deepEqual([...fromFile.hmacKeys.current.key], [...new TextEncoder().encode(KEY)]);
  assert.equal(fromFile.hmacKeys.current.id, 0);
  assert.equal(fromFile.hmacKeyFile, join(dir, 'key'));
  assert.throws(() => buildConfig({ hmacKeyFile: join(dir, 'missing') }), /cannot read HMAC key file .*ENOENT/);
});

test("config files use the options' keys and refuse unknown ones", () => {
  const dir = mkdtempSync(join(tmpdir(), 'saturn-config-'));
  const good = join(dir, 'good.json');
  writeFileSync(good, JSON.stringify({ 'master-addr': '127.0.0.1:4000', hmacKey: KEY, rounds: 8 }));
  assert.deepEqual(readConfigFile(good), { masterAddr: '127.0.0.1:4000', hmacKey: KEY, rounds: 8 });
  const typo = join(dir, 'typo.json');
  writeFileSync(typo, JSON.stringify({ treshold: 5 }));
  assert.throws(() => readConfigFile(typo), /unknown key "treshold"/);
  const broken = join(dir, 'broken.json');
  writeFileSync(broken, '{');
  assert.throws(() => readConfigFile(broken), /cannot read config file/);
});

test('a config file number JSON cannot hold exactly (an all-digit key of 20 digits) is refused, not silently changed', () => {
  const dir = mkdtempSync(join(tmpdir(), 'saturn-config-'));
  const file = join(dir, 'digits.json');
  writeFileSync(file, '{"hmac-key": 12345678901234567890}');
  assert.throws(
    () => readConfigFile(file),
    (err: unknown) =>
      err instanceof ConfigError &&
      err.message === `config file ${file}: "hmac-key" is a number too large to read exactly: write it as a string`,
  );
  writeFileSync(file, '{"hmac-key": "12345678901234567890", "rounds": 9007199254740991, "max-drift-ppm": 0.5}');
  assert.deepEqual(readConfigFile(file), {
    hmacKey: '12345678901234567890',
    rounds: 9007199254740991,
    maxDriftPpm: 0.5,
  });
});

test('a config file may start with a UTF-8 byte order mark (as Windows editors write)', () => {
  const dir = mkdtempSync(join(tmpdir(), 'saturn-config-'));
  const file = join(dir, 'bom.json');
  writeFileSync(file, `\ufeff${JSON.stringify({ hmacKey: KEY })}`);
  assert.deepEqual(readConfigFile(file), { hmacKey: KEY });
});

test('out-of-range values are one clear sentence each', () => {
  assert.throws(() => buildConfig({ hmacKey: KEY, rounds: 0 }), /--rounds must be an integer from 1 to 64/);
  assert.throws(() => buildConfig({ hmacKey: KEY, logLevel: 'loud' }), /--log-level must be one of/);
  assert.throws(() => buildConfig({ hmacKey: KEY, logFormat: 'xml' }), /--log-format must be llog or json/);
  assert.throws(() => buildConfig({ hmacKey: KEY, eventFormat: 'xml' }), /--event-format must be llog or json/);
  assert.throws(() => buildConfig({ hmacKey: KEY, masterAddr: '127.0.0.1:0' }), /needs a port/);
});

test('--max-drift-ppm and --predict: defaults, units, one sentence when wrong', () => {
  const defaults = buildConfig({ hmacKey: KEY });
  assert.deepEqual([defaults.maxDriftPpm, defaults.predictNs], [500, 600e9]);
  const set = buildConfig({ hmacKey: KEY, maxDriftPpm: '12.5', predict: '90' });
  assert.deepEqual([set.maxDriftPpm, set.predictNs], [12.5, 90e9], 'a bare --predict is seconds');
  assert.equal(buildConfig({ hmacKey: KEY, predict: '0' }).predictNs, 0, '0 turns prediction off');
  for (const bad of ['0', '-5', 'fast', '', 'Infinity']) {
    assert.throws(
      () => buildConfig({ hmacKey: KEY, maxDriftPpm: bad }),
      new RegExp(`^ConfigError: --max-drift-ppm must be a number of ppm above 0, got "${bad}"$`),
    );
  }
  assert.throws(() => buildConfig({ hmacKey: KEY, predict: '-1m' }), /--predict/);
  assert.throws(
    () => buildConfig({ hmacKey: KEY, maxDriftPpm: 'x' }, { maxDriftPpm: 'SATURN_MAX_DRIFT_PPM' }),
    /^ConfigError: SATURN_MAX_DRIFT_PPM must be/,
  );
});

test('each --webhook-url may carry its own format; the rest take --webhook-format', () => {
  const config = buildConfig({
    hmacKey: KEY,
    webhookUrl: ['https://hooks.slack.com/services/T0/B0/X', 'alertmanager=http://am:9093/api/v2/alerts'],
    webhookFormat: 'slack',
  });
  assert.deepEqual(config.webhooks, [
    { url: 'https://hooks.slack.com/services/T0/B0/X', format: 'slack' },
    { url: 'http://am:9093/api/v2/alerts', format: 'alertmanager' },
  ]);
  assert.deepEqual(buildConfig({ hmacKey: KEY, webhookUrl: 'json=http://a/ slack=http://b/' }).webhooks, [
    { url: 'http://a/', format: 'json' },
    { url: 'http://b/', format: 'slack' },
  ]);
  assert.throws(
    () => buildConfig({ hmacKey: KEY, webhookUrl: 'pagerduty=http://a/' }),
    /the format of --webhook-url must be one of json, slack, alertmanager, got "pagerduty"/,
  );
  assert.throws(
    () => buildConfig({ hmacKey: KEY, webhookUrl: 'ftp://a/' }),
    /--webhook-url must be an http or https URL/,
  );
  assert.throws(
    () => buildConfig({ hmacKey: KEY, webhookUrl: ['http://a/x', 'slack=http://a/x'] }),
    /--webhook-url gives a twice/,
  );
  assert.throws(() => buildConfig({ hmacKey: KEY, webhookFormat: 'xml' }), /--webhook-format must be one of/);
});

test('--peer and --master-addr are addresses to send to: a port other than 0', () => {
  const slave = buildConfig({ hmacKey: KEY, masterAddr: '10.0.0.1:4123', peer: ['10.0.0.2:4123', ':4124'] });
  assert.deepEqual(slave.pinnedPeers, [
    { host: '10.0.0.2', port: 4123 },
    { host: '127.0.0.1', port: 4124 },
  ]);
  assert.throws(
    () => buildConfig({ hmacKey: KEY, masterAddr: '10.0.0.1:4123', peer: ['127.0.0.1:0'] }),
    /--peer needs a port other than 0, got "127.0.0.1:0"/,
  );
  assert.throws(
    () => buildConfig({ hmacKey: KEY, masterAddr: '10.0.0.1:0' }),
    /--master-addr needs a port other than 0/,
  );
});

test('an empty --master-addr (flag, SATURN_MASTER_ADDR= or "") is refused, not taken as no master: the node would run as a master', () => {
  for (const masterAddr of ['', ' ', ',', ['']]) {
    assert.throws(
      () => buildConfig({ hmacKey: KEY, masterAddr }, { masterAddr: 'SATURN_MASTER_ADDR' }),
      (err: unknown) =>
        err instanceof ConfigError &&
        err.message ===
          'SATURN_MASTER_ADDR is empty: give the master as host:port (or a DNS name), or leave it out to run as the master',
    );
  }
  assert.deepEqual(buildConfig({ hmacKey: KEY }).masters, [], 'left out: a master');
});

test("--name may not contain '@' (name@address is the master's id for hosts sharing a name)", () => {
  assert.throws(() => buildConfig({ hmacKey: KEY, name: 'web-1@10.0.0.5:4123' }), /--name may not contain '@'/);
});

test('a master refuses a --mesh-tolerance at or over --threshold (no clock would ever be named)', () => {
  assert.throws(
    () => buildConfig({ hmacKey: KEY, meshTolerance: '100ms', threshold: '100ms' }),
    /^ConfigError: --mesh-tolerance \(100ms\) must be below --threshold \(100ms\)/,
  );
  assert.throws(() => buildConfig({ hmacKey: KEY, meshTolerance: '1h' }), /--mesh-tolerance \(1h\) must be below/);
  assert.throws(
    () => buildConfig({ hmacKey: KEY, threshold: '0.5ms', meshTolerance: '1ms' }),
    /--mesh-tolerance \(1ms\) must be below/,
  );
  // Not given: the default (1 ms) shrinks to half a threshold below it.
  assert.equal(buildConfig({ hmacKey: KEY, threshold: '0.5ms' }).meshToleranceNs, 0.25e6);
  assert.equal(buildConfig({ hmacKey: KEY, threshold: '2ms' }).meshToleranceNs, 1e6);
  assert.equal(buildConfig({ hmacKey: KEY, threshold: '1ns' }).meshToleranceNs, 0, 'whole nanoseconds');
  // --threshold 0 (any proven offset alerts) leaves no room below it: the tolerance stays as given.
  assert.equal(buildConfig({ hmacKey: KEY, threshold: '0' }).meshToleranceNs, 1e6);
  assert.equal(buildConfig({ hmacKey: KEY, threshold: '0', meshTolerance: '0' }).meshToleranceNs, 0);
  assert.equal(buildConfig({ hmacKey: KEY, meshTolerance: '99ms', threshold: '100ms' }).meshToleranceNs, 99e6);
  // A slave does not vote: its tolerance is not used.
  assert.equal(buildConfig({ hmacKey: KEY, masterAddr: '127.0.0.1:2002', threshold: '0.5ms' }).thresholdNs, 0.5e6);
});
