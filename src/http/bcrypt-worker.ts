/**
 * The worker thread that compares passwords against bcrypt hashes for the HTTP port's basic auth
 * (http-server.ts starts it). A comparison costs tens to hundreds of milliseconds of CPU; on the
 * main thread, a burst of wrong passwords from anyone who reaches the port would hold up the
 * legs of every check for that long.
 */
import { parentPort } from 'node:worker_threads';
import bcrypt from 'bcryptjs';

/** A comparison to make, and its answer. */
export interface CompareRequest {
  readonly id: number;
  readonly password: string;
  readonly hash: string;
}
export interface CompareAnswer {
  readonly id: number;
  readonly ok: boolean;
}

parentPort?.on('message', ({ id, password, hash }: CompareRequest) => {
  let ok = false;
  try {
    ok = bcrypt.compareSync(password, hash);
  } catch {
    // A hash bcryptjs cannot read matches no password.
  }
  parentPort!.postMessage({ id, ok } satisfies CompareAnswer);
});
