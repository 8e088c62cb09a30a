/**
 * Chained queries and malfeasance. Each nonce after the first commits to the previous response
 * (H(response ‖ rand)), so the order of the answers is provable; if an earlier answer's interval
 * lies entirely after a later one's, one of the servers lied, and the chain itself is the proof:
 * a malfeasance report anyone can check with the servers' public keys.
 */
import { randomBytes } from 'node:crypto';
import { mkdir, rename, rm, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { SaturnError } from '../errors.js';
import { hashParts } from './crypto.js';
import { decodeRequest } from './request.js';
import { verifyResponse, type VerifyResult } from './verify.js';
import { RFC, familyOf, type VersionFamily } from './versions.js';

/** The nonce of the next request in a chain, committing to the previous response packet. */
export function chainNonce(family: VersionFamily, previousResponse: Uint8Array, rand: Uint8Array): Uint8Array {
  if (rand.byteLength !== family.nonceBytes)
    throw new RangeError(`rand must be ${family.nonceBytes} bytes for ${family.id}, got ${rand.byteLength}`);
  return family.chainForm === 'direct'
    ? hashParts(family.nonceBytes, previousResponse, rand)
    : hashParts(family.nonceBytes, hashParts(family.nonceBytes, previousResponse), rand);
}

/** A nonce for a request of the given family, with the rand that derived it (absent for a first, random nonce). */
export type NonceSource = (family: VersionFamily) => {
  readonly nonce: Uint8Array;
  readonly rand: Uint8Array | undefined;
};

/** The nonce source for the link after `previousResponse`, or for the first link when there is none. */
export function nonceSource(
  previousResponse: Uint8Array | undefined,
  random: (bytes: number) => Uint8Array = randomBytes,
): NonceSource {
  return (family) => {
    if (previousResponse === undefined) return { nonce: new Uint8Array(random(family.nonceBytes)), rand: undefined };
    const rand = new Uint8Array(random(family.nonceBytes));
    return { nonce: chainNonce(family, previousResponse, rand), rand };
  };
}

/** One answered query of a chain. */
export interface ChainLink {
  readonly publicKey: Uint8Array;
  readonly rand: Uint8Array | undefined;
  readonly request: Uint8Array;
  readonly response: Uint8Array;
  readonly result: VerifyResult;
}

/** A pair of answers that cannot both be true: `earlier`'s interval starts after `later`'s ends. */
export interface Contradiction {
  readonly earlier: number;
  readonly later: number;
}

/** Every pair i < j of valid answers with MIDP_i - RADI_i > MIDP_j + RADI_j. */
export function findContradictions(results: readonly VerifyResult[]): Contradiction[] {
  const found: Contradiction[] = [];
  for (let i = 0; i < results.length; i++) {
    const a = results[i]!;
    if (!a.valid || a.midpNs === null || a.radiNs === null) continue;
    const earliest = a.midpNs - BigInt(Math.ceil(a.radiNs));
    for (let j = i + 1; j < results.length; j++) {
      const b = results[j]!;
      if (!b.valid || b.midpNs === null || b.radiNs === null) continue;
      if (earliest > b.midpNs + BigInt(Math.ceil(b.radiNs))) found.push({ earlier: i, later: j });
    }
  }
  return found;
}

export interface MalfeasanceReportEntry {
  readonly rand?: string;
  readonly publicKey: string;
  readonly request: string;
  readonly response: string;
}

export interface MalfeasanceReport {
  readonly responses: readonly MalfeasanceReportEntry[];
}

const base64 = (bytes: Uint8Array): string =>
  Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength).toString('base64');

/** The report for a chain: every link in order, all base64, `rand` left out of the first. */
export function buildMalfeasanceReport(links: readonly ChainLink[]): MalfeasanceReport {
  return {
    responses: links.map((link, i) => ({
      ...(i > 0 && link.rand !== undefined ? { rand: base64(link.rand) } : {}),
      publicKey: base64(link.publicKey),
      request: base64(link.request),
      response: base64(link.response),
    })),
  };
}

/** Writes a report atomically (temporary file, then rename) so a reader never sees half of one. */
export async function writeMalfeasanceReport(file: string, report: MalfeasanceReport): Promise<void> {
  await mkdir(path.dirname(file), { recursive: true });
  const temporary = `${file}.${process.pid}.${Date.now()}.tmp`;
  try {
    await writeFile(temporary, `${JSON.stringify(report, null, 2)}\n`, { mode: 0o644 });
    await rename(temporary, file);
  } catch (error) {
    // A full disk leaves a partial temporary file behind: remove it, then report the failure.
    await rm(temporary, { force: true }).catch(() => undefined);
    throw error;
  }
}

export interface ReportVerdict {
  /** True only if the report proves that some server lied. */
  readonly valid: boolean;
  readonly reason: string | null;
  readonly results: readonly VerifyResult[];
  readonly contradictions: readonly Contradiction[];
}

function decodeBase64(value: unknown, what: string): Uint8Array {
  if (typeof value !== 'string' || !/^[A-Za-z0-9+/]*={0,2}$/.test(value) || value.length % 4 !== 0) {
    throw new SaturnError('SATURN_ERR_RT_MALFORMED', `${what} is not base64`);
  }
  return new Uint8Array(Buffer.from(value, 'base64'));
}

function nonceMatches(
  request: Uint8Array,
  result: VerifyResult,
  previousResponse: Uint8Array,
  rand: Uint8Array,
): boolean {
  const nonce = decodeRequest(request).nonce;
  const family = (result.wireVersion !== null ? familyOf(result.wireVersion) : undefined) ?? RFC;
  // Clients that offer several versions cannot know which family will answer: for 32-byte nonces accept either commitment form.
  const forms = family.nonceBytes === 32 ? [RFC, { ...family, chainForm: 'prehashed' as const }] : [family];
  return forms.some(
    (form) =>
      rand.byteLength === form.nonceBytes && Buffer.compare(chainNonce(form, previousResponse, rand), nonce) === 0,
  );
}

/**
 * Checks a malfeasance report: every response verifies under its key, every nonce after the first
 * is chained from the response before it, and at least one pair contradicts. Never throws.
 */
export function verifyMalfeasanceReport(report: unknown): ReportVerdict {
  const results: VerifyResult[] = [];
  const verdict = (reason: string | null, contradictions: Contradiction[] = []): ReportVerdict => ({
    valid: reason === null,
    reason,
    results,
    contradictions,
  });
  try {
    const entries = (report as { responses?: unknown } | null)?.responses;
    if (!Array.isArray(entries) || entries.length < 2)
      return verdict('a report needs a "responses" array of at least two entries');
    let previousResponse: Uint8Array | undefined;
    for (const [i, entry] of entries.entries()) {
      if (typeof entry !== 'object' || entry === null) return verdict(`entry ${i} is not an object`);
      const e = entry as Record<string, unknown>;
      const request = decodeBase64(e.request, `entry ${i} request`);
      const response = decodeBase64(e.response, `entry ${i} response`);
      const publicKey = decodeBase64(e.publicKey, `entry ${i} publicKey`);
      const result = verifyResponse({ request, response, publicKey });
      results.push(result);
      if (!result.valid) return verdict(`entry ${i} does not verify: ${result.reason}`);
      if (previousResponse !== undefined) {
        if (e.rand === undefined) return verdict(`entry ${i} has no rand, so its place in the chain cannot be checked`);
        if (!nonceMatches(request, result, previousResponse, decodeBase64(e.rand, `entry ${i} rand`)))
          return verdict(`entry ${i} nonce is not chained from entry ${i - 1}`);
      }
      previousResponse = response;
    }
    const contradictions = findContradictions(results);
    if (contradictions.length === 0)
      return verdict('the responses are consistent, so the report proves no server lied');
    return verdict(null, contradictions);
  } catch (error) {
    return verdict(error instanceof Error ? error.message : String(error));
  }
}

/** A chain of queries over servers in order; a failed query leaves a gap but does not break the chain. */
export interface ChainOutcome<S> {
  readonly links: readonly (ChainLink & { readonly server: S })[];
  readonly failures: readonly { readonly server: S; readonly error: unknown }[];
  readonly contradictions: readonly Contradiction[];
  /** Present when the answers contradict each other. */
  readonly report: MalfeasanceReport | undefined;
}

/** Queries the servers in order, each nonce chained from the last good answer. */
export async function runChain<S extends { readonly publicKey: Uint8Array }>(
  servers: readonly S[],
  query: (server: S, nonces: NonceSource) => Promise<Omit<ChainLink, 'publicKey'>>,
  random?: (bytes: number) => Uint8Array,
): Promise<ChainOutcome<S>> {
  const links: Array<ChainLink & { readonly server: S }> = [];
  const failures: Array<{ server: S; error: unknown }> = [];
  for (const server of servers) {
    const previous = links.at(-1)?.response;
    try {
      const answer = await query(server, nonceSource(previous, random));
      links.push({
        ...answer,
        rand: previous === undefined ? undefined : answer.rand,
        publicKey: server.publicKey,
        server,
      });
    } catch (error) {
      failures.push({ server, error });
    }
  }
  const contradictions = findContradictions(links.map((link) => link.result));
  return {
    links,
    failures,
    contradictions,
    report: contradictions.length > 0 ? buildMalfeasanceReport(links) : undefined,
  };
}
