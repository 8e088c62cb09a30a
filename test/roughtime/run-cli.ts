/** Runs `saturn roughtime ...` in-process with captured output, the way main.ts wires the command. */
import { Command, CommanderError } from 'commander';
import { roughtimeCommand, type RoughtimeCommandDeps } from '../../src/cli/roughtime.js';
import { ConfigError } from '../../src/errors.js';

export interface CliRun {
  readonly stdout: string;
  readonly stderr: string;
  readonly exitCode: number | undefined;
}

export async function runCli(
  args: string[],
  deps: Omit<RoughtimeCommandDeps, 'stdout' | 'stderr' | 'setExitCode'> = {},
): Promise<CliRun> {
  let stdout = '';
  let stderr = '';
  let exitCode: number | undefined;
  const program = new Command('saturn')
    .exitOverride()
    .configureOutput({ writeOut: (s) => void (stdout += s), writeErr: (s) => void (stderr += s) });
  program.addCommand(
    roughtimeCommand({
      ...deps,
      stdout: { write: (s: string) => (stdout += s) },
      stderr: { write: (s: string) => (stderr += s) },
      setExitCode: (code) => (exitCode = code),
    }),
  );
  try {
    await program.parseAsync(['node', 'saturn', 'roughtime', ...args]);
  } catch (error) {
    if (error instanceof ConfigError) {
      stderr += `saturn: ${error.message}\n`;
      exitCode = 2;
    } else if (error instanceof CommanderError) {
      exitCode = error.exitCode === 0 ? 0 : 2;
    } else {
      throw error;
    }
  }
  return { stdout, stderr, exitCode };
}
