/** Something text is written to: process.stdout/stderr in production, a capturing sink in tests. */
export interface Sink {
  write(text: string): unknown;
}
