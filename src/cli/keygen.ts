/**
 * `saturn keygen --out FILE`: writes a new Roughtime long-term key (the Ed25519 seed in hex,
 * mode 0600, never overwriting a file) and prints its public half in base64, the form clients
 * and server lists take.
 */
import { Command } from 'commander';
import { ConfigError } from '../errors.js';
import { writeNewKeyFile } from '../roughtime/server-keys.js';
import type { Sink } from '../log/sink.js';

export interface KeygenDeps {
  readonly stdout?: Sink;
}

/** The `keygen` command. */
export function keygenCommand(deps: KeygenDeps = {}): Command {
  const stdout = deps.stdout ?? process.stdout;
  return new Command('keygen')
    .description('write a new Roughtime long-term key to a file and print its base64 public key')
    .option('--out <file>', 'where to write the key (refuses to overwrite)')
    .action(async (opts: { out?: string }) => {
      if (opts.out === undefined) throw new ConfigError('keygen needs --out FILE');
      const publicKey = await writeNewKeyFile(opts.out);
      stdout.write(`${Buffer.from(publicKey).toString('base64')}\n`);
    });
}
