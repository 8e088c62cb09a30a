import { type ChildProcess, spawn } from 'node:child_process';
import { once } from 'node:events';
import { fileURLToPath } from 'node:url';

/** The real launcher, as an operator runs it. */
export const SATURN_BIN = fileURLToPath(new URL('../../../bin/saturn', import.meta.url));

export interface Line {
  stream: 'stdout' | 'stderr';
  text: string;
}

/**
 * A saturn process started for a test: collects its output line by line and lets the test
 * wait for a line (an event, never a sleep). Always `stop()` it in a finally/after hook.
 */
export class SaturnProcess {
  readonly lines: Line[] = [];
  private readonly waiters = new Set<() => void>();
  readonly exited: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;

  private constructor(readonly child: ChildProcess) {
    for (const stream of ['stdout', 'stderr'] as const) {
      let buffer = '';
      child[stream]!.setEncoding('utf8').on('data', (chunk: string) => {
        buffer += chunk;
        let nl: number;
        while ((nl = buffer.indexOf('\n')) >= 0) {
          this.lines.push({ stream, text: buffer.slice(0, nl) });
          buffer = buffer.slice(nl + 1);
        }
        for (const wake of this.waiters) wake();
      });
    }
    this.exited = once(child, 'exit').then(([code, signal]) => {
      for (const wake of this.waiters) wake();
      return { code: code as number | null, signal: signal as NodeJS.Signals | null };
    });
  }

  /** Starts `bin/saturn args...`; `prefix` runs it under another command (e.g. faketime). */
  static start(args: string[], options: { prefix?: string[]; env?: NodeJS.ProcessEnv } = {}): SaturnProcess {
    const argv = [...(options.prefix ?? []), process.execPath, SATURN_BIN, ...args];
    return SaturnProcess.startCommand(argv[0]!, argv.slice(1), options.env);
  }

  /** Starts any command the same way (a tool the test talks to: Prometheus, say). */
  static startCommand(command: string, args: string[], env: NodeJS.ProcessEnv = {}): SaturnProcess {
    const child = spawn(command, args, {
      stdio: ['ignore', 'pipe', 'pipe'],
      // Its own process group, so stop() reaches children of a wrapper such as faketime too.
      detached: true,
      env: { ...process.env, ...env },
    });
    return new SaturnProcess(child);
  }

  /** Resolves with the first line (seen so far or later) that matches, or rejects after `timeoutMs`. */
  waitForLine(match: (line: Line) => boolean, timeoutMs = 20_000, from = 0): Promise<Line> {
    return new Promise((resolve, reject) => {
      let seen = from;
      const check = () => {
        for (; seen < this.lines.length; seen++) {
          const line = this.lines[seen]!;
          if (match(line)) {
            done();
            resolve(line);
            return;
          }
        }
        if (this.child.exitCode !== null || this.child.signalCode !== null) {
          done();
          reject(new Error(`process exited before the line appeared; output:\n${this.output()}`));
        }
      };
      const timer = setTimeout(() => {
        done();
        reject(new Error(`timed out after ${timeoutMs} ms waiting for a line; output:\n${this.output()}`));
      }, timeoutMs);
      const done = () => {
        clearTimeout(timer);
        this.waiters.delete(check);
      };
      this.waiters.add(check);
      check();
    });
  }

  /** Waits for a JSON diagnostics line (--log-format json) with this msg and returns it parsed. */
  async waitForLog(msg: string, timeoutMs?: number): Promise<Record<string, any>> {
    const line = await this.waitForLine((l) => l.stream === 'stderr' && parseJson(l.text)?.msg === msg, timeoutMs);
    return parseJson(line.text)!;
  }

  output(): string {
    return this.lines.map((l) => `[${l.stream}] ${l.text}`).join('\n');
  }

  /** Sends SIGTERM (or the given signal) and waits for the exit. */
  async stop(signal: NodeJS.Signals = 'SIGTERM') {
    if (this.child.exitCode === null && this.child.signalCode === null) {
      try {
        process.kill(-this.child.pid!, signal);
      } catch {
        this.child.kill(signal);
      }
    }
    return this.exited;
  }
}

function parseJson(text: string): Record<string, any> | undefined {
  if (!text.startsWith('{')) return undefined;
  try {
    return JSON.parse(text) as Record<string, any>;
  } catch {
    return undefined;
  }
}

/** Parses an llog line's fields: `~ LEVEL -- message -- k="v" ...`. */
export function parseLlog(
  text: string,
): { level: string; message: string; fields: Record<string, string> } | undefined {
  const m = /^~ (\w+) -- (.*?)(?: -- (.*))?$/.exec(text);
  if (!m) return undefined;
  const fields: Record<string, string> = {};
  for (const f of (m[3] ?? '').matchAll(/(\w+)="((?:[^"\\]|\\.)*)"/g)) fields[f[1]!] = f[2]!.replace(/\\(.)/g, '$1');
  return { level: m[1]!, message: m[2]!, fields };
}
