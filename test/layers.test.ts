/**
 * Imports point down: each top-level part of src/ has a layer, and a module may import only from
 * its own folder or from a lower layer. Two folders on the same layer stay independent.
 */
import assert from 'node:assert/strict';
import { readFileSync, readdirSync } from 'node:fs';
import { dirname, join, normalize, relative } from 'node:path';
import { test } from 'node:test';
import { fileURLToPath } from 'node:url';

/** Lowest first. A part is a folder under src/ or a file directly in it. */
export const LAYERS: readonly (readonly string[])[] = [
  ['errors.ts'],
  ['util', 'clock'],
  ['log', 'wire', 'estimate'],
  ['pipeline'],
  ['roughtime', 'protocol', 'mesh'],
  ['fleet', 'events'],
  ['http', 'config'],
  ['service'],
  ['demo'],
  ['cli'],
];

const SRC = join(dirname(fileURLToPath(import.meta.url)), '../../src');

function layerOf(part: string): number {
  const layer = LAYERS.findIndex((parts) => parts.includes(part));
  if (layer < 0) throw new Error(`src/${part} has no layer in the table of test/layers.test.ts: add it`);
  return layer;
}

function sourceFiles(dir: string): string[] {
  return readdirSync(dir, { withFileTypes: true }).flatMap((entry) => {
    const path = join(dir, entry.name);
    if (entry.isDirectory()) return sourceFiles(path);
    return entry.name.endsWith('.ts') ? [path] : [];
  });
}

/** The relative module specifiers of a file: static imports, re-exports and dynamic imports. */
function importsOf(text: string): string[] {
  const found: string[] = [];
  for (const match of text.matchAll(/(?:from\s*|import\s*\(\s*|new URL\(\s*)['"](\.{1,2}\/[^'"]+)['"]/g))
    found.push(match[1]!);
  return found;
}

test('every module imports only from its own folder or a lower layer', () => {
  const violations: string[] = [];
  const files = sourceFiles(SRC);
  assert.ok(files.length > 50, `found only ${files.length} source files under ${SRC}`);
  for (const file of files) {
    const from = relative(SRC, file).split('/')[0]!;
    for (const specifier of importsOf(readFileSync(file, 'utf8'))) {
      const target = relative(SRC, normalize(join(dirname(file), specifier)));
      if (target.startsWith('..')) continue; // outside src (the proto schema)
      const to = target.split('/')[0]!.replace(/\.js$/, '.ts');
      if (to === from) continue;
      if (layerOf(to) >= layerOf(from))
        violations.push(`src/${relative(SRC, file)} imports ${specifier} (${from} -> ${to})`);
    }
  }
  assert.deepEqual(violations, []);
});

test('the layer check catches an upward import', () => {
  assert.deepEqual(
    importsOf(`import { x } from '../cli/main.js';\nconst w = new URL('./worker.js', import.meta.url);`),
    ['../cli/main.js', './worker.js'],
  );
  assert.ok(layerOf('cli') > layerOf('log'), 'cli sits above log');
});
