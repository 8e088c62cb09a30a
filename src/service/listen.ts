import { ConfigError } from '../errors.js';
import { type HostPort, formatHostPort } from '../util/parse.js';

/**
 * Runs `start` (which binds `addr` for `option`) and turns the usual bind failures into one
 * sentence naming the option, with `hint` for an address already in use.
 */
export async function listening<T>(option: string, addr: HostPort, start: () => Promise<T>, hint = ''): Promise<T> {
  try {
    return await start();
  } catch (err) {
    const where = `${option} ${formatHostPort(addr)}`;
    switch ((err as NodeJS.ErrnoException).code) {
      case 'EADDRINUSE':
        throw new ConfigError(`${where}: the address is already in use${hint}`);
      case 'EACCES':
        throw new ConfigError(`${where}: permission denied (ports below 1024 need CAP_NET_BIND_SERVICE)`);
      case 'EADDRNOTAVAIL':
        throw new ConfigError(`${where}: not an address of this host`);
      case 'ENOTFOUND':
      case 'EAI_AGAIN':
        throw new ConfigError(
          `${where}: the host ${addr.host} does not resolve (getaddrinfo ${String((err as NodeJS.ErrnoException).code)})`,
        );
      default:
        throw err;
    }
  }
}
