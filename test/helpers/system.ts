import { spawnSync } from 'node:child_process';

/** True when `name` is on the PATH (tests that need a system tool skip with a message otherwise). */
export function hasCommand(name: string): boolean {
  return spawnSync('sh', ['-c', `command -v ${name}`], { stdio: 'ignore' }).status === 0;
}
