/**
 * Loads the public Roughtime test vectors kept in the repository under test/vectors/roughtime
 * (test/vectors/README.md says where each comes from). A missing vector is a failure, never a
 * skip: the tests that use them must run on every clone.
 */
import { existsSync, readFileSync, readdirSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

function repoRoot(): string {
  // Compiled tests live in dist/test/roughtime; walk up to the directory holding package.json.
  let dir = path.dirname(fileURLToPath(import.meta.url));
  for (let i = 0; i < 6; i++) {
    if (existsSync(path.join(dir, 'package.json')) && existsSync(path.join(dir, 'src'))) return dir;
    dir = path.dirname(dir);
  }
  throw new Error(`no repository root above ${fileURLToPath(import.meta.url)}`);
}

/** The vectors directory; throws when it is missing (a broken checkout, not a reason to skip). */
export function vectorsDir(): string {
  const dir = path.join(repoRoot(), 'test', 'vectors', 'roughtime');
  if (!existsSync(path.join(dir, 'cloudflare'))) throw new Error(`the Roughtime test vectors are missing from ${dir}`);
  return dir;
}
export interface CloudflareVector {
  readonly file: string;
  readonly info: string;
  readonly rootSeed: Uint8Array;
  readonly onlineSeed: Uint8Array;
  readonly requests: Uint8Array[];
  readonly replies: Uint8Array[];
}

const fromHex = (text: string): Uint8Array => new Uint8Array(Buffer.from(text.trim(), 'hex'));

export function cloudflareVectors(dir: string): CloudflareVector[] {
  const folder = path.join(dir, 'cloudflare');
  return readdirSync(folder)
    .filter((f) => f.endsWith('.json'))
    .sort()
    .map((file) => {
      const json = JSON.parse(readFileSync(path.join(folder, file), 'utf8')) as {
        info: string;
        root_key: string;
        online_key: string;
        request: string[];
        replies: string[];
      };
      return {
        file,
        info: json.info,
        rootSeed: fromHex(json.root_key),
        onlineSeed: fromHex(json.online_key),
        requests: json.request.map(fromHex),
        replies: json.replies.map(fromHex),
      };
    });
}

/** roughenough's long-term public key for its 0x8000000c vectors. */
export const ROUGHENOUGH_PUBLIC_KEY = new Uint8Array(
  Buffer.from('AW5uAoTSTDfG5NfY1bTh08GUnOqlRb+HVhbJ3ODJvsE=', 'base64'),
);

export function roughenoughVector(dir: string, name: string): Uint8Array {
  return fromHex(readFileSync(path.join(dir, 'roughenough', name), 'utf8'));
}

export interface ReportEntry {
  readonly publicKey: string;
  readonly rand?: string;
  readonly request: string;
  readonly response: string;
}

export function draft19ReportText(dir: string): string {
  return readFileSync(path.join(dir, 'draft19-appendixB-malfeasance-report.json'), 'utf8');
}

export function draft19Report(dir: string): { responses: ReportEntry[] } {
  return JSON.parse(draft19ReportText(dir)) as { responses: ReportEntry[] };
}

export const b64 = (text: string): Uint8Array => new Uint8Array(Buffer.from(text, 'base64'));
