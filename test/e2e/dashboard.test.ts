import assert from 'node:assert/strict';
import { existsSync, mkdirSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { after, test } from 'node:test';
import { SaturnProcess, parseLlog } from '../helpers/saturn-process.js';
import { ALERT_COLOUR } from '../../src/http/dashboard.js';

/** Debian's chromium package; the test installs nothing (`.ci/run` installs it with apt-get). */
const CHROMIUM = '/usr/bin/chromium';
const RESULTS = fileURLToPath(new URL('../../../test-results/', import.meta.url));
const FLAGS = [
  '--headless',
  '--no-sandbox',
  '--disable-gpu',
  '--disable-quic',
  '--no-first-run',
  '--disable-background-networking',
  '--disable-component-update',
  '--disable-sync',
];

const cleanups: (() => Promise<void> | void)[] = [];
after(async () => {
  for (const c of cleanups.reverse()) await c();
});

test('the dashboard of a running demo, as a person sees it in Chromium: one series per node', async (t) => {
  if (!existsSync(CHROMIUM)) {
    t.skip(`chromium not installed at ${CHROMIUM} (apt-get install chromium; .ci/run installs it)`);
    return;
  }
  const { chromium } = await import('playwright-core');
  const demo = SaturnProcess.start(['demo', '--interval', '200ms']);
  cleanups.push(() => demo.stop().then(() => undefined));
  const url = (await demo.waitForLine((l) => l.text.startsWith('dashboard: '), 30_000)).text.slice(
    'dashboard: '.length,
  );
  assert.match(url, /^http:\/\/127\.0\.0\.1:\d+\/$/);
  // Enough checks for a line per node, and the mesh's verdict and the drift alert through the webhook.
  await demo.waitForLine((l) => /^webhook receiver: got #\d+ falseticker web-3/.test(l.text), 30_000);
  await demo.waitForLine((l) => /^webhook receiver: got #\d+ drift web-3/.test(l.text), 30_000);
  let seen = 0;
  await demo.waitForLine((l) => parseLlog(l.text)?.message === 'slave offset' && ++seen >= 45, 30_000);

  const profile = mkdtempSync(join(tmpdir(), 'saturn-chromium-'));
  cleanups.push(() => rmSync(profile, { recursive: true, force: true }));
  const context = await chromium.launchPersistentContext(profile, {
    executablePath: CHROMIUM,
    headless: true,
    args: FLAGS,
    viewport: { width: 1400, height: 1000 },
  });
  cleanups.push(() => context.close());
  const page = context.pages()[0] ?? (await context.newPage());
  const response = await page.goto(url, { waitUntil: 'load' });
  assert.equal(response?.status(), 200);
  mkdirSync(RESULTS, { recursive: true });
  const shot = join(RESULTS, 'dashboard.png');
  await page.screenshot({ path: shot, fullPage: true });
  assert.ok(existsSync(shot));
  t.diagnostic(`screenshot: ${shot}`);
  assert.match(await page.title(), /^saturn: 4 nodes$/, 'three slaves and the master');

  // The summary and the table: worst first, one state per node, the same words as /status.
  assert.match(
    await page.locator('p.summary').innerText(),
    /1 falseticker\s+0 over threshold\s+0 lost\s+0 pending\s+3 ok/,
  );
  const rows = page.locator('tbody tr[data-node]');
  assert.equal(await rows.count(), 4);
  assert.equal(await rows.nth(0).getAttribute('data-node'), 'web-3', 'the falseticker comes first');
  assert.deepEqual(
    (await page.locator('tbody tr[data-node] td:first-child').allInnerTexts()).map((s) => s.trim()).sort(),
    ['master', 'web-1', 'web-2', 'web-3'],
  );
  assert.equal((await page.locator('tr[data-node="master"] .badge').innerText()).trim(), 'ok');

  // The mesh: the vote in words, and who agrees with whom, web-3 marked and its cells red.
  assert.match(await page.locator('p.vote').innerText(), /3 of 4 clocks agree; .*falsetickers: web-3/);
  assert.deepEqual(await page.locator('table.matrix thead th.falseticker').allInnerTexts(), ['x web-3']);
  const web3Row = page.locator('table.matrix tbody tr', { has: page.locator('th.falseticker') });
  assert.equal(await web3Row.locator('td.disagree').count(), 3, 'web-3 disagrees with each of the others');
  assert.equal(await page.locator('table.matrix td.disagree').count(), 6, 'and only web-3');
  assert.ok((await page.locator('table.matrix td.agree').count()) >= 2, 'the others agree (master and peer checks)');
  assert.equal((await page.locator('tr[data-node="web-3"] .badge').innerText()).trim(), 'falseticker');
  assert.equal((await page.locator('tr[data-node="web-1"] .badge').innerText()).trim(), 'ok');

  // The overview: one visible line per node, a legend naming each in its colour, no node in the alert colour,
  // round tick labels with zero, gridlines, and the threshold labelled outside the plot area.
  const series = page.locator('#overview g.series');
  assert.equal(await series.count(), 3);
  const colours = new Set<string>();
  for (const name of ['web-1', 'web-2', 'web-3']) {
    const line = page.locator(`#overview g.series[data-node="${name}"] polyline`);
    // A flat line has no height, so Playwright does not call it visible; its box still has a width.
    const box = await line.boundingBox();
    assert.ok(box && box.width > 1, `${name}'s line has no extent: ${JSON.stringify(box)}`);
    assert.ok(Number(await page.locator(`#overview g.series[data-node="${name}"]`).getAttribute('data-points')) >= 2);
    const colour = (await line.getAttribute('stroke'))!;
    assert.notEqual(colour, ALERT_COLOUR, `${name} is drawn in the alert colour`);
    colours.add(colour);
    assert.ok(await page.locator(`ul.legend li[data-node="${name}"]`).isVisible(), `${name} is in the legend`);
  }
  assert.equal(colours.size, 3, 'every node has its own colour');
  const yLabels = await page.locator('#overview text.ytick').allTextContents();
  assert.ok(yLabels.includes('0') && yLabels.includes('+100 ms') && yLabels.includes('+1 ms'), yLabels.join(' '));
  assert.ok((await page.locator('#overview line.grid').count()) >= 8, 'gridlines');
  const plotRight = await page.locator('#overview rect').first().boundingBox();
  const thresholdLabel = await page.locator('#overview text.threshold-label').first().boundingBox();
  assert.ok(thresholdLabel!.x >= plotRight!.x + plotRight!.width, 'the threshold label sits outside the plot area');
  const xLabels = await page.locator('#overview text.xtick').allTextContents();
  assert.equal(xLabels[0], 'now');
  const xValues = xLabels.slice(1).map((label) => {
    const m = /^−(\d+) (s|min|h)$/.exec(label);
    assert.ok(m, `x tick label ${label}`);
    return Number(m[1]);
  });
  const step = xValues[0]!;
  assert.ok([1, 2, 5, 10, 15, 30].includes(step), `x ticks step by ${step}`);
  xValues.forEach((v, i) => assert.equal(v, step * (i + 1), `x ticks ${xLabels.join(', ')} are not evenly round`));

  // Per node: its own axis, so web-1's band of a few tens of µs is visibly tall; web-3's drift is marked.
  const plots = page.locator('svg.plot');
  assert.equal(await plots.count(), 3);
  for (let i = 0; i < 3; i++) assert.equal(await plots.nth(i).locator('g.series').count(), 1);
  const band = await page.locator('svg.plot[data-node="web-1"] polygon.band').boundingBox();
  assert.ok(band && band.height > 20, `web-1's error band is ${band?.height} px tall`);
  assert.ok((await page.locator('svg.plot[data-node="web-3"] g.mark[data-kind="drift"]').count()) >= 1);
});
