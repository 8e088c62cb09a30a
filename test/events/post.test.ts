import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { classifyStatus, redactUrl, retryAfterMs } from '../../src/events/post.js';

const AT = 1_714_564_800_123_456_789n;

describe('retry rule', () => {
  test('2xx delivered; 429 and 5xx retried; other statuses rejected', () => {
    assert.equal(classifyStatus(204, undefined).kind, 'delivered');
    assert.equal(classifyStatus(429, 3000).kind, 'retry');
    assert.equal(classifyStatus(503, undefined).kind, 'retry');
    for (const status of [301, 400, 401, 404, 410, 422])
      assert.equal(classifyStatus(status, undefined).kind, 'rejected');
  });

  test('Retry-After in seconds or as an HTTP date, capped at an hour', () => {
    assert.equal(retryAfterMs('3', AT), 3000);
    assert.equal(retryAfterMs(undefined, AT), undefined);
    assert.equal(retryAfterMs('soon', AT), undefined);
    const inTenSeconds = new Date(Number(AT / 1_000_000n) + 10_000).toUTCString();
    assert.ok(Math.abs(retryAfterMs(inTenSeconds, AT)! - 10_000) <= 1000);
    assert.equal(retryAfterMs('999999', AT), 3600_000);
  });

  test('a URL is logged without its path (Slack URLs carry a secret there)', () => {
    assert.equal(redactUrl('https://user:pw@hooks.example.com/services/T000/B000/XXXX'), 'https://hooks.example.com');
  });
});
