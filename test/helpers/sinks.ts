import { createDiagnostics } from '../../src/log/diagnostics.js';

/** A sink that keeps what is written to it, line by line. */
export function lineSink(): { write(text: string): boolean; lines: string[]; text(): string } {
  const chunks: string[] = [];
  return {
    write(text: string) {
      chunks.push(text);
      return true;
    },
    get lines() {
      return chunks
        .join('')
        .split('\n')
        .filter((l) => l !== '');
    },
    text: () => chunks.join(''),
  };
}

/** A JSON diagnostics logger writing to a kept sink; `records()` parses what it wrote. */
export function testLogger() {
  const sink = lineSink();
  const logger = createDiagnostics({ level: 'debug', format: 'json', sink });
  return { logger, sink, records: () => sink.lines.map((l) => JSON.parse(l) as Record<string, any>) };
}
