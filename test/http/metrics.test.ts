import assert from 'node:assert/strict';
import { after, describe, test } from 'node:test';
import { EVENT_KINDS } from '../../src/events/event.js';
import { startMesh } from '../helpers/mesh.js';
import { parsePrometheusText, samplesOf } from '../helpers/prom-text.js';
import { WebhookReceiver } from '../helpers/webhook-receiver.js';

describe('/metrics of a running master (in process, loopback)', () => {
  const cleanups: (() => Promise<void>)[] = [];
  after(async () => {
    for (const c of cleanups) await c();
  });

  test('parses as Prometheus text and carries nodes, drops, events, webhook and stage figures', async () => {
    const receiver = await new WebhookReceiver().listen();
    await receiver.close(); // refused: the outbox fills and failures are counted
    const mesh = await startMesh([{ name: 'web-1' }, { name: 'web-3', clockOffset: '750ms' }], {
      webhookUrl: receiver.url,
    });
    cleanups.push(mesh.close);
    await mesh.checked(3);

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
    assert.equal(type('saturn_pipeline_stage_quantile_seconds'), 'gauge');
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

    const byKind = Object.fromEntries(samplesOf(families, 'saturn_events_total').map((s) => [s.labels.kind, s.value]));
    assert.equal(byKind.drift, 1);
    assert.equal(Object.keys(byKind).length, EVENT_KINDS.length, 'every kind is exported, with 0 if none yet');
    const [depth] = samplesOf(families, 'saturn_webhook_outbox_depth', { webhook: '0' });
    assert.equal(depth!.labels.target, `http://127.0.0.1:${receiver.port}`, 'the URL path is not in the labels');
    assert.ok(depth!.value >= 1);
    assert.ok(samplesOf(families, 'saturn_webhook_failures_total', { reason: 'network' })[0]!.value >= 1);
    const stage = samplesOf(families, 'saturn_pipeline_stage_samples_total', { stage: 'master_leg_hold' });
    assert.ok(stage[0]!.value >= 3 * 5, 'every leg the master answered is timed');
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
