/**
 * The README's reference tables say what the code does: every option, every event kind and every
 * alert rule has its row, and no row names something that does not exist. (Prose is read by people;
 * these tables are looked up, so they must not drift.)
 */
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { test } from 'node:test';
import { OPTIONS } from '../src/config/options.js';
import { ALERT_RULES } from '../src/events/alerts.js';
import { EVENT_KINDS } from '../src/events/event.js';

const README = readFileSync(new URL('../../README.md', import.meta.url), 'utf8');

/** The first cells of the rows of the table that follows `heading` (a line starting with it). */
function firstCells(heading: string): string[] {
  const lines = README.split('\n');
  const at = lines.findIndex((line) => line.startsWith(heading));
  assert.ok(at >= 0, `README has no "${heading}"`);
  const rows: string[] = [];
  let inTable = false;
  for (const line of lines.slice(at + 1)) {
    if (line.startsWith('|')) inTable = true;
    else if (inTable) break;
    else if (line.startsWith('#')) break;
    if (!inTable || /^\|\s*-+/.test(line)) continue;
    rows.push(line.split('|')[1]!.trim());
  }
  return rows.slice(1); // the header row
}

const codeOf = (cell: string) => /^`([^` ]+)/.exec(cell)?.[1];

test('the options table has a row for every option and none for an option that does not exist', () => {
  const documented = firstCells('### Options').map(codeOf);
  const flags = Object.values(OPTIONS).map((o) => o.flag.split(' ')[0]!);
  assert.deepEqual(
    flags.filter((f) => !documented.includes(f)),
    [],
    'options without a README row',
  );
  assert.deepEqual(
    documented.filter((f) => !flags.includes(f!)),
    [],
    'README rows without an option',
  );
});

test('the events table has a row for every event kind', () => {
  const documented = firstCells('### Events').map(codeOf);
  assert.deepEqual(
    EVENT_KINDS.filter((k) => !documented.includes(k)),
    [],
  );
  assert.deepEqual(
    documented.filter((k) => !(EVENT_KINDS as readonly (string | undefined)[]).includes(k)),
    [],
  );
});

test('the alert table says what src/events/alerts.ts says: name, severity, raising and resolving events', () => {
  const lines = README.split('\n').filter((l) => /^\| `Saturn[A-Za-z]+` \|/.test(l));
  const rows = lines.map((l) => l.split('|').map((c) => c.trim()));
  const documented = new Map(rows.map((r) => [r[1]!.replaceAll('`', ''), r]));
  for (const rule of ALERT_RULES) {
    const row = documented.get(rule.alertname);
    assert.ok(row, `no README row for ${rule.alertname}`);
    assert.equal(row[2], rule.severity, rule.alertname);
    assert.equal(row[3], `\`${rule.raisedBy}\``, rule.alertname);
    const resolvedBy = [...row[4]!.matchAll(/`([a-z_]+)`/g)].map((m) => m[1]);
    assert.deepEqual(resolvedBy, [...rule.resolvedBy], rule.alertname);
  }
  assert.equal(documented.size, ALERT_RULES.length, 'README rows without a rule');
});
