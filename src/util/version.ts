import { readFileSync } from 'node:fs';

/** saturn's version, from package.json (the one place it is written); this file runs from dist/src/util/. */
export const SATURN_VERSION: string = (
  JSON.parse(readFileSync(new URL('../../../package.json', import.meta.url), 'utf8')) as { version: string }
).version;
