import type { Cookie, Message, PeerAddress, PeerResult, Report, Response, Result } from './messages.js';
import { smallBytes } from './small-bytes.js';

/*
 * The Packet codec, written by hand for proto/saturn.proto (the schema; protobufjs' reflection
 * codec over it is the reference the tests hold this to, byte for byte on encode and value for
 * value on decode: test/wire/codec.test.ts). It reads straight into saturn's Message shapes and
 * writes straight from them: no intermediate objects, no Long, one bigint per fixed64 field.
 *
 * Encoding is what protobufjs writes: fields in schema order, proto3 default values (0, empty,
 * false, +0.0) left out, strings as protobufjs' UTF-8 writer encodes them.
 *
 * Decoding accepts what proto3 allows: fields in any order and repeated, the last value of a
 * scalar winning, repeated fields appended, an embedded message given twice merged, the last
 * member of the `body` oneof chosen (another member in between clears the earlier one), and
 * unknown fields of every wire type skipped (groups too, nested up to protobufjs' depth limit).
 * It returns undefined, never throws, on: a truncated varint, length or fixed field; a varint
 * longer than 10 bytes (a tag longer than 5, a length of 2^31 or more); a length past the end of
 * its message; field number 0; wire types 6 and 7, an end-group without its start (or with
 * another field number); a string that is not valid UTF-8 (as protobufjs' verifying reader). It
 * is stricter than protobufjs in two documented ways: a known field with another wire type than
 * its schema's is malformed (protobufjs skips it as unknown), and so is an unknown varint field
 * longer than 10 bytes (protobufjs skips any length).
 */

const EMPTY = new Uint8Array(0);
const NO_PEER_RESULTS: readonly PeerResult[] = Object.freeze([]);
const NO_PEERS: readonly PeerAddress[] = Object.freeze([]);

/** Wire types (the low 3 bits of a tag). */
const VARINT = 0;
const I64 = 1;
const LEN = 2;
const SGROUP = 3;
const EGROUP = 4;
const I32 = 5;

/** How deep groups may nest in an unknown field (protobufjs' util.recursionLimit). */
const MAX_DEPTH = 100;

/** Thrown inside the decoder on malformed input (a preallocated value: no stack is captured). */
const MALFORMED = Symbol('malformed');

/** 8 bytes to turn fixed64 and double fields into values and back. */
const scratch = new Uint8Array(8);
const scratchView = new DataView(scratch.buffer);
const utf8Decoder = new TextDecoder('utf-8', { fatal: true, ignoreBOM: true });

// The decoder's input and position, for the duration of one decodeMessage call.
let buf: Uint8Array = EMPTY;
let pos = 0;

/** The fifth byte of the varint readVarintHead last read, or -1 when the varint ended before it. */
let fifth = -1;

/**
 * The first (at most 5) bytes of a varint ending before `end`: its low 32 bits, unsigned. When
 * the varint goes on past 4 bytes, `fifth` is its fifth byte (whose low 4 bits are in the value).
 */
function readVarintHead(end: number): number {
  let value = 0;
  for (let shift = 0; shift < 28; shift += 7) {
    if (pos >= end) throw MALFORMED;
    const b = buf[pos++]!;
    value |= (b & 0x7f) << shift;
    if (b < 0x80) {
      fifth = -1;
      return value >>> 0;
    }
  }
  if (pos >= end) throw MALFORMED;
  fifth = buf[pos++]!;
  return (value | ((fifth & 0x0f) << 28)) >>> 0;
}

/** A varint of at most 10 bytes: its low 32 bits, unsigned (protobufjs' Reader.uint32). */
function readVarint32(end: number): number {
  const value = readVarintHead(end);
  if (fifth >= 0x80) skipVarintTail(end, 5);
  return value;
}

/** The rest of a varint whose first `read` bytes all had their continuation bit; 10 bytes at most. */
function skipVarintTail(end: number, read: number): void {
  for (let i = read; i < 10; i++) {
    if (pos >= end) throw MALFORMED;
    if (buf[pos++]! < 0x80) return;
  }
  throw MALFORMED;
}

/** A varint of at most 10 bytes as an unsigned 64-bit number (rounded above 2^53, as Long.toNumber). */
function readVarint64(end: number): number {
  const lo = readVarintHead(end);
  if (fifth < 0) return lo;
  let b = fifth;
  let hi = (b & 0x7f) >> 4;
  for (let shift = 3; b >= 0x80; shift += 7) {
    if (shift > 31 || pos >= end) throw MALFORMED;
    b = buf[pos++]!;
    hi |= (b & 0x7f) << shift;
  }
  return (hi >>> 0) * 4294967296 + lo;
}

/** A tag: a varint of at most 5 bytes below 2^32 (protobufjs' Reader.tag). */
function readTag(end: number): number {
  const value = readVarintHead(end);
  if (fifth > 0x0f) throw MALFORMED;
  return value;
}

/** A length: a varint of at most 5 bytes below 2^31, whose bytes lie before `end`; returns where they end. */
function readLengthEnd(end: number): number {
  const length = readVarintHead(end);
  if (fifth > 7) throw MALFORMED;
  if (length > end - pos) throw MALFORMED;
  return pos + length;
}

function readFixed64(end: number): bigint {
  if (end - pos < 8) throw MALFORMED;
  for (let i = 0; i < 8; i++) scratch[i] = buf[pos + i]!;
  pos += 8;
  return scratchView.getBigUint64(0, true);
}

function readDouble(end: number): number {
  if (end - pos < 8) throw MALFORMED;
  for (let i = 0; i < 8; i++) scratch[i] = buf[pos + i]!;
  pos += 8;
  return scratchView.getFloat64(0, true);
}

function readBytes(end: number): Uint8Array {
  const stop = readLengthEnd(end);
  const start = pos;
  pos = stop;
  return stop === start ? EMPTY : buf.subarray(start, stop);
}

/** A string field: ASCII read directly, anything else through a fatal UTF-8 decoder (BOM kept). */
function readString(end: number): string {
  const stop = readLengthEnd(end);
  const start = pos;
  pos = stop;
  let text = '';
  for (let i = start; i < stop; i++) {
    const c = buf[i]!;
    if (c >= 0x80) {
      try {
        return text + utf8Decoder.decode(buf.subarray(i, stop));
      } catch {
        throw MALFORMED;
      }
    }
    text += String.fromCharCode(c);
  }
  return text;
}

/** Skips one unknown field's value of wire type `wireType` (field `field`, groups nested `depth` deep). */
function skipField(wireType: number, field: number, depth: number, end: number): void {
  if (depth > MAX_DEPTH) throw MALFORMED;
  switch (wireType) {
    case VARINT:
      skipVarintTail(end, 0);
      return;
    case I64:
      if (end - pos < 8) throw MALFORMED;
      pos += 8;
      return;
    case LEN:
      pos = readLengthEnd(end);
      return;
    case SGROUP:
      for (;;) {
        const tag = readTag(end);
        const inner = tag >>> 3;
        if (inner === 0) throw MALFORMED;
        if ((tag & 7) === EGROUP) {
          if (inner !== field) throw MALFORMED;
          return;
        }
        skipField(tag & 7, inner, depth + 1, end);
      }
    case I32:
      if (end - pos < 4) throw MALFORMED;
      pos += 4;
      return;
    default:
      throw MALFORMED;
  }
}

/**
 * The number of the next known field of a message ending at `end`, its wire type checked, with
 * `pos` at its value; unknown fields before it are skipped. 0 at the end of the message.
 * `wireTypes[n]` is field n's wire type (UNKNOWN: no such field).
 */
function nextField(end: number, depth: number, wireTypes: readonly number[]): number {
  while (pos < end) {
    const tag = readTag(end);
    const n = tag >>> 3;
    const wireType = tag & 7;
    if (n === 0) throw MALFORMED;
    const expected = n < wireTypes.length ? wireTypes[n]! : UNKNOWN;
    if (expected === UNKNOWN) skipField(wireType, n, depth, end);
    else if (wireType !== expected) throw MALFORMED;
    else return n;
  }
  return 0;
}

const UNKNOWN = -1;
/** Wire types of each message's fields by field number (UNKNOWN: no such field). */
const REPORT_FIELDS = [
  UNKNOWN,
  I64,
  VARINT,
  LEN,
  LEN,
  LEN,
  I64,
  I64,
  VARINT,
  VARINT,
  LEN,
  LEN,
  UNKNOWN,
  UNKNOWN,
  UNKNOWN,
  LEN,
];
const RESPONSE_FIELDS = [UNKNOWN, I64, VARINT, LEN, LEN, I64, I64, I64];
const RESULT_FIELDS = [UNKNOWN, I64, LEN, VARINT, I64, I64, I64, VARINT, LEN, LEN, LEN, LEN];
const COOKIE_FIELDS = [UNKNOWN, I64, LEN, LEN];
const PEER_RESULT_FIELDS = [UNKNOWN, LEN, I64, I64, I64, VARINT];
const PEER_FIELDS = [UNKNOWN, LEN, LEN];
const PACKET_FIELDS = [UNKNOWN, LEN, LEN, LEN, LEN];

function newReport(): Report {
  return {
    kind: 'report',
    session: 0n,
    leg: 0,
    nonce: EMPTY,
    echo: EMPTY,
    nodeId: '',
    receivedAt: 0n,
    sentAt: 0n,
    clockSteps: 0,
    cookie: EMPTY,
    intervalNs: 0,
    peerResults: NO_PEER_RESULTS,
  };
}

function newResponse(): Response {
  return {
    kind: 'response',
    session: 0n,
    leg: 0,
    nonce: EMPTY,
    echo: EMPTY,
    receivedAt: 0n,
    sentAt: 0n,
    echoSentAt: 0n,
  };
}

function newResult(): Result {
  return {
    kind: 'result',
    session: 0n,
    echo: EMPTY,
    ok: true,
    offsetNs: 0,
    errorNs: 0,
    rttNs: 0,
    samples: 0,
    reason: '',
    cookie: EMPTY,
    responderId: '',
    peers: NO_PEERS,
  };
}

function newCookie(): Cookie {
  return { kind: 'cookie', session: 0n, echo: EMPTY, cookie: EMPTY };
}

function readReport(m: Report, end: number): void {
  for (let n; (n = nextField(end, 1, REPORT_FIELDS)) !== 0;) {
    switch (n) {
      case 1:
        m.session = readFixed64(end);
        break;
      case 2:
        m.leg = readVarint32(end);
        break;
      case 3:
        m.nonce = readBytes(end);
        break;
      case 4:
        m.echo = readBytes(end);
        break;
      case 5:
        m.nodeId = readString(end);
        break;
      case 6:
        m.receivedAt = readFixed64(end);
        break;
      case 7:
        m.sentAt = readFixed64(end);
        break;
      case 8:
        m.clockSteps = readVarint32(end);
        break;
      case 9:
        m.intervalNs = readVarint64(end);
        break;
      case 10:
        m.cookie = readBytes(end);
        break;
      case 11: {
        const stop = readLengthEnd(end);
        const peer: PeerResult = { peerId: '', offsetNs: 0, errorNs: 0, rttNs: 0, ageNs: 0 };
        readPeerResult(peer, stop);
        if (m.peerResults === NO_PEER_RESULTS) m.peerResults = [peer];
        else (m.peerResults as PeerResult[]).push(peer);
        break;
      }
      case 15:
        readBytes(end);
        break;
    }
  }
}

function readPeerResult(p: PeerResult, end: number): void {
  for (let n; (n = nextField(end, 2, PEER_RESULT_FIELDS)) !== 0;) {
    if (n === 1) p.peerId = readString(end);
    else if (n === 2) p.offsetNs = readDouble(end);
    else if (n === 3) p.errorNs = readDouble(end);
    else if (n === 4) p.rttNs = readDouble(end);
    else p.ageNs = readVarint64(end);
  }
}

function readResponse(m: Response, end: number): void {
  for (let n; (n = nextField(end, 1, RESPONSE_FIELDS)) !== 0;) {
    if (n === 2) m.leg = readVarint32(end);
    else if (n === 3) m.nonce = readBytes(end);
    else if (n === 4) m.echo = readBytes(end);
    else {
      const value = readFixed64(end);
      if (n === 1) m.session = value;
      else if (n === 5) m.receivedAt = value;
      else if (n === 6) m.sentAt = value;
      else m.echoSentAt = value;
    }
  }
}

function readResult(m: Result, end: number): void {
  for (let n; (n = nextField(end, 1, RESULT_FIELDS)) !== 0;) {
    switch (n) {
      case 1:
        m.session = readFixed64(end);
        break;
      case 2:
        m.echo = readBytes(end);
        break;
      case 3:
        // An enum is an int32: any value but OK (0) is not OK.
        m.ok = readVarint32(end) === 0;
        break;
      case 4:
        m.offsetNs = readDouble(end);
        break;
      case 5:
        m.errorNs = readDouble(end);
        break;
      case 6:
        m.rttNs = readDouble(end);
        break;
      case 7:
        m.samples = readVarint32(end);
        break;
      case 8:
        m.reason = readString(end);
        break;
      case 9:
        m.cookie = readBytes(end);
        break;
      case 10:
        m.responderId = readString(end);
        break;
      case 11: {
        const stop = readLengthEnd(end);
        const peer: PeerAddress = { id: '', addr: '' };
        for (let f; (f = nextField(stop, 2, PEER_FIELDS)) !== 0;) {
          if (f === 1) peer.id = readString(stop);
          else peer.addr = readString(stop);
        }
        if (m.peers === NO_PEERS) m.peers = [peer];
        else (m.peers as PeerAddress[]).push(peer);
        break;
      }
    }
  }
}

function readCookie(m: Cookie, end: number): void {
  for (let n; (n = nextField(end, 1, COOKIE_FIELDS)) !== 0;) {
    if (n === 1) m.session = readFixed64(end);
    else if (n === 2) m.echo = readBytes(end);
    else m.cookie = readBytes(end);
  }
}

/**
 * Decodes Packet bytes. Returns undefined for anything that is not exactly one known message
 * (malformed as above, or no member of `body`): the caller counts it as a decode drop.
 */
export function decodeMessage(bytes: Uint8Array): Message | undefined {
  buf = bytes;
  pos = 0;
  const end = bytes.length;
  // The last member of the oneof wins; a member given again in a row is merged into the same message.
  let body: Message | undefined;
  try {
    for (let n; (n = nextField(end, 0, PACKET_FIELDS)) !== 0;) {
      const stop = readLengthEnd(end);
      if (n === 1) readReport((body = body?.kind === 'report' ? body : newReport()), stop);
      else if (n === 2) readResponse((body = body?.kind === 'response' ? body : newResponse()), stop);
      else if (n === 3) readResult((body = body?.kind === 'result' ? body : newResult()), stop);
      else readCookie((body = body?.kind === 'cookie' ? body : newCookie()), stop);
    }
  } catch (error) {
    if (error === MALFORMED) return undefined;
    throw error;
  } finally {
    buf = EMPTY;
  }
  return body;
}

// The encoder's output (grown on demand, reused: a call returns a copy of its part) and position.
let out = Buffer.alloc(1024);
let at = 0;

/** Makes room for `bytes` more bytes at `at`. */
function ensure(bytes: number): void {
  if (at + bytes <= out.length) return;
  const grown = Buffer.alloc(Math.max(2 * out.length, at + bytes));
  out.copy(grown, 0, 0, at);
  out = grown;
}

function writeVarint32(value: number): void {
  value >>>= 0;
  while (value >= 0x80) {
    out[at++] = (value & 0x7f) | 0x80;
    value >>>= 7;
  }
  out[at++] = value;
}

function varint32Bytes(value: number): number {
  value >>>= 0;
  return value < 1 << 7 ? 1 : value < 1 << 14 ? 2 : value < 1 << 21 ? 3 : value < 1 << 28 ? 4 : 5;
}

/** An unsigned 64-bit varint from a number, as protobufjs' LongBits.fromNumber takes it (negatives wrap). */
function writeVarint64(value: number): void {
  const negative = value < 0;
  if (negative) value = -value;
  let lo = value >>> 0;
  let hi = ((value - lo) / 4294967296) >>> 0;
  if (negative) {
    hi = ~hi >>> 0;
    lo = ~lo >>> 0;
    if (++lo > 0xffffffff) {
      lo = 0;
      if (++hi > 0xffffffff) hi = 0;
    }
  }
  while (hi > 0) {
    out[at++] = (lo & 0x7f) | 0x80;
    lo = ((lo >>> 7) | (hi << 25)) >>> 0;
    hi >>>= 7;
  }
  writeVarint32(lo);
}

/** A field's tag (field numbers here are below 16: one byte). */
function writeTag(field: number, wireType: number): void {
  out[at++] = (field << 3) | wireType;
}

function writeFixed64(field: number, value: bigint): void {
  const bits = BigInt.asUintN(64, value);
  if (bits === 0n) return;
  writeTag(field, I64);
  scratchView.setBigUint64(0, bits, true);
  out.set(scratch, at);
  at += 8;
}

function writeDouble(field: number, value: number): void {
  if (Object.is(value, 0)) return;
  writeTag(field, I64);
  scratchView.setFloat64(0, value, true);
  out.set(scratch, at);
  at += 8;
}

function writeUint32(field: number, value: number): void {
  if (value === 0) return;
  writeTag(field, VARINT);
  writeVarint32(value);
}

function writeUint64(field: number, value: number): void {
  if (value === 0) return;
  writeTag(field, VARINT);
  writeVarint64(value);
}

function writeBytes(field: number, value: Uint8Array): void {
  if (value.length === 0) return;
  writeTag(field, LEN);
  writeVarint32(value.length);
  out.set(value, at);
  at += value.length;
}

/** A string as protobufjs writes it: UTF-16 code units to UTF-8, a lone surrogate as its own 3 bytes. */
function writeString(field: number, value: string): void {
  if (value === '') return;
  writeTag(field, LEN);
  const mark = beginLength();
  for (let i = 0; i < value.length; i++) {
    let c = value.charCodeAt(i);
    if (c < 0x80) out[at++] = c;
    else if (c < 0x800) {
      out[at++] = (c >> 6) | 0xc0;
      out[at++] = (c & 0x3f) | 0x80;
    } else {
      const next = value.charCodeAt(i + 1);
      if ((c & 0xfc00) === 0xd800 && (next & 0xfc00) === 0xdc00) {
        c = 0x10000 + ((c & 0x3ff) << 10) + (next & 0x3ff);
        i++;
        out[at++] = (c >> 18) | 0xf0;
        out[at++] = ((c >> 12) & 0x3f) | 0x80;
      } else out[at++] = (c >> 12) | 0xe0;
      out[at++] = ((c >> 6) & 0x3f) | 0x80;
      out[at++] = (c & 0x3f) | 0x80;
    }
  }
  endLength(mark);
}

/** Reserves one byte for a length prefix; returns where it is. */
function beginLength(): number {
  return at++;
}

/** Writes the length of what follows `mark`, moving it on when the length takes more than a byte. */
function endLength(mark: number): void {
  const length = at - mark - 1;
  const bytes = varint32Bytes(length);
  if (bytes > 1) out.copyWithin(mark + bytes, mark + 1, at);
  at = mark;
  writeVarint32(length);
  at += length;
}

/** An upper bound of a message's encoded bytes (before padding), for `ensure`. */
function boundOf(message: Message): number {
  // Tags, lengths and fixed fields fit in 128 bytes per message and per repeated entry; a UTF-16
  // code unit takes at most 3 UTF-8 bytes.
  let bytes = 128 + 3 * stringsOf(message);
  switch (message.kind) {
    case 'report':
      bytes += message.nonce.length + message.echo.length + message.cookie.length;
      for (const p of message.peerResults) bytes += 128 + 3 * p.peerId.length;
      break;
    case 'response':
      bytes += message.nonce.length + message.echo.length;
      break;
    case 'result':
      bytes += message.echo.length + message.cookie.length;
      for (const p of message.peers) bytes += 128 + 3 * (p.id.length + p.addr.length);
      break;
    case 'cookie':
      bytes += message.echo.length + message.cookie.length;
      break;
  }
  return bytes;
}

function stringsOf(message: Message): number {
  if (message.kind === 'report') return message.nodeId.length;
  if (message.kind === 'result') return message.reason.length + message.responderId.length;
  return 0;
}

/**
 * Encodes one message as Packet bytes (without the envelope). A Report is padded (its `padding`
 * field, zeros) so that the Packet is at least `minBytes` long (at most 2 bytes over). The bytes
 * are a view of a shared slab (src/wire/small-bytes.ts), for the envelope to copy at once: a copy
 * is what to keep for long.
 */
export function encodeMessage(message: Message, minBytes = 0): Uint8Array {
  at = 0;
  ensure(boundOf(message) + Math.max(0, minBytes));
  switch (message.kind) {
    case 'report': {
      writeTag(1, LEN);
      const mark = beginLength();
      writeFixed64(1, message.session);
      writeUint32(2, message.leg);
      writeBytes(3, message.nonce);
      writeBytes(4, message.echo);
      writeString(5, message.nodeId);
      writeFixed64(6, message.receivedAt);
      writeFixed64(7, message.sentAt);
      writeUint32(8, message.clockSteps);
      writeUint64(9, message.intervalNs);
      writeBytes(10, message.cookie);
      for (const p of message.peerResults) {
        writeTag(11, LEN);
        const peer = beginLength();
        writeString(1, p.peerId);
        writeDouble(2, p.offsetNs);
        writeDouble(3, p.errorNs);
        writeDouble(4, p.rttNs);
        writeUint64(5, Math.max(0, Math.round(p.ageNs)));
        endLength(peer);
      }
      const padding = paddingFor(at - mark - 1, minBytes);
      if (padding > 0) {
        writeTag(15, LEN);
        writeVarint32(padding);
        out.fill(0, at, at + padding);
        at += padding;
      }
      endLength(mark);
      break;
    }
    case 'response': {
      writeTag(2, LEN);
      const mark = beginLength();
      writeFixed64(1, message.session);
      writeUint32(2, message.leg);
      writeBytes(3, message.nonce);
      writeBytes(4, message.echo);
      writeFixed64(5, message.receivedAt);
      writeFixed64(6, message.sentAt);
      writeFixed64(7, message.echoSentAt);
      endLength(mark);
      break;
    }
    case 'result': {
      writeTag(3, LEN);
      const mark = beginLength();
      writeFixed64(1, message.session);
      writeBytes(2, message.echo);
      writeUint32(3, message.ok ? 0 : 1);
      writeDouble(4, message.offsetNs);
      writeDouble(5, message.errorNs);
      writeDouble(6, message.rttNs);
      writeUint32(7, message.samples);
      writeString(8, message.reason);
      writeBytes(9, message.cookie);
      writeString(10, message.responderId);
      for (const p of message.peers) {
        writeTag(11, LEN);
        const peer = beginLength();
        writeString(1, p.id);
        writeString(2, p.addr);
        endLength(peer);
      }
      endLength(mark);
      break;
    }
    case 'cookie': {
      writeTag(4, LEN);
      const mark = beginLength();
      writeFixed64(1, message.session);
      writeBytes(2, message.echo);
      writeBytes(3, message.cookie);
      endLength(mark);
      break;
    }
  }
  const packet = smallBytes(at);
  packet.set(out.subarray(0, at));
  return packet;
}

/** The Packet's bytes when a Report's body of `body` bytes gains `padding` bytes of padding (0: none). */
function packetBytes(body: number, padding: number): number {
  const padded = padding > 0 ? body + 1 + varint32Bytes(padding) + padding : body;
  return 1 + varint32Bytes(padded) + padded;
}

/**
 * The padding a Report's body of `body` bytes needs for a Packet of at least `minBytes` (0: none).
 * The field costs a tag and a length besides its bytes: start from a guess and grow it until the
 * Packet is long enough (at most twice more, when a length prefix gains a byte).
 */
function paddingFor(body: number, minBytes: number): number {
  let bytes = packetBytes(body, 0);
  let padding = minBytes - bytes - 2;
  let chosen = 0;
  while (bytes < minBytes) {
    padding = Math.max(1, padding);
    chosen = padding;
    bytes = packetBytes(body, padding);
    padding += minBytes - bytes;
  }
  return chosen;
}
