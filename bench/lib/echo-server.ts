/**
 * The baseline of every UDP benchmark: a bare Node UDP server that answers each datagram with
 * `replyBytes` bytes. Run as its own process: `node dist/bench/lib/echo-server.js REPLY_BYTES`;
 * it prints its port on stdout.
 */
import { createSocket } from 'node:dgram';

const replyBytes = Number(process.argv[2] ?? 416);
const reply = new Uint8Array(replyBytes);
const socket = createSocket('udp4');
socket.on('message', (_datagram, from) => socket.send(reply, from.port, from.address));
socket.bind(0, '127.0.0.1', () => process.stdout.write(`${socket.address().port}\n`));
process.on('SIGTERM', () => socket.close());
