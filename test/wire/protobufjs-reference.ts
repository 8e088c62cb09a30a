/**
 * The reference for src/wire/codec.ts: protobufjs' reflection codec over proto/saturn.proto, with
 * the mapping between its objects and saturn's Message shapes that the codec used before it was
 * written by hand. Also an oracle for the two places where the hand-written decoder is stricter.
 */
import { fileURLToPath } from 'node:url';
import protobuf from 'protobufjs';
import type { Message } from '../../src/wire/messages.js';

const PROTO_PATH = fileURLToPath(new URL('../../../proto/saturn.proto', import.meta.url));
const root = protobuf.loadSync(PROTO_PATH);
export const PacketType = root.lookupType('saturn.v1.Packet');

type LongLike = { low: number; high: number; unsigned?: boolean };

function toBigint(value: LongLike | number | null | undefined): bigint {
  if (value === null || value === undefined) return 0n;
  if (typeof value === 'number') return BigInt(value);
  return (BigInt(value.high >>> 0) << 32n) | BigInt(value.low >>> 0);
}

function fromBigint(value: bigint): LongLike {
  const v = BigInt.asUintN(64, value);
  return { low: Number(v & 0xffffffffn) | 0, high: Number(v >> 32n) | 0, unsigned: true };
}

const EMPTY = new Uint8Array(0);

/** protobufjs' object for a message. */
export function toProto(message: Message): Record<string, any> {
  switch (message.kind) {
    case 'report':
      return {
        report: {
          session: fromBigint(message.session),
          leg: message.leg,
          nonce: message.nonce,
          echo: message.echo,
          nodeId: message.nodeId,
          receivedAt: fromBigint(message.receivedAt),
          sentAt: fromBigint(message.sentAt),
          clockSteps: message.clockSteps,
          cookie: message.cookie,
          intervalNs: message.intervalNs,
          peerResults: message.peerResults.map((p) => ({
            nodeId: p.peerId,
            offsetNs: p.offsetNs,
            errorNs: p.errorNs,
            rttNs: p.rttNs,
            ageNs: Math.max(0, Math.round(p.ageNs)),
          })),
        },
      };
    case 'response':
      return {
        response: {
          session: fromBigint(message.session),
          leg: message.leg,
          nonce: message.nonce,
          echo: message.echo,
          receivedAt: fromBigint(message.receivedAt),
          sentAt: fromBigint(message.sentAt),
          echoSentAt: fromBigint(message.echoSentAt),
        },
      };
    case 'result':
      return {
        result: {
          session: fromBigint(message.session),
          echo: message.echo,
          status: message.ok ? 0 : 1,
          offsetNs: message.offsetNs,
          errorNs: message.errorNs,
          rttNs: message.rttNs,
          samples: message.samples,
          reason: message.reason,
          cookie: message.cookie,
          responderId: message.responderId,
          peers: message.peers.map((p) => ({ nodeId: p.id, addr: p.addr })),
        },
      };
    case 'cookie':
      return { cookie: { session: fromBigint(message.session), echo: message.echo, cookie: message.cookie } };
  }
}

/** protobufjs' encoding, padded as the codec pads a Report (the rule as it was first written). */
export function referenceEncode(message: Message, minBytes = 0): Uint8Array {
  const body = toProto(message);
  let bytes = PacketType.encode(body).finish();
  if (message.kind !== 'report') return bytes;
  let padding = minBytes - bytes.length - 2;
  while (bytes.length < minBytes) {
    padding = Math.max(1, padding);
    body.report.padding = new Uint8Array(padding);
    bytes = PacketType.encode(body).finish();
    padding += minBytes - bytes.length;
  }
  return bytes;
}

/** protobufjs' decoding into a Message, or undefined when it throws or no member of `body` is set. */
export function referenceDecode(bytes: Uint8Array): Message | undefined {
  let packet: Record<string, any>;
  try {
    packet = PacketType.decode(bytes) as unknown as Record<string, any>;
  } catch {
    return undefined;
  }
  const r = packet.report;
  if (r) {
    return {
      kind: 'report',
      session: toBigint(r.session),
      leg: r.leg ?? 0,
      nonce: r.nonce ?? EMPTY,
      echo: r.echo ?? EMPTY,
      nodeId: r.nodeId ?? '',
      receivedAt: toBigint(r.receivedAt),
      sentAt: toBigint(r.sentAt),
      clockSteps: r.clockSteps ?? 0,
      cookie: r.cookie ?? EMPTY,
      intervalNs: Number(r.intervalNs ?? 0),
      peerResults: (r.peerResults ?? []).map((p: Record<string, any>) => ({
        peerId: p.nodeId ?? '',
        offsetNs: p.offsetNs ?? 0,
        errorNs: p.errorNs ?? 0,
        rttNs: p.rttNs ?? 0,
        ageNs: Number(p.ageNs ?? 0),
      })),
    };
  }
  const s = packet.response;
  if (s) {
    return {
      kind: 'response',
      session: toBigint(s.session),
      leg: s.leg ?? 0,
      nonce: s.nonce ?? EMPTY,
      echo: s.echo ?? EMPTY,
      receivedAt: toBigint(s.receivedAt),
      sentAt: toBigint(s.sentAt),
      echoSentAt: toBigint(s.echoSentAt),
    };
  }
  const x = packet.result;
  if (x) {
    return {
      kind: 'result',
      session: toBigint(x.session),
      echo: x.echo ?? EMPTY,
      ok: (x.status ?? 0) === 0,
      offsetNs: x.offsetNs ?? 0,
      errorNs: x.errorNs ?? 0,
      rttNs: x.rttNs ?? 0,
      samples: x.samples ?? 0,
      reason: x.reason ?? '',
      cookie: x.cookie ?? EMPTY,
      responderId: x.responderId ?? '',
      peers: (x.peers ?? []).map((p: Record<string, any>) => ({ id: p.nodeId ?? '', addr: p.addr ?? '' })),
    };
  }
  const c = packet.cookie;
  if (c) return { kind: 'cookie', session: toBigint(c.session), echo: c.echo ?? EMPTY, cookie: c.cookie ?? EMPTY };
  return undefined;
}

/** The wire type the schema gives a field. */
function wireTypeOf(field: protobuf.Field): number {
  field.resolve();
  if (field.resolvedType instanceof protobuf.Type) return 2;
  if (field.resolvedType instanceof protobuf.Enum) return 0;
  return (protobuf.types.basic as Record<string, number>)[field.type]!;
}

/**
 * Whether bytes that protobufjs decodes hold what the hand-written decoder refuses on purpose: a
 * known field with another wire type than its schema's, or an unknown varint longer than 10 bytes
 * (in a message protobufjs reads, or in a group inside one). Walks with protobufjs' own Reader.
 */
export function strictlyRefused(bytes: Uint8Array): boolean {
  const reader = protobuf.Reader.create(bytes);
  const longVarint = (): boolean => {
    let n = 0;
    do n++;
    while (reader.buf[reader.pos++]! & 0x80);
    return n > 10;
  };
  const group = (): boolean => {
    for (;;) {
      const tag = reader.tag();
      if ((tag & 7) === 4) return false;
      if ((tag & 7) === 0 ? longVarint() : (tag & 7) === 3 ? group() : (reader.skipType(tag & 7), false)) return true;
    }
  };
  const walk = (end: number, type: protobuf.Type): boolean => {
    while (reader.pos < end) {
      const tag = reader.tag();
      const wireType = tag & 7;
      const field = type.fieldsById[tag >>> 3];
      if (field) {
        if (wireType !== wireTypeOf(field)) return true;
        if (field.resolvedType instanceof protobuf.Type) {
          const stop = reader.uint32() + reader.pos;
          if (walk(stop, field.resolvedType)) return true;
          reader.pos = stop;
        } else reader.skipType(wireType);
      } else if (wireType === 0 ? longVarint() : wireType === 3 ? group() : (reader.skipType(wireType), false))
        return true;
    }
    return false;
  };
  try {
    return walk(bytes.length, PacketType);
  } catch {
    return false;
  }
}
