/**
 * Dead letters: events a webhook rejected for good (a status that is not retried, a redirect saturn
 * does not follow), kept so that nothing is silently discarded. One append-only file of JSON lines
 * in the state dir, written (and fsync'd) by the running node only:
 *   {"dead":{...event...},"webhook":"<id>","target":"https://host","status":301,"reason":"…","at":"…"}
 * `saturn events replay` delivers them again and notes each one it delivered in a second file that
 * only it writes, so the two never share a writer:
 *   {"replayed":17,"webhook":"<id>","to":"https://host","at":"…"}
 * Without a state dir, a dead letter is only logged (at ERROR, with the whole event).
 */
import { join } from 'node:path';
import { type Nanos, isoNanos } from '../clock/clock.js';
import { AppendLog, Serial } from './append-log.js';
import { type SaturnEvent, eventFromRecord, eventToRecord } from './event.js';
import { type StateFs, readIfExists } from './state-fs.js';

export const DEAD_LETTER_FILE = 'dead-letters.log';
export const REPLAYED_FILE = 'dead-letters-replayed.log';

/** One rejected event, and why. */
export interface DeadLetter {
  event: SaturnEvent;
  /** The webhook that rejected it: the id of its URL (see webhookId). */
  webhook: string;
  /** That webhook's URL without path or credentials. */
  target: string;
  status: number | undefined;
  reason: string;
  /** Wall time of the rejection. */
  at: Nanos;
}

/** A dead letter as a line of the file. */
function deadLetterLine(letter: DeadLetter): string {
  const { event, at, ...rest } = letter;
  return `${JSON.stringify({ dead: eventToRecord(event), ...rest, at: isoNanos(at) })}\n`;
}

/** The dead letters of a state dir: appended durably, one at a time. */
export class DeadLetters {
  readonly path: string | undefined;
  /** The torn last line cut off when the file was opened: a write a crash cut short (its event is still in its outbox). */
  readonly cut: string | undefined;
  readonly #log: AppendLog | undefined;
  readonly #serial = new Serial();

  private constructor(path: string | undefined, log: AppendLog | undefined, cut?: string) {
    this.path = path;
    this.#log = log;
    this.cut = cut;
  }

  /** Opens the file of `stateDir` (no state dir: nothing is written). */
  static async open(fs: StateFs, stateDir: string | undefined): Promise<DeadLetters> {
    if (stateDir === undefined) return new DeadLetters(undefined, undefined);
    const path = join(stateDir, DEAD_LETTER_FILE);
    const { log, cut } = await AppendLog.open(fs, path);
    return new DeadLetters(path, log, cut);
  }

  /** Keeps one dead letter; resolves once it is durable, rejects (file unchanged) if the disk refused it. */
  add(letter: DeadLetter): Promise<void> {
    return this.#serial.run(async () => this.#log?.append(deadLetterLine(letter), true));
  }

  close(): Promise<void> {
    return this.#serial.run(async () => this.#log?.close());
  }
}

/** The dead letters of a state dir, with whether each was replayed. */
export interface DeadLetterList {
  letters: (DeadLetter & { replayed: boolean })[];
  /** The highest sequence among them (0 if none). */
  high: number;
  /** Lines that could not be read (a torn last line while the node writes, or damage). */
  unreadable: number;
}

const replayKey = (sequence: number, webhook: string) => `${sequence} ${webhook}`;

/** Lines of a file, parsed; unreadable ones counted. */
function parseLines<T>(
  text: string,
  parse: (record: Record<string, unknown>) => T,
): { items: T[]; unreadable: number } {
  const items: T[] = [];
  let unreadable = 0;
  for (const line of text.split('\n')) {
    if (line === '') continue;
    try {
      items.push(parse(JSON.parse(line) as Record<string, unknown>));
    } catch {
      unreadable++;
    }
  }
  return { items, unreadable };
}

/** Reads the dead letters of `stateDir` and marks those already replayed. */
export async function readDeadLetters(fs: StateFs, stateDir: string): Promise<DeadLetterList> {
  const dead = parseLines(((await readIfExists(fs, join(stateDir, DEAD_LETTER_FILE))) ?? '').toString(), (r) => {
    const { dead: record, webhook, target, status, reason, at } = r;
    if (typeof webhook !== 'string' || typeof at !== 'string') throw new Error('not a dead letter');
    return {
      event: eventFromRecord(record as Record<string, unknown>),
      webhook,
      target: String(target),
      status: typeof status === 'number' ? status : undefined,
      reason: String(reason),
      at: BigInt(Date.parse(at)) * 1_000_000n,
    };
  });
  const replayed = parseLines(((await readIfExists(fs, join(stateDir, REPLAYED_FILE))) ?? '').toString(), (r) => {
    if (!Number.isSafeInteger(r.replayed) || typeof r.webhook !== 'string') throw new Error('not a replay mark');
    return replayKey(r.replayed as number, r.webhook);
  });
  const done = new Set(replayed.items);
  const letters = dead.items.map((l) => ({ ...l, replayed: done.has(replayKey(l.event.sequence, l.webhook)) }));
  return {
    letters,
    high: Math.max(0, ...letters.map((l) => l.event.sequence)),
    unreadable: dead.unreadable + replayed.unreadable,
  };
}

/** Notes that a dead letter was delivered by a replay (appended and fsync'd to the replay file). */
export async function markReplayed(
  fs: StateFs,
  stateDir: string,
  letter: DeadLetter,
  to: string,
  at: Nanos,
): Promise<void> {
  const { log } = await AppendLog.open(fs, join(stateDir, REPLAYED_FILE));
  try {
    const record = { replayed: letter.event.sequence, webhook: letter.webhook, to, at: isoNanos(at) };
    await log.append(`${JSON.stringify(record)}\n`, true);
  } finally {
    await log.close();
  }
}
