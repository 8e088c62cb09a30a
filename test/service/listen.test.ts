import assert from 'node:assert/strict';
import { test } from 'node:test';
import { ConfigError } from '../../src/errors.js';
import { listening } from '../../src/service/listen.js';

/** A bind that fails as Node's dgram does when the host does not resolve. */
const unresolved = (code: string) => () =>
  Promise.reject(Object.assign(new Error(`getaddrinfo ${code} 999.1.1.1`), { code, syscall: 'getaddrinfo' }));

test('a listen address whose host does not resolve is one sentence naming the option', async () => {
  for (const code of ['ENOTFOUND', 'EAI_AGAIN']) {
    await assert.rejects(
      listening('--listen-addr', { host: '999.1.1.1', port: 80 }, unresolved(code)),
      (err: unknown) =>
        err instanceof ConfigError &&
        err.message === `--listen-addr 999.1.1.1:80: the host 999.1.1.1 does not resolve (getaddrinfo ${code})`,
    );
  }
});
