/** Finding the masters: addresses as given, names through the SRV record _saturn._udp.NAME (a local DNS stub). */
import assert from 'node:assert/strict';
import { after, test } from 'node:test';
import { buildConfig } from '../../src/config/build-config.js';
import { Masters, systemDns } from '../../src/service/masters.js';
import { DnsStub, type Zone } from '../helpers/dns-stub.js';

const S = 1_000_000_000n;
const stubs: DnsStub[] = [];
after(async () => {
  for (const stub of stubs) await stub.close();
});

async function stub(zone: Zone) {
  const s = await DnsStub.start(zone);
  stubs.push(s);
  return s;
}

const mastersOf = (text: string[], dns: ReturnType<typeof systemDns>, errors: string[] = []) =>
  new Masters(buildConfig({ masterAddr: text, hmacKey: 'k'.repeat(32) }).masters, dns, (spec, e) =>
    errors.push(`${spec}: ${e.message}`),
  );

test('an SRV name: every target of the lowest priority is a master (an HA pair), each host resolved by the same servers', async () => {
  const dns = await stub({
    srv: {
      '_saturn._udp.clock.example': [
        { target: 'm1.example', port: 4123, priority: 10 },
        { target: 'm2.example', port: 4124, priority: 10 },
        { target: 'standby.example', port: 4125, priority: 20 },
      ],
    },
    a: { 'm1.example': ['127.0.0.11'], 'm2.example': ['127.0.0.12'], 'standby.example': ['127.0.0.13'] },
  });
  const masters = mastersOf(['clock.example'], systemDns([dns.server]));
  const targets = await masters.resolve(0n);
  assert.deepEqual(
    targets.map((t) => [t.key, t.to.address, t.to.port]),
    [
      ['m1.example:4123', '127.0.0.11', 4123],
      ['m2.example:4124', '127.0.0.12', 4124],
    ],
  );
});

test('the record is read again at most once a minute, and its last answer kept while DNS fails', async () => {
  const dns = await stub({
    srv: { '_saturn._udp.clock.example': [{ target: 'm1.example', port: 4123 }] },
    a: { 'm1.example': ['127.0.0.11'] },
  });
  const errors: string[] = [];
  const masters = mastersOf(['clock.example'], systemDns([dns.server]), errors);
  await masters.resolve(0n);
  await masters.resolve(30n * S);
  assert.equal(dns.questions.filter((q) => q.startsWith('SRV')).length, 1, 'cached within the minute');
  // The master moves: a new record, seen after the minute.
  dns.zone = {
    srv: { '_saturn._udp.clock.example': [{ target: 'm2.example', port: 5000 }] },
    a: { 'm2.example': ['127.0.0.12'] },
  };
  assert.deepEqual(
    (await masters.resolve(61n * S)).map((t) => t.key),
    ['m2.example:5000'],
  );
  // DNS loses the record: the last answer stays, and the failure is reported.
  dns.zone = { a: { 'm2.example': ['127.0.0.12'] } };
  assert.deepEqual(
    (await masters.resolve(122n * S)).map((t) => t.key),
    ['m2.example:5000'],
  );
  assert.equal(errors.length, 1);
  assert.match(errors[0]!, /^_saturn\._udp\.clock\.example: /);
});

test('a name nobody knows: reported, no master, no crash', async () => {
  const dns = await stub({});
  const errors: string[] = [];
  const targets = await mastersOf(['nowhere.example'], systemDns([dns.server]), errors).resolve(0n);
  assert.deepEqual(targets, []);
  assert.equal(errors.length, 1);
});

test('addresses need no DNS: they come back at once (not a promise), in the order given', () => {
  const never = {
    lookup: () => Promise.reject(new Error('no DNS expected')),
    resolveSrv: () => Promise.reject(new Error('no DNS expected')),
  };
  const targets = mastersOf(['127.0.0.1:4123', '[::1]:4124'], never).resolve(0n);
  assert.ok(Array.isArray(targets));
  assert.deepEqual(
    targets.map((t) => t.key),
    ['127.0.0.1:4123', '[::1]:4124'],
  );
});
