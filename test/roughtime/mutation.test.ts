/**
 * Changes every byte of several valid responses, one at a time and in three ways, and checks
 * that no changed response is accepted as valid with content other than the original's.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { signingKeyFromSeed } from '../../src/roughtime/crypto.js';
import { isFramed } from '../../src/roughtime/frame.js';
import { RtMessage } from '../../src/roughtime/message.js';
import { buildRequest } from '../../src/roughtime/request.js';
import { Tag } from '../../src/roughtime/tags.js';
import { verifyResponse, type VerifyResult } from '../../src/roughtime/verify.js';
import type { WireVersion } from '../../src/roughtime/versions.js';
import {
  ROUGHENOUGH_PUBLIC_KEY,
  b64,
  cloudflareVectors,
  draft19Report,
  roughenoughVector,
  vectorsDir,
} from './vectors.js';
import { localResponder, replyOf } from './responder.js';

interface Exchange {
  readonly name: string;
  readonly request: Uint8Array;
  readonly response: Uint8Array;
  readonly publicKey: Uint8Array;
}

const content = (r: VerifyResult): string =>
  JSON.stringify([r.version, String(r.midp), r.radi, String(r.mint), String(r.maxt)]);

function localExchanges(): Exchange[] {
  // The responder the server runs in its workers.
  const longTermKey = signingKeyFromSeed(new Uint8Array(32).fill(0x51));
  const responder = localResponder({
    longTermKey,
    onlineSeed: new Uint8Array(32).fill(0x52),
    mintNs: 0n,
    maxtNs: 2n ** 62n,
    versions: [1, 0x8000000c, 'google'] as WireVersion[],
  });
  // A batch of 5 so PATH and INDX are non-trivial.
  const packets = [1, 2, 3, 4, 5].map((i) => buildRequest({ versions: [1], nonce: new Uint8Array(32).fill(i) }));
  packets.push(buildRequest({ versions: 'google', nonce: new Uint8Array(64).fill(9) }));
  const outcomes = responder.respond(packets, { midpNs: 1_760_000_000_000_000_000n, radiNs: 1e9 });
  return [3, 5].map((i) => ({
    name: `local ${i === 5 ? 'google' : 'rfc batch of 5, #3'}`,
    request: packets[i]!,
    response: replyOf(outcomes[i]),
    publicKey: longTermKey.publicKey,
  }));
}

/** Where a Google (unframed) response's NONC tag lies in the tag table, if it has one. */
function googleNonceTagAt(response: Uint8Array): number | undefined {
  if (isFramed(response)) return undefined;
  const top = RtMessage.parse(response);
  const index = top.tags.indexOf(Tag.NONC);
  return index < 0 ? undefined : 4 * top.tags.length + 4 * index;
}

test('no single-byte change of a valid response is accepted with different content', (t) => {
  const exchanges = localExchanges();
  const dir = vectorsDir();
  for (const [file, index] of [
    ['roughtime_google_010.json', 7],
    ['roughtime_ietf_draft08_001.json', 0],
    ['roughtime_ietf_draft11_100.json', 42],
  ] as const) {
    const vector = cloudflareVectors(dir).find((v) => v.file === file)!;
    exchanges.push({
      name: `${file} #${index}`,
      request: vector.requests[index]!,
      response: vector.replies[index]!,
      publicKey: signingKeyFromSeed(vector.rootSeed).publicKey,
    });
  }
  exchanges.push({
    name: 'roughenough 0x8000000c',
    request: roughenoughVector(dir, 'rfc-request.071039e5.hex'),
    response: roughenoughVector(dir, 'rfc-response.071039e5.hex'),
    publicKey: ROUGHENOUGH_PUBLIC_KEY,
  });
  const entry = draft19Report(dir).responses[0]!;
  exchanges.push({
    name: 'draft-19 report #0',
    request: b64(entry.request),
    response: b64(entry.response),
    publicKey: b64(entry.publicKey),
  });
  let mutations = 0;
  let accepted = 0;
  const lines: string[] = [];
  for (const exchange of exchanges) {
    const original = verifyResponse(exchange);
    assert.equal(original.valid, true, exchange.name);
    let rejected = 0;
    const optionalTagAt = googleNonceTagAt(exchange.response);
    const mutated = new Uint8Array(exchange.response);
    for (let i = 0; i < mutated.byteLength; i++) {
      const byte = mutated[i]!;
      for (const flip of [0x01, 0x80, 0xff]) {
        mutated[i] = byte ^ flip;
        const result = verifyResponse({ ...exchange, response: mutated });
        mutations++;
        if (result.valid) {
          accepted++;
          // The one change a valid response survives: a Google response's optional NONC renamed to a
          // tag no version defines, which a client ignores (grease). Its nonce is still in the signed leaf.
          assert.ok(
            optionalTagAt !== undefined && i >= optionalTagAt && i < optionalTagAt + 4,
            `${exchange.name}: byte ${i} ^ 0x${flip.toString(16)} accepted`,
          );
          assert.equal(
            content(result),
            content(original),
            `${exchange.name}: byte ${i} ^ 0x${flip.toString(16)} accepted with different content`,
          );
        } else {
          rejected++;
        }
      }
      mutated[i] = byte;
    }
    lines.push(
      `${exchange.name}: ${exchange.response.byteLength} bytes, ${3 * exchange.response.byteLength} mutations, ${rejected} rejected`,
    );
  }
  for (const line of lines) t.diagnostic(line);
  t.diagnostic(
    `total: ${mutations} single-byte mutations over ${exchanges.length} responses, ${mutations - accepted} rejected, ${accepted} accepted (all with unchanged content)`,
  );
  console.log(`byte mutations: ${mutations} tried, ${mutations - accepted} rejected, ${accepted} accepted`);
});
