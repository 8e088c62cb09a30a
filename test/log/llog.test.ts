import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import fc from 'fast-check';
import { LlogWriter, formatLlog, nsToMillisText, plainDecimal } from '../../src/log/llog.js';

describe('formatLlog', () => {
  it('writes the original shape with sorted keys', () => {
    assert.equal(
      formatLlog('WARN', 'slave offset is over threshold', {
        offset: nsToMillisText(-4984391.125),
        name: 'web-3',
        ip: '10.42.0.9',
      }),
      '~ WARN -- slave offset is over threshold -- ip="10.42.0.9" name="web-3" offset="-4.984391125"',
    );
  });

  it('has no fields part without fields, or when every field is undefined', () => {
    assert.equal(formatLlog('INFO', 'message', {}), '~ INFO -- message');
    assert.equal(formatLlog('INFO', 'message'), '~ INFO -- message');
    assert.equal(formatLlog('DEBUG', 'message', { a: undefined }), '~ DEBUG -- message');
  });

  it('omits undefined values and formats numbers, bigints and booleans', () => {
    assert.equal(
      formatLlog('ERROR', 'm', {
        seq: 18446744073709551615n,
        gone: undefined,
        ok: false,
        rounds: 5,
        tiny: 1e-7,
        big: 1e21,
      }),
      '~ ERROR -- m -- big="1000000000000000000000" ok="false" rounds="5" seq="18446744073709551615" tiny="0.0000001"',
    );
  });

  it('sorts keys by code unit, as Go sorts bytes', () => {
    assert.equal(formatLlog('INFO', 'm', { b: 1, B: 2, a_b: 3, ab: 4 }), '~ INFO -- m -- B="2" a_b="3" ab="4" b="1"');
  });

  it('escapes quotes, backslashes and control characters so one event is one line', () => {
    const line = formatLlog('INFO', 'two\nlines', { path: 'C:\\x "y"', err: 'a\nb\r\tc\u0000\u2028' });
    assert.equal(line, '~ INFO -- two\\nlines -- err="a\\nb\\r\\tc\\u0000\\u2028" path="C:\\\\x \\"y\\""');
    assert.equal(line.split('\n').length, 1);
  });

  it('escapes the characters that show as nothing, so two names cannot look alike', () => {
    for (const invisible of ['\u200b', '\u200d', '\u2060', '\ufeff', '\u00ad'])
      assert.equal(
        formatLlog('INFO', 'm', { name: `web-1${invisible}` }),
        `~ INFO -- m -- name="web-1\\u${invisible.charCodeAt(0).toString(16).padStart(4, '0')}"`,
      );
  });

  it('escapes the bidirectional controls, so a name cannot reorder how the rest of its line reads', () => {
    const line = formatLlog('INFO', 'm', { name: 'web-1\u202e3-bew', offset: '-500' });
    assert.equal(line, '~ INFO -- m -- name="web-1\\u202e3-bew" offset="-500"');
    for (const ch of ['\u061c', '\u200e', '\u200f', '\u202a', '\u202d', '\u2066', '\u2069'])
      assert.ok(!formatLlog('INFO', 'm', { name: ch }).includes(ch), `U+${ch.charCodeAt(0).toString(16)}`);
  });

  it('keeps non-ASCII text readable', () => {
    assert.equal(formatLlog('INFO', 'm', { name: 'hôte-ü' }), '~ INFO -- m -- name="hôte-ü"');
  });

  it('property: any fields give one line whose quoted values read back', () => {
    const fieldsArb = fc.dictionary(
      fc.string({ minLength: 1, maxLength: 8, unit: 'grapheme-ascii' }).filter((k) => /^[a-z_]+$/.test(k)),
      fc.string({ unit: 'binary' }),
    );
    fc.assert(
      fc.property(fieldsArb, (fields) => {
        const line = formatLlog('INFO', 'm', fields);
        assert.ok(!/[\n\r\u2028\u2029]/.test(line));
        const parsed: Record<string, string> = {};
        // The quoting is JSON-compatible, so JSON.parse reads each value back exactly.
        for (const match of line.matchAll(/ ([a-z_]+)=("(?:[^"\\]|\\.)*")/g))
          parsed[match[1] as string] = JSON.parse(match[2] as string);
        assert.deepEqual(parsed, { ...fields });
        assert.deepEqual(Object.keys(parsed), Object.keys(fields).sort());
      }),
    );
  });
});

describe('nsToMillisText and plainDecimal', () => {
  it('prints milliseconds like Go prints a float64, without exponents', () => {
    assert.equal(nsToMillisText(-4984391.125), '-4.984391125');
    assert.equal(nsToMillisText(0), '0');
    assert.equal(nsToMillisText(-0), '0');
    assert.equal(nsToMillisText(1), '0.000001');
    assert.equal(nsToMillisText(0.5), '0.0000005');
    assert.equal(plainDecimal(1e-7), '0.0000001');
    // 0.1 / 1e6 is not 1e-7 in binary; Go prints the same artefact for the same float64.
    assert.equal(nsToMillisText(0.1), '0.00000010000000000000001');
    assert.equal(nsToMillisText(123_456_789), '123.456789');
    assert.equal(nsToMillisText(5_000_000_000), '5000');
    assert.equal(nsToMillisText(-250_000), '-0.25');
  });

  it('handles extremes', () => {
    assert.equal(plainDecimal(1e21), '1000000000000000000000');
    assert.equal(plainDecimal(1.5e-10), '0.00000000015');
    assert.equal(plainDecimal(Number.MIN_VALUE), `0.${'0'.repeat(323)}5`);
    assert.equal(plainDecimal(Number.NaN), 'NaN');
    assert.equal(plainDecimal(Infinity), '+Inf');
    assert.equal(plainDecimal(-Infinity), '-Inf');
  });

  it('property: shortest round-trip, never in exponent notation', () => {
    fc.assert(
      fc.property(fc.double({ noNaN: true, noDefaultInfinity: true }), (x) => {
        const text = plainDecimal(x);
        assert.ok(/^-?\d+(\.\d+)?$/.test(text), text);
        assert.equal(Number(text), x === 0 ? 0 : x);
        // Same significant digits as JS's own shortest form.
        const digits = (t: string): string =>
          t.replace(/e.*$/, '').replace(/[-.]/g, '').replace(/^0+/, '').replace(/0+$/, '');
        assert.equal(digits(text), digits(String(Math.abs(x))));
      }),
      { numRuns: 2000 },
    );
  });
});

describe('LlogWriter', () => {
  it('writes one line per call, newline-terminated, to the injected sink', () => {
    const written: string[] = [];
    const writer = new LlogWriter({ write: (s: string) => written.push(s) });
    writer.line('INFO', 'slave offset', { offset: nsToMillisText(1_500), rtt: nsToMillisText(200_000) });
    writer.line('WARN', 'master unreachable');
    assert.deepEqual(written, [
      '~ INFO -- slave offset -- offset="0.0015" rtt="0.2"\n',
      '~ WARN -- master unreachable\n',
    ]);
  });

  it('writes JSON lines in the json format: time (when given), level, msg, then the fields', () => {
    const written: string[] = [];
    const writer = new LlogWriter({ write: (s: string) => written.push(s) }, 'json');
    writer.line(
      'INFO',
      'slave offset',
      { offset: '0.0015', name: 'web-3', repeat: undefined },
      1_714_564_800_123_456_789n,
    );
    writer.line('WARN', 'master unreachable', { sequence: 7n });
    assert.deepEqual(written, [
      '{"time":"2024-05-01T12:00:00.123456789Z","level":"INFO","msg":"slave offset","offset":"0.0015","name":"web-3"}\n',
      '{"level":"WARN","msg":"master unreachable","sequence":"7"}\n',
    ]);
  });
});
