/**
 * What a state dir holds, read without changing it: the outbox of every webhook (also of URLs no
 * longer configured), the dead letters, the highest event sequence number anywhere in them, and
 * what the sequence file reserves.
 * `openJournal` numbers new events above that, whatever the `sequence` file says, and `saturn
 * events list` shows it.
 */
import { join } from 'node:path';
import { SaturnError } from '../errors.js';
import { type DeadLetterList, readDeadLetters } from './dead-letters.js';
import { type OutboxContents, readOutbox } from './outbox.js';
import { SEQUENCE_FILE, parseSequenceFile } from './sequence-store.js';
import { type StateFs, errorCode, readIfExists } from './state-fs.js';

/** Outbox files: `outbox-<16 hex digits of sha256(url)>.log`. */
export const OUTBOX_FILE = /^outbox-[0-9a-f]{16}\.log$/;

/** One outbox file of the state dir. */
export interface OutboxFile extends OutboxContents {
  file: string;
}

/** A scan of a state dir. */
export interface StateDirScan {
  outboxes: OutboxFile[];
  deadLetters: DeadLetterList;
  /** The highest sequence number any outbox or dead letter holds (0 if none). */
  high: number;
  /**
   * The sequence file's number, undefined without one: the first not yet reserved. Events are
   * numbered in blocks reserved ahead, and a node without webhooks keeps none of them in a file, so
   * numbers up to one below this may have been handed out.
   */
  sequenceFile: number | undefined;
}

/** Reads every outbox and the dead letters of `dir` (a missing dir is an empty one). Throws SATURN_ERR_STATE if a file cannot be read. */
export async function scanStateDir(fs: StateFs, dir: string): Promise<StateDirScan> {
  let names: string[];
  try {
    names = await fs.readdir(dir);
  } catch (err) {
    if (errorCode(err) === 'ENOENT')
      return { outboxes: [], deadLetters: { letters: [], high: 0, unreadable: 0 }, high: 0, sequenceFile: undefined };
    throw stateError(dir, err);
  }
  const outboxes: OutboxFile[] = [];
  for (const file of names.filter((name) => OUTBOX_FILE.test(name)).sort()) {
    try {
      outboxes.push({ file, ...(await readOutbox(fs, join(dir, file))) });
    } catch (err) {
      throw stateError(join(dir, file), err);
    }
  }
  const deadLetters = await readDeadLetters(fs, dir).catch((err: unknown) => {
    throw stateError(dir, err);
  });
  const sequencePath = join(dir, SEQUENCE_FILE);
  const sequenceBytes = await readIfExists(fs, sequencePath).catch((err: unknown) => {
    throw stateError(sequencePath, err);
  });
  return {
    outboxes,
    deadLetters,
    high: Math.max(deadLetters.high, ...outboxes.map((o) => o.high)),
    sequenceFile: sequenceBytes === undefined ? undefined : parseSequenceFile(sequenceBytes, sequencePath),
  };
}

/** A file of the state dir that cannot be read, as the one sentence main prints (exit 2). */
export function stateError(path: string, err: unknown): SaturnError {
  if (err instanceof SaturnError) return err;
  return new SaturnError('SATURN_ERR_STATE', `cannot read the state dir: ${path}: ${(err as Error).message}`, {
    cause: err,
  });
}
