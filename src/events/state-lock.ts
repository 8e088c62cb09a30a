/**
 * One node per state dir. Two nodes sharing one would hand out the same event numbers and
 * overwrite each other's outboxes (a compaction renames a file over the other's appends), so a
 * node takes the dir first: `lock` holds its process id and, where /proc says it, the process's
 * start time, created only if absent. A lock is refused while its process lives; it is taken over
 * when that process is gone (SIGKILL, a crash), when the id now belongs to a process started at
 * another time (ids are reused, and after a reboot the old id may be anyone's), when it names this
 * very process without this process holding it (a container restarts its node under the same id),
 * or when it cannot be read. Two nodes that take over the same stale lock at the same instant may
 * both win: the check is for the mistake of starting a second node, not a guard against a race of
 * restarts.
 */
import { readFileSync } from 'node:fs';
import { open, readFile, mkdir, unlink } from 'node:fs/promises';
import { join } from 'node:path';
import { SaturnError } from '../errors.js';
import { errorCode } from './state-fs.js';

/** The lock file's name in the state dir. */
export const LOCK_FILE = 'lock';

/** True while process `pid` exists (EPERM: it exists but belongs to another user). */
function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (err) {
    return errorCode(err) === 'EPERM';
  }
}

/** Lock files this process holds now (by path). */
const held = new Set<string>();

/** When process `pid` started (clock ticks since boot, /proc/PID/stat field 22), or undefined where /proc does not say. */
function startTime(pid: number): string | undefined {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    // The command name (field 2) is in parentheses and may hold spaces: count fields after it.
    return stat.slice(stat.lastIndexOf(')') + 2).split(' ')[19];
  } catch {
    return undefined;
  }
}

/** What a lock file says: the holder's process id and start time (absent in a lock without it). */
async function holder(path: string): Promise<{ pid: number; start: string | undefined } | undefined> {
  const text = await readFile(path, 'utf8').catch(() => '');
  const match = /^\s*(\d+)(?:\s+(\d+))?\s*$/.exec(text);
  return match ? { pid: Number(match[1]), start: match[2] } : undefined;
}

/** Whether the process a lock names holds it still (see the rules at the top). */
function holds(lock: { pid: number; start: string | undefined }, path: string): boolean {
  if (lock.pid === process.pid) return held.has(path);
  if (!alive(lock.pid)) return false;
  const now = lock.start === undefined ? undefined : startTime(lock.pid);
  return now === undefined || now === lock.start;
}

/**
 * Takes `dir` (created if missing) for this process; resolves with the function that releases it.
 * Throws SATURN_ERR_STATE when a live process holds it or the lock cannot be written.
 */
export async function lockStateDir(dir: string): Promise<() => Promise<void>> {
  const path = join(dir, LOCK_FILE);
  const failed = (err: unknown) =>
    new SaturnError('SATURN_ERR_STATE', `cannot lock the state dir: ${path}: ${(err as Error).message}`, {
      cause: err,
    });
  await mkdir(dir, { recursive: true }).catch((err: unknown) => {
    throw failed(err);
  });
  for (let attempt = 0; ; attempt++) {
    try {
      const file = await open(path, 'wx', 0o600);
      try {
        await file.writeFile(`${[process.pid, startTime(process.pid)].filter((v) => v !== undefined).join(' ')}\n`);
      } finally {
        await file.close();
      }
      break;
    } catch (err) {
      if (errorCode(err) !== 'EEXIST' || attempt > 0) throw failed(err);
    }
    const lock = await holder(path);
    if (lock !== undefined && holds(lock, path))
      throw new SaturnError(
        'SATURN_ERR_STATE',
        `--state-dir ${dir} is in use by another saturn (process ${lock.pid}): give each node its own state dir`,
      );
    await unlink(path).catch(() => undefined);
  }
  held.add(path);
  return async () => {
    held.delete(path);
    if ((await holder(path))?.pid === process.pid) await unlink(path).catch(() => undefined);
  };
}
