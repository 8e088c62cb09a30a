import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { Counter, Gauge, Registry } from 'prom-client';
import { LINES_PER_SLICE, type TextFamily, escapeLabelValue, renderFamilies } from '../../src/http/text-exposition.js';
import { parsePrometheusText } from '../helpers/prom-text.js';

/** A family of one line per [labels, value] row, as the per-node families write theirs. */
function rowsFamily(
  name: string,
  type: 'gauge' | 'counter',
  rows: [Record<string, string>, number][],
): TextFamily<[Record<string, string>, number]> {
  return {
    name,
    help: `Help of ${name}, with a \\ and a\nnewline.`,
    type,
    items: () => rows,
    write: ([labels, value], out) =>
      out.sample(
        name,
        Object.entries(labels)
          .map(([k, v]) => `${k}="${escapeLabelValue(v)}"`)
          .join(','),
        value,
      ),
  };
}

describe('text exposition', () => {
  test("writes what prom-client's registry writes for the same gauges and counters", async () => {
    // Label values that need each escape, none, unicode; values of every form prom-client prints.
    const names = ['web-1', 'db "primary"', 'back\\slash', 'two\nlines', 'ünïcødé', '', 'a.b', 'x=y,z', '""'];
    const values = [0, 1, -1.5, 1e-7, 123456789.125, 1e21, -0.001, Infinity, -Infinity];
    const gaugeRows: [Record<string, string>, number][] = [];
    const counterRows: [Record<string, string>, number][] = [];
    names.forEach((node, i) => {
      gaugeRows.push([{ node, addr: `10.0.0.${i}:4123` }, values[i % values.length]!]);
      counterRows.push([{ node, addr: `[::1]:${4000 + i}`, result: 'ok' }, i * 7]);
    });
    const reference = new Registry();
    const gauge = new Gauge({
      name: 'g_seconds',
      help: rowsFamily('g_seconds', 'gauge', []).help,
      labelNames: ['node', 'addr'],
      registers: [reference],
    });
    for (const [labels, value] of gaugeRows) gauge.set(labels, value);
    const counter = new Counter({
      name: 'c_total',
      help: rowsFamily('c_total', 'counter', []).help,
      labelNames: ['node', 'addr', 'result'],
      registers: [reference],
    });
    for (const [labels, value] of counterRows) counter.inc(labels, value);
    // A labelled family with no series yet: HELP and TYPE only.
    new Gauge({
      name: 'empty',
      help: rowsFamily('empty', 'gauge', []).help,
      labelNames: ['node'],
      registers: [reference],
    });

    const ours = Buffer.concat(
      await renderFamilies([
        rowsFamily('g_seconds', 'gauge', gaugeRows),
        rowsFamily('c_total', 'counter', counterRows),
        rowsFamily('empty', 'gauge', []),
      ]),
    ).toString();
    assert.equal(ours, `${await reference.metrics()}\n`);
    const parsed = parsePrometheusText(ours);
    assert.deepEqual(
      parsed.get('g_seconds')!.samples.map((s) => s.labels.node),
      names,
    );
  });

  test('yields to the event loop between slices, so a large scrape does not hold up the node', async () => {
    const rows: [Record<string, string>, number][] = Array.from({ length: 3 * LINES_PER_SLICE + 1 }, (_, i) => [
      { node: `n${i}` },
      i,
    ]);
    let turns = 0;
    let rendering = true;
    const spin = () => {
      if (!rendering) return;
      turns++;
      setImmediate(spin);
    };
    setImmediate(spin);
    const text = Buffer.concat(await renderFamilies([rowsFamily('many', 'gauge', rows)])).toString();
    rendering = false;
    assert.ok(turns >= 3, `the event loop turned ${turns} times during the render`);
    assert.equal(parsePrometheusText(text).get('many')!.samples.length, rows.length);
  });
});
