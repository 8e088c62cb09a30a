/**
 * One node per state dir. Two nodes sharing one would hand out the same event numbers and
 * overwrite each other's outboxes (a compaction renames a file over the other's appends), so a
 * node takes the dir first: `lock` holds its process id, created only if absent. A lock whose
 * process is gone (SIGKILL, a crash) or that cannot be read is taken over; one whose process lives
 * is refused. Two nodes that take over the same stale lock at the same instant may both win: the
 * check is for the mistake of starting a second node, not a guard against a race of restarts.
 */
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

/** The process id a lock file names, or undefined when it names none. */
async function holder(path: string): Promise<number | undefined> {
  const text = await readFile(path, 'utf8').catch(() => '');
  const pid = /^\s*(\d+)\s*$/.exec(text)?.[1];
  return pid === undefined ? undefined : Number(pid);
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
        await file.writeFile(`${process.pid}\n`);
      } finally {
        await file.close();
      }
      break;
    } catch (err) {
      if (errorCode(err) !== 'EEXIST' || attempt > 0) throw failed(err);
    }
    const pid = await holder(path);
    if (pid !== undefined && alive(pid))
      throw new SaturnError(
        'SATURN_ERR_STATE',
        `--state-dir ${dir} is in use by another saturn (process ${pid}): give each node its own state dir`,
      );
    await unlink(path).catch(() => undefined);
  }
  return async () => {
    if ((await holder(path)) === process.pid) await unlink(path).catch(() => undefined);
  };
}
