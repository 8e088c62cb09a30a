/**
 * The packet frame every IETF version uses: `ROUGHTIM`, a uint32 LE message length, the message.
 * Google's original protocol sends the bare message, which never starts with these 8 bytes (its
 * first word is a small tag count).
 */
import { malformed } from './message.js';

const MAGIC = new Uint8Array([0x52, 0x4f, 0x55, 0x47, 0x48, 0x54, 0x49, 0x4d]); // "ROUGHTIM"
export const FRAME_HEADER_BYTES = 12;

/** Whether a packet starts with the IETF frame magic. */
export function isFramed(packet: Uint8Array): boolean {
  if (packet.byteLength < MAGIC.byteLength) return false;
  for (let i = 0; i < MAGIC.byteLength; i++) if (packet[i] !== MAGIC[i]) return false;
  return true;
}

/** Wraps a message in the frame. */
export function frame(message: Uint8Array): Uint8Array {
  const out = new Uint8Array(FRAME_HEADER_BYTES + message.byteLength);
  out.set(MAGIC, 0);
  new DataView(out.buffer).setUint32(8, message.byteLength, true);
  out.set(message, FRAME_HEADER_BYTES);
  return out;
}

/** The message inside a framed packet; the length field must match the packet exactly. Throws SATURN_ERR_RT_MALFORMED. */
export function unframe(packet: Uint8Array): Uint8Array {
  const message = readFramed(packet);
  if (typeof message === 'string') throw malformed(message);
  return message;
}

/** As unframe, but returns the reason (one sentence) instead of throwing. */
export function readFramed(packet: Uint8Array): Uint8Array | string {
  if (!isFramed(packet)) return 'packet does not start with ROUGHTIM';
  if (packet.byteLength < FRAME_HEADER_BYTES)
    return `packet of ${packet.byteLength} bytes is shorter than the frame header`;
  const length = new DataView(packet.buffer, packet.byteOffset, FRAME_HEADER_BYTES).getUint32(8, true);
  const actual = packet.byteLength - FRAME_HEADER_BYTES;
  if (length !== actual) return `frame says the message is ${length} bytes but ${actual} follow`;
  return packet.subarray(FRAME_HEADER_BYTES);
}
