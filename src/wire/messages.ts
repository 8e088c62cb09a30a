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
  /** The initiator's check interval, ns (0: not said); the master judges it lost by it. */
  intervalNs: number;
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
}

export type Message = Report | Response | Result;

/** Bytes of every nonce saturn sends. */
export const NONCE_BYTES = 16;
