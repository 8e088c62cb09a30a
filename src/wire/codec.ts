import { fileURLToPath } from 'node:url';
import protobuf from 'protobufjs';
import type { Message } from './messages.js';

/** Where the schema lives, relative to this file compiled into dist/src/wire/. */
const PROTO_PATH = fileURLToPath(new URL('../../../proto/saturn.proto', import.meta.url));

const root = protobuf.loadSync(PROTO_PATH);
const PacketType = root.lookupType('saturn.v1.Packet');

type LongLike = { low: number; high: number; unsigned?: boolean };
type Fixed64 = LongLike | number | string | bigint | null | undefined;

/** protobufjs hands 64-bit fields over as Long (or number when small); saturn uses bigint. */
function toBigint(value: Fixed64): bigint {
  if (value === null || value === undefined) return 0n;
  if (typeof value === 'bigint') return value;
  if (typeof value === 'number') return BigInt(value);
  if (typeof value === 'string') return BigInt(value);
  return (BigInt(value.high >>> 0) << 32n) | BigInt(value.low >>> 0);
}

/** The writer side: protobufjs takes {low, high} for 64-bit fields (it knows no bigint). */
function fromBigint(value: bigint): LongLike {
  const v = BigInt.asUintN(64, value);
  return { low: Number(v & 0xffffffffn) | 0, high: Number(v >> 32n) | 0, unsigned: true };
}

const EMPTY = new Uint8Array(0);

/**
 * Encodes one message as Packet bytes (without the envelope). A Report is padded (its `padding`
 * field, zeros) so that the Packet is at least `minBytes` long.
 */
export function encodeMessage(message: Message, minBytes = 0): Uint8Array {
  let body: Record<string, any>;
  switch (message.kind) {
    case 'report':
      body = {
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
      break;
    case 'response':
      body = {
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
      break;
    case 'result':
      body = {
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
      break;
    case 'cookie':
      body = { cookie: { session: fromBigint(message.session), echo: message.echo, cookie: message.cookie } };
      break;
  }
  let bytes = PacketType.encode(body).finish();
  if (message.kind !== 'report') return bytes;
  // The padding field costs a tag and a length besides its bytes: start from a guess and grow it
  // until the Packet is long enough (at most twice more, when a length prefix gains a byte).
  let padding = minBytes - bytes.length - 2;
  while (bytes.length < minBytes) {
    padding = Math.max(1, padding);
    body.report.padding = new Uint8Array(padding);
    bytes = PacketType.encode(body).finish();
    padding += minBytes - bytes.length;
  }
  return bytes;
}

/**
 * Decodes Packet bytes. Returns undefined for anything that is not exactly one known message
 * (truncated, garbage, empty oneof): the caller counts it as a decode drop.
 */
export function decodeMessage(bytes: Uint8Array): Message | undefined {
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
