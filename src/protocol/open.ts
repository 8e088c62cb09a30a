import type { ErrorCode } from '../errors.js';
import { decodeMessage } from '../wire/codec.js';
import type { Envelope } from '../wire/envelope.js';
import type { Message } from '../wire/messages.js';

/** A datagram opened: its message and the key that sealed it; or why it is dropped. */
export type Opened =
  | { ok: true; message: Message; keyId: number }
  /** `keyId`: the key id the header claims, when the drop is about its key. */
  | { ok: false; code: ErrorCode; keyId?: number };

/**
 * Checks a datagram's envelope (length, version, key id, MAC) and decodes its one message. A node
 * that runs both sides of checks (a slave with the mesh: it initiates checks and answers its
 * peers') opens each datagram once and hands the message to the side it is for.
 */
export function openDatagram(envelope: Envelope, datagram: Uint8Array): Opened {
  const opened = envelope.open(datagram);
  if (!opened.ok) return { ok: false, code: opened.code, keyId: opened.keyId };
  const message = decodeMessage(opened.payload);
  if (!message) return { ok: false, code: 'SATURN_ERR_DECODE' };
  return { ok: true, message, keyId: opened.keyId };
}
