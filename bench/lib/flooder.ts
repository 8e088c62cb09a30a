/**
 * A flood aimed at a saturn master, run as its own process so it does not share an event loop
 * with the slaves being measured:
 *
 *   node dist/bench/lib/flooder.js garbage PORT RATE        # RATE datagrams/s, or "max"
 *   node dist/bench/lib/flooder.js sessions PORT SOURCES KEY  # a key holder opening leg-0-only checks at full rate
 *
 * Garbage is a mix, a third each: random bytes of random length (1-1400), datagrams with the
 * right version byte and key id but a random body and MAC (each costs the master an HMAC), and
 * real Reports under the wrong key. The session flood opens checks with a valid key and cookie
 * from SOURCES addresses (127.0.0.2 onwards) and never answers the master. It prints one JSON
 * line with what it sent when it gets SIGTERM.
 */
import { createSocket, type Socket } from 'node:dgram';
import { randomFillSync } from 'node:crypto';
import { CheckInitiator } from '../../src/protocol/initiator.js';
import { Envelope } from '../../src/wire/envelope.js';
import { KeyRing } from '../../src/wire/keys.js';

const [mode, portText, third, key] = process.argv.slice(2);
const port = Number(portText);
let sent = 0;
const instant = () => ({ wall: BigInt(Date.now()) * 1_000_000n, mono: process.hrtime.bigint() });

async function bind(host: string): Promise<Socket> {
  const socket = createSocket('udp4');
  await new Promise<void>((resolve) => socket.bind(0, host, resolve));
  socket.on('error', () => {});
  return socket;
}

/** A pool of garbage datagrams, made once (making them would cost more than sending). */
function garbagePool(): Uint8Array[] {
  const pool: Uint8Array[] = [];
  const wrongKey = new CheckInitiator({
    envelope: new Envelope(KeyRing.single(new TextEncoder().encode('not-the-key-of-this-fleet'))),
    nodeId: 'garbage',
  });
  for (let i = 0; i < 3000; i++) {
    if (i % 3 === 0) pool.push(randomFillSync(new Uint8Array(1 + Math.floor(Math.random() * 1400))));
    else if (i % 3 === 1) {
      const d = randomFillSync(new Uint8Array(192 + Math.floor(Math.random() * 100)));
      d.set([2, 0, 0, 0, 0]); // version 2, key id 0: only the MAC can refuse it
      pool.push(d);
    } else pool.push(wrongKey.start('master', 0).outgoing.build(instant()));
  }
  return pool;
}

async function garbage(rate: number): Promise<void> {
  const sockets = await Promise.all([bind('127.0.0.1'), bind('127.0.0.1')]);
  const pool = garbagePool();
  let i = 0;
  let carry = 0;
  const send = () => sockets[i & 1]!.send(pool[i++ % pool.length]!, port, '127.0.0.1');
  if (!Number.isFinite(rate)) {
    // As fast as the sockets take it, yielding so SIGTERM is seen.
    const burst = () => {
      for (let n = 0; n < 256; n++) {
        send();
        sent++;
      }
      setImmediate(burst);
    };
    burst();
    return;
  }
  // Steady: each tick sends what the time since the last one is worth, at most 10 ms of it, so a
  // tick that comes late (a busy machine) does not turn into a burst the rate never asked for.
  let last = performance.now();
  setInterval(() => {
    const now = performance.now();
    const due = Math.floor((Math.min(now - last, 10) / 1000) * rate + carry);
    carry = (Math.min(now - last, 10) / 1000) * rate + carry - due;
    last = now;
    for (let n = 0; n < due; n++, sent++) send();
  }, 1);
}

async function sessions(sources: number, keyText: string): Promise<void> {
  const initiators: { socket: Socket; initiator: CheckInitiator }[] = [];
  for (let s = 0; s < sources; s++) {
    const socket = await bind(`127.0.0.${2 + s}`);
    const initiator = new CheckInitiator({
      envelope: new Envelope(KeyRing.single(new TextEncoder().encode(keyText))),
      nodeId: `intruder-${s}`,
    });
    // The cookie, as any slave gets it: the master answers a first leg 0 with one.
    const cookie = new Promise<Buffer>((resolve) => socket.once('message', resolve));
    socket.send(initiator.start('master', 0).outgoing.build(instant()), port, '127.0.0.1');
    initiator.handle(await cookie, instant(), 0);
    socket.on('message', () => {}); // the master's answers are read and ignored: every check stays half-open
    initiators.push({ socket, initiator });
  }
  let i = 0;
  const burst = () => {
    for (let n = 0; n < 64; n++) {
      const { socket, initiator } = initiators[i++ % initiators.length]!;
      socket.send(initiator.start('master', 0).outgoing.build(instant()), port, '127.0.0.1');
      sent++;
    }
    setImmediate(burst);
  };
  burst();
}

process.on('SIGTERM', () => {
  process.stdout.write(`${JSON.stringify({ sent })}\n`);
  process.exit(0);
});
if (mode === 'garbage') await garbage(third === 'max' ? Infinity : Number(third));
else if (mode === 'sessions') await sessions(Number(third), key ?? '');
else throw new RangeError(`mode must be garbage or sessions, got ${mode}`);
process.stdout.write('ready\n');
