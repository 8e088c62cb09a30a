import type { Instant } from '../clock/clock.js';

/**
 * A reply the protocol core has decided on but not yet stamped: the edge reads the clock
 * immediately before sending and passes the instant in, so the send time in the packet is the
 * send time on the wire (less only encoding and MAC, a few µs, which land inside the measured delay).
 */
export interface Outgoing {
  build(sentAt: Instant): Uint8Array;
}
