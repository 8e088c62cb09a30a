import assert from 'node:assert/strict';
import { test } from 'node:test';
import { signingKeyFromSeed, verifySignature, ed25519PublicKey } from '../../src/roughtime/crypto.js';
import { createDelegation } from '../../src/roughtime/delegation.js';
import { RtMessage } from '../../src/roughtime/message.js';
import { Tag } from '../../src/roughtime/tags.js';
import { FAMILIES } from '../../src/roughtime/versions.js';

test('a delegation signs one CERT per version family, in its units, with its context', () => {
  const longTermKey = signingKeyFromSeed(new Uint8Array(32).fill(0x41));
  const onlineSeed = new Uint8Array(32).fill(0x42);
  const delegation = createDelegation({ longTermKey, onlineSeed, mintNs: 1_500_000_000n, maxtNs: 3_500_000_001n });
  assert.deepEqual(
    delegation.certs.map(([id]) => id),
    FAMILIES.map((f) => f.id),
  );
  for (const [id, cert] of delegation.certs) {
    const family = FAMILIES.find((f) => f.id === id)!;
    const message = RtMessage.parse(cert);
    const dele = message.message(Tag.DELE);
    assert.deepEqual(dele.require(Tag.PUBK), signingKeyFromSeed(onlineSeed).publicKey);
    // MINT rounds down and MAXT up, so the window stated never excludes an instant it covers.
    assert.equal(dele.u64(Tag.MINT), id === 'google' ? 1_500_000n : 1n);
    assert.equal(dele.u64(Tag.MAXT), id === 'google' ? 3_500_001n : 4n);
    assert.ok(
      verifySignature(
        ed25519PublicKey(longTermKey.publicKey),
        family.delegationContext,
        message.require(Tag.DELE),
        message.require(Tag.SIG),
      ),
    );
  }
});

test('a window that ends before it starts, or a seed of the wrong size, is a RangeError', () => {
  const longTermKey = signingKeyFromSeed(new Uint8Array(32).fill(0x41));
  const onlineSeed = new Uint8Array(32);
  assert.throws(() => createDelegation({ longTermKey, onlineSeed, mintNs: 20n, maxtNs: 10n }), RangeError);
  assert.throws(
    () => createDelegation({ longTermKey, onlineSeed: new Uint8Array(31), mintNs: 0n, maxtNs: 1n }),
    RangeError,
  );
});
