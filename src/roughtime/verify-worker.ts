/**
 * Response verification as a pipeline job, for the Roughtime client: what runs in the client
 * pipeline's worker thread, so an Ed25519 verification (~170 µs) never runs on the main thread
 * that times datagrams. A job's input is one candidate (request, response, long-term key); its
 * output is the verdict (verifyResponse's), encoded; one batch holds every candidate of one answer.
 *
 * Input:  u32 request length | request | u32 response length | response | 32-byte public key.
 * Output: the verdict as JSON, uint64 fields as decimal strings (always shorter than the input:
 *         a request alone is at least 1024 bytes).
 */
import type { BatchOutput } from '../pipeline/batch-codec.js';
import type { BatchHandler } from '../pipeline/batch-handler.js';
import { verifyResponse, type VerifyInput, type VerifyResult } from './verify.js';

/** Packs one candidate into a job input. */
export function encodeVerifyJob(input: VerifyInput): Uint8Array {
  const { request, response, publicKey } = input;
  const out = new Uint8Array(8 + request.byteLength + response.byteLength + publicKey.byteLength);
  const view = new DataView(out.buffer);
  view.setUint32(0, request.byteLength, true);
  out.set(request, 4);
  view.setUint32(4 + request.byteLength, response.byteLength, true);
  out.set(response, 8 + request.byteLength);
  out.set(publicKey, 8 + request.byteLength + response.byteLength);
  return out;
}

/** The candidate a job input holds; undefined if the lengths do not add up. */
export function decodeVerifyJob(job: Uint8Array): VerifyInput | undefined {
  if (job.byteLength < 8) return undefined;
  const view = new DataView(job.buffer, job.byteOffset, job.byteLength);
  const requestLength = view.getUint32(0, true);
  if (8 + requestLength > job.byteLength) return undefined;
  const responseLength = view.getUint32(4 + requestLength, true);
  const keyAt = 8 + requestLength + responseLength;
  if (keyAt > job.byteLength) return undefined;
  return {
    request: job.subarray(4, 4 + requestLength),
    response: job.subarray(8 + requestLength, keyAt),
    publicKey: job.subarray(keyAt),
  };
}

const BIGINT_FIELDS = ['midp', 'mint', 'maxt', 'midpNs'] as const;

/** A verdict as bytes (JSON; the uint64 fields as decimal strings). */
export function encodeVerdict(result: VerifyResult): Uint8Array {
  const record: Record<string, unknown> = { ...result };
  for (const field of BIGINT_FIELDS) record[field] = result[field] === null ? null : String(result[field]);
  return new TextEncoder().encode(JSON.stringify(record));
}

/** The inverse of encodeVerdict. */
export function decodeVerdict(bytes: Uint8Array): VerifyResult {
  const record = JSON.parse(new TextDecoder().decode(bytes)) as Record<string, unknown>;
  for (const field of BIGINT_FIELDS) record[field] = record[field] === null ? null : BigInt(record[field] as string);
  return record as unknown as VerifyResult;
}

/** The pipeline's entry point (see src/pipeline/batch-handler.ts): one verdict per candidate. */
export function createBatchHandler(): BatchHandler {
  return {
    handle(jobs: readonly Uint8Array[], _meta: unknown, out: BatchOutput): void {
      for (const job of jobs) {
        const input = decodeVerifyJob(job);
        if (input === undefined) {
          out.drop('SATURN_ERR_RT_MALFORMED');
          continue;
        }
        const verdict = encodeVerdict(verifyResponse(input));
        const room = out.reply(verdict.byteLength);
        room?.set(verdict);
      }
    },
  };
}
