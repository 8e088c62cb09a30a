/**
 * `saturn keygen --out FILE`: writes a new Roughtime long-term key (the Ed25519 seed in hex,
 * mode 0600, never overwriting a file) and prints its public half in base64, the form clients
 * and server lists take.
 *
 * `saturn keygen --hmac --id N --out FILE`: writes a new HMAC key, 32 random bytes, as the line
 * `N HEX:...` of a key file (mode 0600, never overwriting a file), to add to every node's
 * --hmac-key-file when the fleet's key is rolled. Nothing secret is printed.
 */
import { randomBytes } from 'node:crypto';
import { Command } from 'commander';
import { writeNewPrivateFile } from '../util/private-file.js';
import { ConfigError } from '../errors.js';
import { writeNewKeyFile } from '../roughtime/server-keys.js';
import type { Sink } from '../log/sink.js';
import { parseCount } from '../util/parse.js';
import { MAX_KEY_ID } from '../wire/keys.js';

export interface KeygenDeps {
  readonly stdout?: Sink;
}

/** Bytes of a generated HMAC key: SHA-256's block-size-independent strength, 256 bits. */
const HMAC_KEY_BYTES = 32;

/** The `keygen` command. */
export function keygenCommand(deps: KeygenDeps = {}): Command {
  const stdout = deps.stdout ?? process.stdout;
  return new Command('keygen')
    .description(
      'write a new Roughtime long-term key (prints its base64 public key), or with --hmac a new HMAC key line',
    )
    .option('--out <file>', 'where to write the key (refuses to overwrite)')
    .option('--hmac', 'write an HMAC key line "ID HEX:..." for --hmac-key-file instead')
    .option('--id <n>', 'the HMAC key id (with --hmac)', '1')
    .action(async (opts: { out?: string; hmac?: boolean; id: string }) => {
      if (opts.out === undefined) throw new ConfigError('keygen needs --out FILE');
      if (opts.hmac) {
        const id = parseCount(opts.id, '--id', 0, MAX_KEY_ID);
        const line = `${id} HEX:${randomBytes(HMAC_KEY_BYTES).toString('hex')}\n`;
        writeNewPrivateFile(opts.out, line);
        stdout.write(`HMAC key ${id} written to ${opts.out}: add its line to every node's --hmac-key-file\n`);
        return;
      }
      const publicKey = await writeNewKeyFile(opts.out);
      stdout.write(`${Buffer.from(publicKey).toString('base64')}\n`);
    });
}
