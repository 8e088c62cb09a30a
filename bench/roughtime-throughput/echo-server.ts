/**
 * The baseline: a bare Node UDP server that answers each datagram with 416 bytes (what one
 * Roughtime reply weighs: here the request's first 416 bytes, so the load generator can match
 * it). Prints its port, then serves until killed.
 */
import { createSocket } from 'node:dgram';

const REPLY_BYTES = 416;
const socket = createSocket('udp4');
try {
  socket.on('listening', () => socket.setRecvBufferSize(4 << 20));
} catch {
  // capped by the kernel; the default still works
}
socket.on('message', (datagram, from) => socket.send(datagram.subarray(0, REPLY_BYTES), from.port, from.address));
socket.on('error', () => undefined);
socket.bind(0, '127.0.0.1', () => process.stdout.write(`echo listening on 127.0.0.1:${socket.address().port}\n`));
