import assert from 'node:assert/strict';
import { existsSync, mkdirSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { after, test } from 'node:test';
import { SaturnProcess, parseLlog } from '../helpers/saturn-process.js';

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
  // Enough checks for a line per node, and the drift alert through the webhook.
  await demo.waitForLine((l) => l.text.startsWith('webhook receiver: got #1 drift web-3'), 30_000);
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
  assert.match(await page.title(), /^saturn: 3 nodes$/);

  // The table: one row per node; web-3 over threshold.
  const rows = page.locator('tbody tr');
  assert.equal(await rows.count(), 3);
  assert.deepEqual((await page.locator('tbody tr td:first-child').allInnerTexts()).map((s) => s.trim()).sort(), [
    'web-1',
    'web-2',
    'web-3',
  ]);
  assert.equal((await page.locator('tr[data-node="web-3"] td.over').innerText()).trim(), 'over threshold');

  // The overview plot: one series per node, each a visible line with several points.
  const series = page.locator('#overview g.series');
  assert.equal(await series.count(), 3);
  for (const name of ['web-1', 'web-2', 'web-3']) {
    const line = page.locator(`#overview g.series[data-node="${name}"] polyline`);
    // A flat line has no height, so Playwright does not call it visible; its box still has a width.
    const box = await line.boundingBox();
    assert.ok(box && box.width > 1, `${name}'s line has no extent: ${JSON.stringify(box)}`);
    assert.ok(Number(await page.locator(`#overview g.series[data-node="${name}"]`).getAttribute('data-points')) >= 2);
  }
  // Per node: a plot with its band, its line and the threshold drawn.
  const plots = page.locator('svg.plot');
  assert.equal(await plots.count(), 3);
  for (let i = 0; i < 3; i++) {
    const plot = plots.nth(i);
    assert.equal(await plot.locator('g.series').count(), 1);
    assert.equal(await plot.locator('line.threshold').count(), 2);
    assert.ok(await plot.locator('polygon.band').isVisible());
  }
  // web-3's line sits above its +threshold line (SVG y grows downwards); web-1's between the two.
  const y = async (selector: string) => (await page.locator(selector).boundingBox())!.y;
  assert.ok(
    (await y('svg.plot[data-node="web-3"] polyline.offset')) <
      (await y('svg.plot[data-node="web-3"] line.threshold >> nth=0')),
  );
});
