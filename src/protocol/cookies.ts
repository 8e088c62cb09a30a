import { KeyedMac, constantTimeEqual } from '../wire/mac.js';
import { type RandomBytes, cryptoRandom } from '../wire/random.js';

/** A cookie: one byte naming the secret's generation, then 16 bytes of HMAC(secret, source address). */
export const COOKIE_BYTES = 17;
const TAG_BYTES = COOKIE_BYTES - 1;

/** The default of CookieJarOptions.rotationNs. */
export const DEFAULT_COOKIE_ROTATION_NS = 60e9;

export interface CookieJarOptions {
  /**
   * A new secret this often (monotonic time); a cookie is accepted until the secret after its
   * own is replaced, so for one to two periods (default 60 s). It must outlast the time between
   * two checks of one initiator, which carries the cookie of one check's Result to the next.
   */
  rotationNs?: number;
  /** Check openings remembered per generation; when full, the secret rotates early (default 2^20). */
  maxRemembered?: number;
  random?: RandomBytes;
}

interface Generation {
  /** Counts up from 0; its low byte is the cookie's first byte. */
  readonly number: number;
  readonly mac: KeyedMac;
  readonly startedMono: bigint;
  /** Session ids of the checks opened with a cookie of this generation. */
  readonly opened: Set<bigint>;
}

export type CookieVerdict = { ok: true; generation: number } | { ok: false; code: 'stale' | 'replay' };

/**
 * Cookies that bind a check's opening to its source address and to a bounded window of time, so
 * a replayed leg 0 can never open a session, however late it comes and whatever the clocks say:
 *
 * - A responder opens a check only for a leg 0 carrying a cookie it minted for that source
 *   address, under one of its two latest secrets. Otherwise it answers with a fresh cookie (a
 *   small reply, no state) and the initiator sends leg 0 again. A Result carries the cookie for
 *   the next check, so this costs one extra round trip only after a restart or a long silence.
 * - Every check opened under a generation is remembered until that generation is retired, so a
 *   copy of a leg 0 whose cookie is still valid is recognised as a replay, and one whose cookie has
 *   expired gets only a cookie. The memory is bounded: a full generation retires early.
 *
 * Time is the responder's monotonic clock, never the initiator's `sent_at`: a slave whose clock is
 * days off is measured like any other. Pure apart from drawing secrets; the caller passes the time.
 */
export class CookieJar {
  private readonly rotationNs: bigint;
  private readonly maxRemembered: number;
  private readonly random: RandomBytes;
  private current: Generation | undefined;
  private previous: Generation | undefined;
  private readonly encoder = new TextEncoder();
  private readonly tag = new Uint8Array(32);

  constructor(options: CookieJarOptions = {}) {
    const rotationNs = options.rotationNs ?? DEFAULT_COOKIE_ROTATION_NS;
    if (!(rotationNs > 0)) throw new RangeError(`rotationNs must be > 0, got ${options.rotationNs}`);
    this.rotationNs = BigInt(Math.round(rotationNs));
    this.maxRemembered = options.maxRemembered ?? 1 << 20;
    if (!(this.maxRemembered >= 1)) throw new RangeError(`maxRemembered must be >= 1, got ${options.maxRemembered}`);
    this.random = options.random ?? cryptoRandom;
  }

  /** A cookie for source address `ip`, under the current secret. */
  mint(ip: string, nowMono: bigint): Uint8Array {
    const generation = this.generationAt(nowMono);
    const cookie = new Uint8Array(COOKIE_BYTES);
    cookie[0] = generation.number & 0xff;
    cookie.set(this.tagOf(generation, ip), 1);
    return cookie;
  }

  /** Whether leg 0 of check `session` from `ip` may open a session with this cookie. */
  check(cookie: Uint8Array, ip: string, session: bigint, nowMono: bigint): CookieVerdict {
    this.generationAt(nowMono);
    const generation = this.generationOf(cookie);
    if (generation === undefined || !constantTimeEqual(this.tagOf(generation, ip), cookie.subarray(1)))
      return { ok: false, code: 'stale' };
    if (generation.opened.has(session)) return { ok: false, code: 'replay' };
    return { ok: true, generation: generation.number };
  }

  /** Remembers that check `session` was opened under `generation` (as check() returned it). */
  remember(session: bigint, generation: number, nowMono: bigint): void {
    const target = [this.current, this.previous].find((g) => g?.number === generation);
    if (target === undefined) return; // retired meanwhile: its cookies are refused anyway
    target.opened.add(session);
    if (target === this.current && target.opened.size >= this.maxRemembered) this.rotate(nowMono);
  }

  /** Check openings remembered now (both generations). */
  get remembered(): number {
    return (this.current?.opened.size ?? 0) + (this.previous?.opened.size ?? 0);
  }

  private generationAt(nowMono: bigint): Generation {
    const current = this.current;
    if (current !== undefined && nowMono - current.startedMono < this.rotationNs) return current;
    return this.rotate(nowMono);
  }

  private rotate(nowMono: bigint): Generation {
    const number = this.current === undefined ? 0 : this.current.number + 1;
    // After a long silence both generations are too old: the previous one is retired too.
    const keepPrevious = this.current !== undefined && nowMono - this.current.startedMono < 2n * this.rotationNs;
    this.previous = keepPrevious ? this.current : undefined;
    this.current = { number, mac: new KeyedMac(this.random(32)), startedMono: nowMono, opened: new Set() };
    return this.current;
  }

  private generationOf(cookie: Uint8Array): Generation | undefined {
    if (cookie.length !== COOKIE_BYTES) return undefined;
    for (const g of [this.current, this.previous]) if (g !== undefined && (g.number & 0xff) === cookie[0]) return g;
    return undefined;
  }

  private tagOf(generation: Generation, ip: string): Uint8Array {
    generation.mac.computeInto(this.encoder.encode(ip), this.tag);
    return this.tag.subarray(0, TAG_BYTES);
  }
}
