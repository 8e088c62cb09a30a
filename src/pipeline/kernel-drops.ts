/**
 * Datagrams the kernel dropped for a socket because its receive buffer was full: the `drops`
 * column of /proc/net/udp (and udp6), per socket. A flood that outruns the process shows here
 * and nowhere else, since those datagrams never reach it.
 */
import { readFileSync } from 'node:fs';
import { isIP } from 'node:net';

/**
 * The drops of the sockets bound to `port` (and, for IPv4, to `host`) in the text of
 * /proc/net/udp or /proc/net/udp6, summed; undefined when no such socket is listed. Pure.
 */
export function dropsInProcNetUdp(text: string, host: string, port: number): number | undefined {
  const portHex = port.toString(16).toUpperCase().padStart(4, '0');
  // /proc writes IPv4 addresses as one 32-bit word in host byte order (little-endian here).
  const ipHex =
    isIP(host) === 4
      ? host
          .split('.')
          .reverse()
          .map((b) => Number(b).toString(16).toUpperCase().padStart(2, '0'))
          .join('')
      : undefined;
  let total: number | undefined;
  for (const line of text.split('\n').slice(1)) {
    const fields = line.trim().split(/\s+/);
    const local = fields[1];
    if (local === undefined || fields.length < 13) continue;
    const [addr, p] = local.split(':');
    if (p !== portHex || (ipHex !== undefined && addr !== ipHex)) continue;
    total = (total ?? 0) + Number(fields[fields.length - 1]);
  }
  return total;
}

/** The kernel's receive-buffer drops of the UDP socket bound to host:port, or undefined where /proc cannot tell. */
export function socketReceiveDrops(address: { readonly host: string; readonly port: number }): number | undefined {
  // /proc/self/net, not /proc/net: still readable under systemd's ProcSubset=pid.
  const file = isIP(address.host) === 6 ? '/proc/self/net/udp6' : '/proc/self/net/udp';
  try {
    return dropsInProcNetUdp(readFileSync(file, 'utf8'), address.host, address.port);
  } catch {
    return undefined;
  }
}
