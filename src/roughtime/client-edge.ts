/**
 * The Roughtime client's edge: its UDP traffic goes through the pipeline, like every datagram in
 * saturn. Requests leave through a pipeline's socket (stamped with the instant of the send, taken
 * there), answers are stamped at receipt by the same edge, and verifying them (Ed25519, ~170 µs
 * each) runs as a job on the pipeline's worker thread, never on the main thread that times the
 * legs of a master's checks.
 *
 *   const edge = await RoughtimeClientEdge.open(clock);
 *   await edge.ready('udp4');
 *   const stop = edge.listen((datagram, from, receivedAt) => ...);
 *   const { sent, sentAt } = edge.send('udp4', { address, port }, request);
 *   const verdicts = await edge.verify([{ request, response, publicKey }, ...]);
 *   await edge.close();
 *
 * One pipeline per address family, opened when first needed (an IPv4 one at start, with the
 * worker); each binds an ephemeral port on the wildcard address.
 */
import type { Clock, Instant } from '../clock/clock.js';
import { type Peer, type Pipeline, createPipeline } from '../pipeline/pipeline.js';
import type { VerifyInput, VerifyResult } from './verify.js';
import { decodeVerdict, encodeVerifyJob } from './verify-worker.js';

export type AddressFamily = 'udp4' | 'udp6';

/** Sees every datagram the edge receives, with the instant of its receipt. */
export type ClientReceiver = (datagram: Uint8Array, from: Peer, receivedAt: Instant) => void;

const WILDCARD: Record<AddressFamily, string> = { udp4: '0.0.0.0', udp6: '::' };

export class RoughtimeClientEdge {
  private readonly pipelines = new Map<AddressFamily, Promise<Pipeline>>();
  private readonly open = new Map<AddressFamily, Pipeline>();
  private readonly receivers = new Set<ClientReceiver>();
  private closed = false;

  private constructor(
    private readonly clock: Clock,
    /** The IPv4 pipeline, which also runs the verification worker. */
    private readonly primary: Pipeline,
  ) {
    this.open.set('udp4', primary);
    this.pipelines.set('udp4', Promise.resolve(primary));
  }

  /** Opens the IPv4 pipeline and its verification worker. */
  static async open(clock: Clock): Promise<RoughtimeClientEdge> {
    let edge: RoughtimeClientEdge | undefined;
    const primary = await createPipeline({
      listenAddr: { host: WILDCARD.udp4, port: 0 },
      clock,
      route: () => 'fast',
      lanes: {
        fast: { handle: (datagram, from, receivedAt) => edge?.deliver(datagram, from, receivedAt) },
        batched: {
          handlerModule: new URL('./verify-worker.js', import.meta.url),
          handlerInit: {},
          workers: 1,
        },
      },
    });
    edge = new RoughtimeClientEdge(clock, primary);
    return edge;
  }

  /** Makes sure the pipeline of `family` is open (the IPv6 one opens on first use). */
  async ready(family: AddressFamily): Promise<void> {
    if (this.closed) throw new RangeError('the Roughtime client edge is closed');
    let pipeline = this.pipelines.get(family);
    if (pipeline === undefined) {
      pipeline = createPipeline({
        listenAddr: { host: WILDCARD[family], port: 0 },
        clock: this.clock,
        lanes: { fast: { handle: (datagram, from, receivedAt) => this.deliver(datagram, from, receivedAt) } },
      });
      this.pipelines.set(family, pipeline);
    }
    this.open.set(family, await pipeline);
  }

  /** Sends through the pipeline of `family` (call `ready` first); the instant is the send's. */
  send(family: AddressFamily, to: Peer, request: Uint8Array): { readonly sent: boolean; readonly sentAt: Instant } {
    const pipeline = this.open.get(family);
    if (pipeline === undefined) throw new RangeError(`the ${family} pipeline is not open: call ready() first`);
    return pipeline.send(to, request);
  }

  /** Receives every datagram from now on; returns the function that stops it. */
  listen(receiver: ClientReceiver): () => void {
    this.receivers.add(receiver);
    return () => void this.receivers.delete(receiver);
  }

  /** Verifies candidates on the worker thread, one verdict each, in order. */
  async verify(candidates: readonly VerifyInput[]): Promise<VerifyResult[]> {
    const outcomes = await this.primary.run(candidates.map(encodeVerifyJob), undefined);
    return outcomes.map((outcome) => ('output' in outcome ? decodeVerdict(outcome.output) : UNREADABLE_JOB));
  }

  /** Stops every pipeline (answers still being verified are finished first). */
  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    this.receivers.clear();
    const pipelines = await Promise.allSettled(this.pipelines.values());
    await Promise.all(pipelines.map((p) => (p.status === 'fulfilled' ? p.value.close() : undefined)));
  }

  private deliver(datagram: Uint8Array, from: Peer, receivedAt: Instant): void {
    for (const receiver of this.receivers) receiver(datagram, from, receivedAt);
  }
}

/** The verdict on a candidate the worker could not read (never expected: the edge packs every job). */
const UNREADABLE_JOB: VerifyResult = {
  valid: false,
  version: null,
  wireVersion: null,
  midp: null,
  radi: null,
  mint: null,
  maxt: null,
  midpNs: null,
  radiNs: null,
  radiBelowResolution: false,
  unsynchronised: false,
  reason: 'the verification job could not read its input',
  code: 'SATURN_ERR_RT_MALFORMED',
};
