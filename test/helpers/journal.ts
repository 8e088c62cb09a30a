/**
 * A node's event journal as run-node opens it, for tests: a state dir of its own (or the one
 * given), one webhook (by default a URL where nothing listens: delivery fails and retries), the
 * simulated clock, llog lines and diagnostics kept. `closeTestJournals()` in an after hook.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { SimClock } from '../../src/clock/sim-clock.js';
import { type JournalOptions, type OpenJournal, openJournal } from '../../src/events/open-journal.js';
import { LlogWriter } from '../../src/log/llog.js';
import { FaultyFs } from './faulty-fs.js';
import { lineSink, testLogger } from './sinks.js';

export const JOURNAL_AT = 1_714_564_800_123_456_789n;

const opened: OpenJournal[] = [];
const dirs: string[] = [];

/** Closes every journal opened here and removes the state dirs made here. */
export async function closeTestJournals(): Promise<void> {
  await Promise.all(opened.splice(0).map((o) => o.close()));
  for (const d of dirs.splice(0)) rmSync(d, { recursive: true, force: true });
}

/** A fresh state dir, removed by closeTestJournals(). */
export function testStateDir(): string {
  const dir = mkdtempSync(join(tmpdir(), 'saturn-journal-'));
  dirs.push(dir);
  return dir;
}

export async function openTestJournal(options: Partial<JournalOptions> = {}, fs = new FaultyFs()) {
  const stateDir = 'stateDir' in options ? options.stateDir : testStateDir();
  const clock = new SimClock(JOURNAL_AT);
  const stdout = lineSink();
  const log = testLogger();
  const open = await openJournal(
    {
      name: 'master',
      webhooks: [{ url: 'http://127.0.0.1:9/hook', format: 'json' }],
      webhookTimeoutMs: 1000,
      outboxMax: 100_000,
      ...options,
      stateDir,
    },
    { clock, logger: log.logger, llog: new LlogWriter(stdout), fs },
  );
  opened.push(open);
  return { ...open, fs, clock, stdout, log, stateDir: stateDir! };
}

/** A drift event of node `web-<i>`. */
export const driftInput = (i: number) => ({
  kind: 'drift' as const,
  at: JOURNAL_AT + BigInt(i),
  node: { id: `web-${i}`, addr: `10.0.0.${i % 250}:4123` },
  offsetNs: 1e9,
  errorNs: 1e5,
  thresholdNs: 100e6,
});

/** The sequence numbers of the event lines in llog text lines. */
export const shownSequences = (lines: readonly string[]) =>
  lines.map((l) => /sequence="(\d+)"/.exec(l)).flatMap((m) => (m ? [Number(m[1])] : []));
