/**
 * A simulated slave of the original Go saturn (github.com/levenlabs/saturn), for `bench:scale
 * --go-master`: its wire format and its exchange, written from its source (proto/tx.proto,
 * proto/tx_extra.go, transaction/ and main.go there), not copied from it.
 *
 * The slave starts each check; every message is one UDP datagram holding a TxMsg (proto3):
 *
 *   slave  → master  seq 1           InitialReport{time: slave now (ns), name}
 *   master → slave   seq 2           Report{diff: slave time − master now, time: master now}
 *   slave  → master  seq 3           Report{diff: master time − slave now, time: slave now}
 *   …                                (the master counts one trip per Report it receives)
 *   master → slave   seq 2·rounds+2  Fin{offset (ms, float64), error}, once it has `rounds` trips
 *
 * so a check is rounds + 1 round trips, as a check of saturn's own master is. The master drops the
 * transaction after its Fin; the slave answers nothing to the Fin. Every message carries
 * sig = HMAC-SHA256(key, the decimal or text forms of id, seq and the inner message's fields, each
 * as Go's fmt.Fprint writes it: InitialReport time then name; Report diff then time; Fin offset
 * alone, a float64 in Go's %v form). The simulated slave checks the signature, the id and the
 * sequence number of every answer and counts what it rejects: a simulator that stopped verifying,
 * or a master that stopped answering correctly, shows up as rejects and lost checks, not as speed.
 */
import { createHmac, randomBytes, timingSafeEqual } from 'node:crypto';
import protobuf from 'protobufjs';

const { Reader, Writer } = protobuf;

/** Wire types of the protobuf encoding. */
const VARINT = 0;
const FIXED64 = 1;
const BYTES = 2;

/** The one inner message a TxMsg carries (its `inner` oneof). */
export type TxInner =
  | { kind: 'initialReport'; time: bigint; name: string }
  | { kind: 'report'; diff: bigint; time: bigint }
  | { kind: 'fin'; offset: number; error: string };

/** The original's TxMsg: a transaction id, its signature, a sequence number and one inner message. */
export interface TxMsg {
  id: string;
  sig: Uint8Array;
  seq: number;
  inner: TxInner;
}

/** What the simulated slaves saw, over all their checks (warm-up included). */
export interface GoSlaveStats {
  /** Checks that ended with a verified Fin. */
  fins: number;
  /** Verified Fins whose error field was set (the master could not compute an offset). */
  finErrors: number;
  /** Answers dropped: undecodable, wrong id or sequence number, or a signature that did not verify. */
  rejected: number;
}

/** One simulated slave, the shape master-scale.ts drives: a check's first datagram, then one per answer. */
export interface GoSlaveDriver {
  begin(): Uint8Array;
  /** The next datagram, 'done' after a verified Fin, or undefined when the answer is rejected. */
  next(reply: Uint8Array): Uint8Array | 'done' | undefined;
}

/**
 * Go's fmt %v form of a float64: the shortest decimal that reads back to the same value, in
 * exponent form ("1.5e-05", "1e+06") when the decimal exponent is below -4 or at least 6 (Go's
 * strconv 'g' with the shortest precision), fixed form otherwise; "NaN", "+Inf", "-Inf", "-0".
 */
export function goFloat(value: number): string {
  if (Number.isNaN(value)) return 'NaN';
  if (value === Infinity) return '+Inf';
  if (value === -Infinity) return '-Inf';
  if (value === 0) return Object.is(value, -0) ? '-0' : '0';
  // toExponential() without digits gives the shortest round-tripping digits, as Go's shortest form does.
  const [mantissa, exponentText] = value.toExponential().split('e') as [string, string];
  const exponent = Number(exponentText);
  if (exponent < -4 || exponent >= 6) {
    const magnitude = String(Math.abs(exponent)).padStart(2, '0');
    return `${mantissa}e${exponent < 0 ? '-' : '+'}${magnitude}`;
  }
  // JavaScript prints the fixed form, with the same shortest digits, for exponents in [-7, 21).
  return String(value);
}

/** The signature the original computes over a message (its sig field aside). */
export function signTx(key: Uint8Array, message: Omit<TxMsg, 'sig'>): Uint8Array {
  const mac = createHmac('sha256', key);
  mac.update(message.id);
  mac.update(String(message.seq));
  const inner = message.inner;
  switch (inner.kind) {
    case 'initialReport':
      mac.update(String(inner.time));
      mac.update(inner.name);
      break;
    case 'report':
      mac.update(String(inner.diff));
      mac.update(String(inner.time));
      break;
    case 'fin':
      mac.update(goFloat(inner.offset));
      break;
  }
  return mac.digest();
}

/** protobufjs takes no bigint for an int64: its decimal text, which it reads exactly through long.js. */
function int64Text(value: bigint): string {
  return value.toString();
}

/** A TxMsg as the original's marshaller writes it (proto3: zero scalars left out). */
export function encodeTx(message: TxMsg): Uint8Array {
  const w = Writer.create();
  if (message.id !== '') w.uint32((1 << 3) | BYTES).string(message.id);
  if (message.sig.length > 0) w.uint32((2 << 3) | BYTES).bytes(message.sig);
  if (message.seq !== 0) w.uint32((3 << 3) | VARINT).int32(message.seq);
  const inner = message.inner;
  switch (inner.kind) {
    case 'initialReport':
      w.uint32((4 << 3) | BYTES).fork();
      if (inner.time !== 0n) w.uint32((1 << 3) | VARINT).int64(int64Text(inner.time));
      if (inner.name !== '') w.uint32((2 << 3) | BYTES).string(inner.name);
      break;
    case 'report':
      w.uint32((5 << 3) | BYTES).fork();
      if (inner.diff !== 0n) w.uint32((1 << 3) | VARINT).int64(int64Text(inner.diff));
      if (inner.time !== 0n) w.uint32((2 << 3) | VARINT).int64(int64Text(inner.time));
      break;
    case 'fin':
      w.uint32((6 << 3) | BYTES).fork();
      if (inner.offset !== 0) w.uint32((1 << 3) | FIXED64).double(inner.offset);
      if (inner.error !== '') w.uint32((2 << 3) | BYTES).string(inner.error);
      break;
  }
  w.ldelim();
  return w.finish();
}

/** Reads an int64 varint as a bigint (protobufjs returns a Long here, or a number without long.js). */
function readInt64(r: protobuf.Reader): bigint {
  const value = r.int64() as unknown;
  return typeof value === 'number' ? BigInt(value) : BigInt(String(value));
}

/** Reads the fields of one embedded message, calling `field` for each; unknown fields are skipped by it. */
function readFields(r: protobuf.Reader, end: number, field: (fieldNumber: number, wireType: number) => void): void {
  while (r.pos < end) {
    const tag = r.uint32();
    field(tag >>> 3, tag & 7);
  }
  if (r.pos !== end) throw new RangeError(`field runs past its message end: ${r.pos} > ${end}`);
}

/** Checks a field's wire type; the original's fields each have one. */
function expectWire(wireType: number, expected: number, field: string): void {
  if (wireType !== expected) throw new RangeError(`${field} has wire type ${wireType}, not ${expected}`);
}

/** Decodes a TxMsg; undefined when the bytes are not one (truncated, wrong wire types, no inner message). */
export function decodeTx(bytes: Uint8Array): TxMsg | undefined {
  try {
    const r = Reader.create(bytes);
    const message: Partial<TxMsg> = { id: '', sig: new Uint8Array(0), seq: 0 };
    readFields(r, bytes.length, (fieldNumber, wireType) => {
      switch (fieldNumber) {
        case 1:
          expectWire(wireType, BYTES, 'id');
          message.id = r.string();
          break;
        case 2:
          expectWire(wireType, BYTES, 'sig');
          message.sig = r.bytes();
          break;
        case 3:
          expectWire(wireType, VARINT, 'seq');
          message.seq = r.int32();
          break;
        case 4: {
          expectWire(wireType, BYTES, 'initialReport');
          const inner = { kind: 'initialReport' as const, time: 0n, name: '' };
          const end = r.uint32() + r.pos;
          readFields(r, end, (n, w) => {
            if (n === 1) (expectWire(w, VARINT, 'time'), (inner.time = readInt64(r)));
            else if (n === 2) (expectWire(w, BYTES, 'name'), (inner.name = r.string()));
            else r.skipType(w);
          });
          message.inner = inner;
          break;
        }
        case 5: {
          expectWire(wireType, BYTES, 'report');
          const inner = { kind: 'report' as const, diff: 0n, time: 0n };
          const end = r.uint32() + r.pos;
          readFields(r, end, (n, w) => {
            if (n === 1) (expectWire(w, VARINT, 'diff'), (inner.diff = readInt64(r)));
            else if (n === 2) (expectWire(w, VARINT, 'time'), (inner.time = readInt64(r)));
            else r.skipType(w);
          });
          message.inner = inner;
          break;
        }
        case 6: {
          expectWire(wireType, BYTES, 'fin');
          const inner = { kind: 'fin' as const, offset: 0, error: '' };
          const end = r.uint32() + r.pos;
          readFields(r, end, (n, w) => {
            if (n === 1) (expectWire(w, FIXED64, 'offset'), (inner.offset = r.double()));
            else if (n === 2) (expectWire(w, BYTES, 'error'), (inner.error = r.string()));
            else r.skipType(w);
          });
          message.inner = inner;
          break;
        }
        default:
          r.skipType(wireType);
      }
    });
    return message.inner === undefined ? undefined : (message as TxMsg);
  } catch {
    return undefined;
  }
}

/** Signs and encodes a message. */
function sealed(key: Uint8Array, message: Omit<TxMsg, 'sig'>): Uint8Array {
  return encodeTx({ ...message, sig: signTx(key, message) });
}

/** Whether a received signature is the one computed (the original compares with hmac.Equal). */
function sameSignature(received: Uint8Array, computed: Uint8Array): boolean {
  return received.length === computed.length && timingSafeEqual(received, computed);
}

/**
 * One simulated slave of the original: each check a fresh transaction id (`idPrefix`_16 hex digits,
 * as the original's slave makes from its local address), the slave's clock read through `now`
 * (wall ns) when each datagram is built, as the original's slave does.
 */
export function goSlaveDriver(options: {
  key: Uint8Array;
  name: string;
  idPrefix: string;
  now: () => bigint;
  stats: GoSlaveStats;
}): GoSlaveDriver {
  const { key, name, idPrefix, now, stats } = options;
  let id = '';
  let expectedSeq = 0;
  return {
    begin: () => {
      id = `${idPrefix}_${randomBytes(8).toString('hex')}`;
      expectedSeq = 2;
      return sealed(key, { id, seq: 1, inner: { kind: 'initialReport', time: now(), name } });
    },
    next: (reply) => {
      const message = decodeTx(reply);
      if (
        message === undefined ||
        message.id !== id ||
        message.seq !== expectedSeq ||
        message.inner.kind === 'initialReport' ||
        !sameSignature(message.sig, signTx(key, message))
      ) {
        stats.rejected++;
        return undefined;
      }
      if (message.inner.kind === 'fin') {
        stats.fins++;
        if (message.inner.error !== '') stats.finErrors++;
        id = '';
        return 'done';
      }
      const at = now();
      expectedSeq = message.seq + 2;
      return sealed(key, {
        id,
        seq: message.seq + 1,
        inner: { kind: 'report', diff: message.inner.time - at, time: at },
      });
    },
  };
}
