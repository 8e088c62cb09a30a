import assert from 'node:assert/strict';
import { after, describe, test } from 'node:test';
import { startMesh } from '../helpers/mesh.js';
import { parsePrometheusText, samplesOf } from '../helpers/prom-text.js';
import { WebhookReceiver } from '../helpers/webhook-receiver.js';
import { spawnSync } from 'node:child_process';
import { EVENT_KINDS } from '../../src/events/event.js';
import { SATURN_VERSION } from '../../src/util/version.js';
import { hasCommand } from '../helpers/system.js';
import { until } from '../helpers/wait.js';
import { Histogram, Registry } from 'prom-client';
import { SaturnMetrics } from '../../src/http/metrics.js';
import { RTT_BUCKETS } from '../../src/http/node-metrics.js';
import { Fleet } from '../../src/fleet/fleet.js';
import { check } from '../helpers/finished-check.js';

describe('/metrics of a running master (in process, loopback)', () => {
  const cleanups: (() => Promise<void>)[] = [];
  after(async () => {
    for (const c of cleanups) await c();
  });

  test('parses as Prometheus text and carries nodes, drops, events, webhook and stage figures', async () => {
    const receiver = await new WebhookReceiver().listen();
    await receiver.close(); // refused: the outbox fills and failures are counted
    const mesh = await startMesh([{ name: 'web-1' }, { name: 'web-2' }, { name: 'web-3', clockOffset: '750ms' }], {
      webhookUrl: receiver.url,
    });
    cleanups.push(mesh.close);
    await mesh.checked(3);
    // The vote runs on the master's sweep; peer edges arrive with the check after a peer check.
    const master = mesh.master.master!;
    await until(
      'web-3 named, over the threshold, and peer edges in',
      () => master.mesh.isFalseticker('web-3') && master.fleet.get('web-3')!.alarm.over && master.mesh.edges.size > 0,
    );
    await until(
      "the master's frequency against the agreed time, and every slave's against the master",
      () => master.mesh.masterFrequency !== undefined && master.fleet.all().every((n) => n.current?.frequency),
    );

    const res = await fetch(`${mesh.base}/metrics`);
    assert.equal(res.status, 200);
    assert.match(res.headers.get('content-type') ?? '', /^text\/plain; version=0\.0\.4/);
    const families = parsePrometheusText(await res.text());

    const type = (name: string) => families.get(name)?.type;
    assert.equal(type('saturn_node_offset_seconds'), 'gauge');
    assert.equal(type('saturn_node_error_bound_seconds'), 'gauge');
    assert.equal(type('saturn_node_rtt_seconds'), 'histogram');
    assert.equal(type('saturn_node_checks_total'), 'counter');
    assert.equal(type('saturn_node_last_check_timestamp_seconds'), 'gauge');
    assert.equal(type('saturn_datagrams_dropped_total'), 'counter');
    assert.equal(type('saturn_events_total'), 'counter');
    assert.equal(type('saturn_webhook_outbox_depth'), 'gauge');
    assert.equal(type('saturn_webhook_deliveries_total'), 'counter');
    assert.equal(type('saturn_webhook_failures_total'), 'counter');
    assert.equal(type('saturn_webhook_outbox_dropped_total'), 'counter');
    assert.equal(type('saturn_pipeline_stage_seconds'), 'summary');
    assert.equal(type('saturn_node_up'), 'gauge');
    assert.equal(type('saturn_node_state'), 'gauge');
    assert.equal(type('saturn_build_info'), 'gauge');
    assert.equal(type('process_cpu_seconds_total'), 'counter', 'the default process metrics');
    assert.equal(type('saturn_roughtime_checks_total'), 'counter');
    for (const family of families.values()) assert.ok(family.help, `${family.name} has no HELP`);

    const [shifted] = samplesOf(families, 'saturn_node_offset_seconds', { node: 'web-3' });
    assert.ok(Math.abs(shifted!.value - 0.75) < 0.005, `web-3 offset ${shifted!.value}`);
    assert.match(shifted!.labels.addr!, /^127\.0\.0\.1:\d+$/);
    const [straight] = samplesOf(families, 'saturn_node_offset_seconds', { node: 'web-1' });
    assert.ok(Math.abs(straight!.value) < 0.005);
    for (const s of samplesOf(families, 'saturn_node_error_bound_seconds')) assert.ok(s.value >= 0 && s.value < 0.005);
    const [checks] = samplesOf(families, 'saturn_node_checks_total', { node: 'web-1', result: 'ok' });
    assert.ok(checks!.value >= 3);
    const rttCount = samplesOf(families, 'saturn_node_rtt_seconds', { node: 'web-1' }).find(
      (s) => s.name === 'saturn_node_rtt_seconds_count',
    );
    assert.ok(rttCount!.value >= 3);
    const [last] = samplesOf(families, 'saturn_node_last_check_timestamp_seconds', { node: 'web-1' });
    assert.ok(Math.abs(last!.value - Date.now() / 1000) < 60);
    assert.deepEqual(
      samplesOf(families, 'saturn_node_over_threshold', { node: 'web-3' }).map((s) => s.value),
      [1],
    );
    assert.deepEqual(
      samplesOf(families, 'saturn_threshold_seconds').map((s) => s.value),
      [0.1],
    );
    // Both clocks are this machine's: a frequency of 0 within its bound, and no drift-rate alarm.
    assert.equal(type('saturn_node_frequency_ppm'), 'gauge');
    const [ppm] = samplesOf(families, 'saturn_node_frequency_ppm', { node: 'web-3' });
    const [ppmBound] = samplesOf(families, 'saturn_node_frequency_error_bound_ppm', { node: 'web-3' });
    assert.ok(Math.abs(ppm!.value) <= ppmBound!.value, `web-3 frequency ${ppm!.value} ± ${ppmBound!.value} ppm`);
    assert.deepEqual(
      samplesOf(families, 'saturn_node_drift_rate_alarm').map((s) => s.value),
      [0, 0, 0],
    );

    const byKind = Object.fromEntries(samplesOf(families, 'saturn_events_total').map((s) => [s.labels.kind, s.value]));
    assert.equal(byKind.drift, 1);
    assert.deepEqual(Object.keys(byKind).sort(), [...EVENT_KINDS].sort(), 'every kind is exported, with 0 if none yet');
    const [depth] = samplesOf(families, 'saturn_webhook_outbox_depth', { webhook: '0' });
    assert.equal(depth!.labels.target, `http://127.0.0.1:${receiver.port}`, 'the URL path is not in the labels');
    assert.ok(depth!.value >= 1);
    assert.ok(samplesOf(families, 'saturn_webhook_failures_total', { reason: 'network' })[0]!.value >= 1);
    assert.equal(
      samplesOf(families, 'saturn_udp_receive_buffer_drops_total')[0]?.value,
      0,
      "the socket's kernel drops",
    );
    assert.ok(
      samplesOf(families, 'saturn_datagrams_by_key_total', { key_id: '0', direction: 'received' })[0]!.value >= 6,
    );
    assert.ok(samplesOf(families, 'saturn_datagrams_by_key_total', { key_id: '0', direction: 'sent' })[0]!.value >= 6);
    assert.ok(samplesOf(families, 'saturn_check_cookies_sent_total')[0]!.value >= 1, 'each slave got a cookie first');
    assert.deepEqual(
      samplesOf(families, 'saturn_webhook_failures_total', { reason: 'http_5xx' }).map((s) => s.value),
      [0],
      'failure counters exist from the start, at 0',
    );
    assert.deepEqual(
      samplesOf(families, 'saturn_datagrams_dropped_total', { reason: 'bad_mac' }).map((s) => s.value),
      [0],
    );
    const stage = samplesOf(families, 'saturn_pipeline_stage_seconds', { stage: 'master_leg_hold' });
    assert.ok(stage.find((x) => x.name === 'saturn_pipeline_stage_seconds_count')!.value >= 3 * 5, 'every leg timed');
    assert.equal(stage.filter((x) => x.labels.quantile !== undefined).length, 3);
    assert.deepEqual(
      samplesOf(families, 'saturn_node_state', { node: 'web-3' })
        .filter((x) => x.value === 1)
        .map((x) => x.labels.state),
      ['falseticker'],
      'the mesh names it: falseticker outranks over_threshold',
    );
    assert.deepEqual(
      samplesOf(families, 'saturn_node_up').map((x) => x.value),
      [1, 1, 1],
    );
    // The mesh: the vote, each node named or not (the master under its --name), offsets from the agreed time.
    const value = (name: string, labels = {}) => samplesOf(families, name, labels).map((x) => x.value);
    assert.deepEqual(value('saturn_mesh_majority'), [1]);
    assert.deepEqual(value('saturn_mesh_agree'), [3]);
    assert.deepEqual(value('saturn_mesh_voters'), [4]);
    assert.deepEqual(value('saturn_mesh_falseticker', { node: 'web-3' }), [1]);
    assert.deepEqual(value('saturn_mesh_falseticker', { node: 'master' }), [0]);
    const [fromAgreed] = value('saturn_mesh_consensus_offset_seconds', { node: 'web-3' });
    assert.ok(Math.abs(fromAgreed! - 0.75) < 0.01, `web-3 vs the agreed time: ${fromAgreed}`);
    assert.ok(Math.abs(value('saturn_mesh_agreed_offset_seconds')[0]!) < 0.005, 'the master agrees');
    // One clock under them all: every frequency against the agreed time holds 0, the master's included.
    const vsAgreed = samplesOf(families, 'saturn_node_frequency_vs_agreed_ppm');
    assert.deepEqual(vsAgreed.map((x) => x.labels.node).sort(), ['master', 'web-1', 'web-2', 'web-3']);
    for (const { labels, value: ppm } of vsAgreed) {
      const [bound] = value('saturn_node_frequency_vs_agreed_error_bound_ppm', { node: labels.node });
      assert.ok(Math.abs(ppm) <= bound!, `${labels.node}: ${ppm} ± ${bound} ppm`);
    }
    const status = (await (await fetch(`${mesh.base}/status`)).json()) as any;
    for (const node of status.nodes) {
      assert.equal(typeof node.frequencyVsAgreedPpm, 'number', node.id);
      assert.ok(Math.abs(node.frequencyVsAgreedPpm) <= node.frequencyVsAgreedErrorPpm, node.id);
    }
    assert.equal(status.nodes[0].role, 'master');
    const pairs = samplesOf(families, 'saturn_mesh_peer_offset_seconds');
    assert.ok(pairs.length > 0, 'pairwise offsets of a small fleet');
    for (const pair of pairs) {
      const shifted = (pair.labels.node === 'web-3' ? 0.75 : 0) - (pair.labels.peer === 'web-3' ? 0.75 : 0);
      assert.ok(Math.abs(pair.value - shifted) < 0.01, `${pair.labels.node} - ${pair.labels.peer} = ${pair.value}`);
    }
    const [build] = samplesOf(families, 'saturn_build_info');
    assert.equal(build!.labels.version, SATURN_VERSION);
  });

  test('a lost node: up 0, state lost, and its offset no longer exported as current', async () => {
    const mesh = await startMesh([{ name: 'web-1' }, { name: 'web-2' }]);
    cleanups.push(mesh.close);
    await mesh.checked(2);
    await mesh.slaves[1]!.close(); // web-2 stops checking
    const fleet = mesh.master.master!.fleet;
    for (let i = 0; i < 400 && !fleet.get('web-2')!.lost; i++) await new Promise((r) => setTimeout(r, 10));
    assert.equal(fleet.get('web-2')!.lost, true, 'web-2 was never marked lost');
    const families = parsePrometheusText(await (await fetch(`${mesh.base}/metrics`)).text());
    assert.deepEqual(
      samplesOf(families, 'saturn_node_up', { node: 'web-2' }).map((x) => x.value),
      [0],
    );
    assert.deepEqual(
      samplesOf(families, 'saturn_node_state', { node: 'web-2', state: 'lost' }).map((x) => x.value),
      [1],
    );
    for (const name of [
      'saturn_node_offset_seconds',
      'saturn_node_error_bound_seconds',
      'saturn_node_over_threshold',
      'saturn_node_frequency_ppm',
      'saturn_node_drift_rate_alarm',
    ]) {
      assert.deepEqual(samplesOf(families, name, { node: 'web-2' }), [], `${name} of a lost node`);
      assert.equal(samplesOf(families, name, { node: 'web-1' }).length, 1, `${name} of a live node`);
    }
    const status = (await (await fetch(`${mesh.base}/status`)).json()) as any;
    assert.equal(status.nodes.find((n: any) => n.id === 'web-2').state, 'lost');
  });

  test('the exposition passes promtool check metrics', async (t) => {
    if (!hasCommand('promtool')) {
      t.skip('promtool not installed (Debian package prometheus); CI installs it');
      return;
    }
    const mesh = await startMesh([{ name: 'web-1' }, { name: 'web-3', clockOffset: '750ms' }], {
      webhookUrl: 'http://127.0.0.1:9/hook',
    });
    cleanups.push(mesh.close);
    await mesh.checked(2);
    const text = await (await fetch(`${mesh.base}/metrics`)).text();
    const result = spawnSync('promtool', ['check', 'metrics'], { input: text, encoding: 'utf8' });
    assert.equal(result.status, 0, `promtool check metrics:\n${result.stdout}${result.stderr}`);
  });

  test("a slave with --metrics-addr serves its own /status and /metrics: the master's verdict on it", async (t) => {
    const mesh = await startMesh([{ name: 'web-3', clockOffset: '750ms', metricsAddr: '127.0.0.1:0' }]);
    cleanups.push(mesh.close);
    await mesh.checked(2);
    const slaveHttp = mesh.slaves[0]!.http!;
    const base = `http://127.0.0.1:${slaveHttp.address.port}`;
    const status = (await (await fetch(`${base}/status`)).json()) as any;
    assert.equal(status.role, 'slave');
    assert.equal(status.name, 'web-3');
    assert.equal(status.masterReachable, true);
    assert.ok(Math.abs(status.offsetSeconds - 0.75) < 0.005, `offset ${status.offsetSeconds}`);
    // The master records a check before its Result reaches the slave: the second may still be on its way.
    assert.ok(status.checksCompleted >= 1);
    const text = await (await fetch(`${base}/metrics`)).text();
    const families = parsePrometheusText(text);
    assert.ok(Math.abs(samplesOf(families, 'saturn_slave_offset_seconds')[0]!.value - 0.75) < 0.005);
    assert.deepEqual(
      samplesOf(families, 'saturn_slave_master_up').map((x) => x.value),
      [1],
    );
    assert.ok(
      samplesOf(families, 'saturn_datagrams_by_key_total', { key_id: '0', direction: 'received' })[0]!.value >= 6,
    );
    assert.equal(samplesOf(families, 'saturn_udp_receive_buffer_drops_total')[0]?.value, 0);
    if (hasCommand('promtool')) {
      const result = spawnSync('promtool', ['check', 'metrics'], { input: text, encoding: 'utf8' });
      assert.equal(result.status, 0, `promtool check metrics:\n${result.stdout}${result.stderr}`);
    } else {
      t.diagnostic('promtool not installed: the slave exposition was parsed but not linted');
    }
  });

  test('dropped datagrams appear by reason', async () => {
    const mesh = await startMesh([]);
    cleanups.push(mesh.close);
    const { createSocket } = await import('node:dgram');
    const socket = createSocket('udp4');
    const addr = mesh.master.master!.address;
    await new Promise<void>((resolve) => socket.send(Buffer.from([1, 2]), addr.port, addr.host, () => resolve()));
    socket.close();
    for (let i = 0; i < 200 && mesh.master.master!.drops.get('short_packet') === 0; i++)
      await new Promise((r) => setTimeout(r, 10));
    const families = parsePrometheusText(await (await fetch(`${mesh.base}/metrics`)).text());
    assert.deepEqual(
      samplesOf(families, 'saturn_datagrams_dropped_total', { reason: 'short_packet' }).map((s) => s.value),
      [1],
    );
  });
});

describe('the Prometheus text parser itself', () => {
  test('reads escapes, special values and histograms, and rejects what Prometheus would', () => {
    const families = parsePrometheusText(
      '# HELP a_total A \\\\ help\\nline.\n# TYPE a_total counter\na_total{x="q\\"u\\\\o\\nte",y=""} 3 1700000000000\n' +
        '# TYPE h histogram\nh_bucket{le="1"} 1\nh_bucket{le="+Inf"} 2\nh_sum 3.5\nh_count 2\n# TYPE g gauge\ng NaN\n',
    );
    assert.equal(families.get('a_total')!.help, 'A \\ help\nline.');
    assert.deepEqual(families.get('a_total')!.samples[0], {
      name: 'a_total',
      labels: { x: 'q"u\\o\nte', y: '' },
      value: 3,
      timestampMs: 1700000000000,
    });
    assert.equal(families.get('h')!.samples.length, 4);
    assert.ok(Number.isNaN(families.get('g')!.samples[0]!.value));
    assert.throws(() => parsePrometheusText('a{x="1"} one\n'), /bad value/);
    assert.throws(() => parsePrometheusText('a{x="1} 1\n'), /unterminated|expected/);
    assert.throws(
      () => parsePrometheusText('# TYPE h histogram\nh_bucket{le="1"} 2\nh_bucket{le="+Inf"} 1\nh_count 1\n'),
      /cumulative/,
    );
    assert.throws(() => parsePrometheusText('a 1\nb 1\na 2\n'), /contiguous/);
    assert.throws(() => parsePrometheusText('a 1'), /newline/);
  });
});

describe('saturn_node_rtt_seconds', () => {
  /** The metrics of a master whose fleet has no node: only what observeCheck is fed. */
  const metricsOnly = () =>
    new SaturnMetrics({
      nodes: () => [],
      thresholdNs: 100e6,
      drops: () => ({}),
      events: () => new Map(),
      webhooks: () => [],
    });
  /** The check record of `node` with round trip `rttNs`, as the fleet makes one. */
  const recordOf = (node: string, rttNs: number) => {
    const fleet = new Fleet({ thresholdNs: 100e6, intervalNs: 10e9 });
    const record = fleet.record(check(node, 1));
    return { ...record, verdict: { ...record.verdict!, rttNs } };
  };
  /** The histogram's lines in a /metrics text, its HELP and TYPE included. */
  const rttLines = (text: string) => text.split('\n').filter((l) => /^(# \w+ )?saturn_node_rtt_seconds/.test(l));

  test("is written out line for line as prom-client's Histogram writes the same observations", async () => {
    const metrics = metricsOnly();
    const reference = new Registry();
    const histogram = new Histogram({
      name: 'saturn_node_rtt_seconds',
      help: 'Round-trip time of each good check.',
      labelNames: ['node'],
      buckets: RTT_BUCKETS,
      registers: [reference],
    });
    // On a bound, between bounds, above the last one (+Inf only), for nodes whose names need escapes.
    const observations: [string, number][] = [
      ['web-1', 50e3],
      ['web-1', 75e3],
      ['web-1', 2e9],
      ['db "primary"\\1', 1e6],
      ['web-1', 0.3e9],
      ['web-2', 10e3],
    ];
    for (const [node, rttNs] of observations) {
      metrics.observeCheck(recordOf(node, rttNs));
      histogram.observe({ node }, rttNs / 1e9);
    }
    const ours = rttLines(Buffer.concat(await metrics.render()).toString());
    assert.equal(ours.length, 2 + 3 * (RTT_BUCKETS.length + 3));
    assert.deepEqual(ours, rttLines(await reference.metrics()));
  });

  test('a forgotten node leaves no series; a discarded check (no verdict) is not counted', async () => {
    const metrics = metricsOnly();
    metrics.observeCheck(recordOf('web-1', 60e3));
    metrics.observeCheck(recordOf('web-2', 60e3));
    metrics.observeCheck({ ...recordOf('web-3', 60e3), verdict: undefined });
    metrics.forgetNode('web-1');
    const nodes = new Set(
      rttLines(Buffer.concat(await metrics.render()).toString())
        .filter((l) => !l.startsWith('#'))
        .map((l) => /node="([^"]*)"/.exec(l)![1]),
    );
    assert.deepEqual([...nodes], ['web-2']);
  });
});

describe('overlapping scrapes', () => {
  test("each scrape's per-node families name the same nodes, while a node checks in between their slices", async () => {
    const fleet = new Fleet({ thresholdNs: 100e6, intervalNs: 10e9 });
    // Enough nodes that a render yields to the event loop (LINES_PER_SLICE) before its last family.
    for (let i = 0; i < 3000; i++) fleet.record(check(`web-${i}`, 1));
    const metrics = new SaturnMetrics({
      nodes: () => fleet.all(),
      thresholdNs: 100e6,
      drops: () => ({}),
      events: () => new Map(),
      webhooks: () => [],
    });
    const first = metrics.render();
    await new Promise((resolve) => setImmediate(resolve));
    fleet.record(check('late', 2));
    const second = metrics.render();
    for (const body of [await first, await second]) {
      const families = parsePrometheusText(Buffer.concat(body).toString());
      const nodesOf = (name: string) => new Set(samplesOf(families, name).map((s) => s.labels.node));
      const up = nodesOf('saturn_node_up');
      assert.equal(up.size >= 3000, true);
      for (const name of ['saturn_node_state', 'saturn_node_offset_seconds', 'saturn_node_checks_total'])
        assert.deepEqual(nodesOf(name), up, `${name} names the nodes saturn_node_up names`);
    }
  });
});
