import type { Nanos } from '../clock/clock.js';

/** A decoded slave -> master leg. */
export interface Report {
  kind: 'report';
  session: bigint;
  leg: number;
  nonce: Uint8Array;
  echo: Uint8Array;
  nodeId: string;
  receivedAt: Nanos;
  sentAt: Nanos;
  clockSteps: number;
  /** Leg 0: the responder's cookie for this source (empty when the initiator has none yet). */
  cookie: Uint8Array;
  /** The initiator's check interval, ns (0: not said); the master judges it lost by it. */
  intervalNs: number;
  /** Leg 0 to a master: the initiator's recent peer checks (the mesh); empty otherwise. */
  peerResults: readonly PeerResult[];
}

/** A peer to check, as a master names it: the node's id and its address as the master saw it. */
export interface PeerAddress {
  id: string;
  addr: string;
}

/** One peer check's result, reported to the master (offset = reporter − peer). */
export interface PeerResult {
  peerId: string;
  offsetNs: number;
  errorNs: number;
  rttNs: number;
  ageNs: number;
}

/** A decoded master -> slave leg. */
export interface Response {
  kind: 'response';
  session: bigint;
  leg: number;
  nonce: Uint8Array;
  echo: Uint8Array;
  receivedAt: Nanos;
  sentAt: Nanos;
  echoSentAt: Nanos;
}

/** The master's closing message of a check. */
export interface Result {
  kind: 'result';
  session: bigint;
  echo: Uint8Array;
  ok: boolean;
  offsetNs: number;
  errorNs: number;
  rttNs: number;
  samples: number;
  reason: string;
  /** The cookie for the initiator's next check (empty: none). */
  cookie: Uint8Array;
  /** Who answered: the responder's node id (empty from an old responder). */
  responderId: string;
  /** From a master: the peers the initiator checks this interval. */
  peers: readonly PeerAddress[];
}

/** The responder's answer to a leg 0 without a valid cookie: no session, try again with this. */
export interface Cookie {
  kind: 'cookie';
  session: bigint;
  echo: Uint8Array;
  cookie: Uint8Array;
}

export type Message = Report | Response | Result | Cookie;

/** Bytes of every nonce saturn sends. */
export const NONCE_BYTES = 16;

/**
 * Every Report is padded to at least this many datagram bytes, and a responder drops shorter
 * ones before any HMAC: so no reply (a Response, a Cookie, or a Result whose discard reason is
 * cut to fit) is ever larger than the Report that caused it, and a forged source address cannot
 * turn a responder into an amplifier.
 */
export const REPORT_MIN_BYTES = 192;
