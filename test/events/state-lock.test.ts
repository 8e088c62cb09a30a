import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, test } from 'node:test';
import { SaturnError } from '../../src/errors.js';
import { LOCK_FILE, lockStateDir } from '../../src/events/state-lock.js';

const dirs: string[] = [];
after(() => {
  for (const d of dirs) rmSync(d, { recursive: true, force: true });
});
/** This process's lock: its id, and its start time where /proc says it. */
const OURS = new RegExp(`^${process.pid}( \\d+)?\\n$`);

function stateDir(): string {
  const dir = mkdtempSync(join(tmpdir(), 'saturn-lock-'));
  dirs.push(dir);
  return join(dir, 'state');
}

test('the lock holds this process id while taken and is gone once released', async () => {
  const dir = stateDir();
  const release = await lockStateDir(dir);
  assert.match(readFileSync(join(dir, LOCK_FILE), 'utf8'), OURS);
  await release();
  assert.equal(existsSync(join(dir, LOCK_FILE)), false);
});

test('a state dir held by a live process is refused with one sentence naming the dir and the process', async () => {
  const dir = stateDir();
  const release = await lockStateDir(dir);
  try {
    await assert.rejects(
      lockStateDir(dir),
      (err: unknown) =>
        err instanceof SaturnError &&
        err.code === 'SATURN_ERR_STATE' &&
        err.message.includes(dir) &&
        err.message.includes(`process ${process.pid}`),
    );
    // The refusal leaves the holder's lock alone.
    assert.match(readFileSync(join(dir, LOCK_FILE), 'utf8'), OURS);
  } finally {
    await release();
  }
});

test('a lock left by a process that died (SIGKILL) is taken over; one that cannot be read too', async () => {
  const dir = stateDir();
  // A process id that was alive a moment ago and is no more.
  const gone = spawnSync(process.execPath, ['-e', 'process.stdout.write(String(process.pid))'], { encoding: 'utf8' });
  const deadPid = Number(gone.stdout);
  assert.ok(Number.isInteger(deadPid) && deadPid > 0);
  await (
    await lockStateDir(dir)
  )(); // creates the dir
  for (const content of [`${deadPid}\n`, 'garbage', '']) {
    writeFileSync(join(dir, LOCK_FILE), content);
    const release = await lockStateDir(dir);
    assert.match(readFileSync(join(dir, LOCK_FILE), 'utf8'), OURS, JSON.stringify(content));
    await release();
  }
});

test('a lock naming this process id that this process does not hold is taken over (a container restarts its node under the same id)', async () => {
  const dir = stateDir();
  await (
    await lockStateDir(dir)
  )();
  writeFileSync(join(dir, LOCK_FILE), `${process.pid} 1\n`);
  const release = await lockStateDir(dir);
  assert.match(readFileSync(join(dir, LOCK_FILE), 'utf8'), OURS);
  await release();
});

test('a lock naming a live process started at another time is taken over (a reused id); at its own start time it is refused', async (t) => {
  if (!existsSync(`/proc/${process.ppid}/stat`)) return t.skip('no /proc on this system: start times are not known');
  const dir = stateDir();
  await (
    await lockStateDir(dir)
  )();
  const stat = readFileSync(`/proc/${process.ppid}/stat`, 'utf8');
  const start = stat.slice(stat.lastIndexOf(')') + 2).split(' ')[19]!;
  writeFileSync(join(dir, LOCK_FILE), `${process.ppid} ${start}\n`);
  await assert.rejects(lockStateDir(dir), new RegExp(`process ${process.ppid}`));
  writeFileSync(join(dir, LOCK_FILE), `${process.ppid} ${Number(start) + 1}\n`);
  const release = await lockStateDir(dir);
  assert.match(readFileSync(join(dir, LOCK_FILE), 'utf8'), OURS);
  await release();
});
