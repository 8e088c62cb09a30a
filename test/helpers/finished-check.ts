/** Finished checks as the responder hands them to the master, for fleet and mesh tests. */
import type { Instant } from '../../src/clock/clock.js';
import type { FinishedCheck } from '../../src/protocol/responder.js';
import type { PeerResult } from '../../src/wire/messages.js';

export const S = 1_000_000_000n;
export const WALL0 = 1_700_000_000n * S;

export interface CheckOptions {
  offsetNs?: number;
  errorNs?: number;
  wall?: bigint;
  ip?: string;
  port?: number;
  intervalNs?: number;
  peerResults?: PeerResult[];
}

/** The instant at monotonic `mono` (wall in step). */
export const at = (mono: bigint): Instant => ({ mono, wall: WALL0 + mono });

/** A finished good check of `id` at monotonic second `second` (wall time in step with it unless `wall` says). */
export function check(id: string, second: bigint | number, options: CheckOptions = {}): FinishedCheck {
  const mono = BigInt(Math.round(Number(second) * 1e9));
  return {
    nodeId: id,
    ip: options.ip ?? '127.0.0.1',
    port: options.port ?? 1,
    intervalNs: options.intervalNs ?? 0,
    peerResults: options.peerResults ?? [],
    at: { mono, wall: options.wall ?? WALL0 + mono },
    samples: [],
    outcome: {
      ok: true,
      estimate: { offsetNs: options.offsetNs ?? 0, errorNs: options.errorNs ?? 1000, rttNs: 2000, kept: 4, total: 5 },
    },
  };
}
