import assert from 'node:assert/strict';
import { test } from 'node:test';
import {
  ALL_IETF_VERSIONS,
  DRAFT_08,
  DRAFT_12,
  GOOGLE,
  RFC,
  familyOf,
  nanosToRadius,
  nanosToTime,
  parseVersionLabel,
  radiusToNanos,
  timeToNanos,
  versionLabel,
  versionPreference,
} from '../../src/roughtime/versions.js';

test('each version maps to exactly one family', () => {
  assert.equal(familyOf(1), RFC);
  assert.equal(familyOf(0x8000000c), DRAFT_12);
  for (const v of [0x80000008, 0x80000009, 0x8000000a, 0x8000000b]) assert.equal(familyOf(v), DRAFT_08);
  assert.equal(familyOf('google'), GOOGLE);
  assert.equal(familyOf(0x80000007), undefined);
  assert.equal(familyOf(2), undefined);
  assert.deepEqual(ALL_IETF_VERSIONS, [1, 0x80000008, 0x80000009, 0x8000000a, 0x8000000b, 0x8000000c]);
});

test('the families differ where the drafts say they do', () => {
  assert.deepEqual([GOOGLE.nonceBytes, GOOGLE.hashBytes, GOOGLE.framed, GOOGLE.timeUnitNs], [64, 64, false, 1000n]);
  assert.deepEqual(
    [DRAFT_08.nonceBytes, DRAFT_08.hashBytes, DRAFT_08.leafInput, DRAFT_08.versionIn],
    [32, 32, 'nonce', 'top'],
  );
  assert.deepEqual([RFC.leafInput, RFC.versionIn, RFC.typeTag], ['request-packet', 'srep', true]);
  assert.equal(Buffer.from(GOOGLE.delegationContext).toString('latin1'), 'RoughTime v1 delegation signature--\0');
  assert.equal(Buffer.from(RFC.delegationContext).toString('latin1'), 'RoughTime v1 delegation signature\0');
  assert.equal(Buffer.from(DRAFT_12.responseContext).toString('latin1'), 'RoughTime v1 response signature\0');
});

test('labels print and parse', () => {
  assert.equal(versionLabel(1), '1');
  assert.equal(versionLabel(0x8000000c), '0x8000000c');
  assert.equal(versionLabel('google'), 'google');
  assert.equal(parseVersionLabel('0x8000000C'), 0x8000000c);
  assert.equal(parseVersionLabel('1'), 1);
  assert.equal(parseVersionLabel('Google-Roughtime'), 'google');
  assert.equal(parseVersionLabel('0x80000003'), undefined);
  assert.equal(parseVersionLabel('banana'), undefined);
  assert.ok(versionPreference(1) > versionPreference(0x8000000c));
  assert.ok(versionPreference(0x8000000c) > versionPreference(0x8000000b));
});

test('time conversions keep one internal unit and round safely', () => {
  assert.equal(timeToNanos(GOOGLE, 50_000_000n), 50_000_000_000n);
  assert.equal(timeToNanos(RFC, 50n), 50_000_000_000n);
  assert.equal(radiusToNanos(GOOGLE, 5_000_000), 5e9);
  assert.equal(radiusToNanos(RFC, 5), 5e9);
  assert.equal(nanosToTime(RFC, 1_999_999_999n, 'floor'), 1n);
  assert.equal(nanosToTime(RFC, 1_000_000_001n, 'ceil'), 2n);
  assert.equal(nanosToTime(RFC, 1_000_000_000n, 'ceil'), 1n);
  assert.equal(nanosToRadius(RFC, 1), 1);
  assert.equal(nanosToRadius(RFC, 2_500_000_000), 3);
  assert.equal(nanosToRadius(GOOGLE, 1500), 2);
  assert.equal(nanosToRadius(RFC, 1e30), 0xffffffff);
});
