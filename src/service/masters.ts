/**
 * Which masters a slave reports to: the --master-addr entries, each an address (a host name is
 * looked up again every check, as a moved master keeps its name) or a DNS name whose SRV record
 * `_saturn._udp.NAME` lists the masters (the original tool found its master this way). Every
 * target of the record's lowest priority is a master (an HA pair shares a priority); the record is
 * read again at most once a minute, and its last answer kept while DNS fails.
 */
import { Resolver } from 'node:dns/promises';
import { lookup } from 'node:dns/promises';
import { isIP } from 'node:net';
import type { MasterSpec } from '../config/options.js';
import type { Peer } from '../pipeline/pipeline.js';
import { formatHostPort } from '../util/parse.js';

/** The DNS queries this needs (node:dns/promises in production; a stub server or a fake in tests). */
export interface MasterDns {
  /** A host name's address. */
  lookup(host: string): Promise<string>;
  /** An SRV record's targets. */
  resolveSrv(name: string): Promise<{ name: string; port: number; priority: number; weight: number }[]>;
}

/** Node's resolver, optionally pointed at given DNS servers (`host:port`). */
export function systemDns(servers?: string[]): MasterDns {
  const resolver = new Resolver();
  if (servers) resolver.setServers(servers);
  return {
    lookup: async (host) => (await lookup(host)).address,
    resolveSrv: (name) => resolver.resolveSrv(name),
  };
}

/** A master as the slave addresses it: the key it is known by (for logs and cookies) and where to send. */
export interface MasterTarget {
  /** `host:port` as configured or as the SRV record names it. */
  readonly key: string;
  readonly to: Peer;
}

const SRV_REFRESH_NS = 60e9;

export class Masters {
  private readonly srvCache = new Map<string, { at: bigint; targets: { host: string; port: number }[] }>();

  constructor(
    private readonly specs: readonly MasterSpec[],
    private readonly dns: MasterDns,
    private readonly onError: (spec: string, error: Error) => void,
  ) {}

  /**
   * The masters to check now (monotonic `nowMono` paces SRV refreshes); failures are reported and
   * skipped. Masters given as IP addresses need no lookup: they come back at once, not as a
   * promise, so a check starts on the very timer tick that asks for it.
   */
  resolve(nowMono: bigint): MasterTarget[] | Promise<MasterTarget[]> {
    if (this.specs.every((s) => s.kind === 'address' && isIP(s.addr.host) !== 0)) {
      return this.specs.map((s) => {
        const addr = (s as Extract<MasterSpec, { kind: 'address' }>).addr;
        return { key: formatHostPort(addr), to: { address: addr.host, port: addr.port } };
      });
    }
    return this.lookUp(nowMono);
  }

  private async lookUp(nowMono: bigint): Promise<MasterTarget[]> {
    const targets: MasterTarget[] = [];
    for (const spec of this.specs) {
      const hosts = spec.kind === 'address' ? [spec.addr] : await this.srv(spec.name, nowMono);
      for (const host of hosts) {
        const key = formatHostPort(host);
        try {
          const address = isIP(host.host) === 0 ? await this.dns.lookup(host.host) : host.host;
          targets.push({ key, to: { address, port: host.port } });
        } catch (error) {
          this.onError(key, error as Error);
        }
      }
    }
    return targets;
  }

  private async srv(name: string, nowMono: bigint): Promise<{ host: string; port: number }[]> {
    const cached = this.srvCache.get(name);
    if (cached && nowMono - cached.at < BigInt(SRV_REFRESH_NS)) return cached.targets;
    const record = `_saturn._udp.${name}`;
    try {
      const answers = await this.dns.resolveSrv(record);
      if (answers.length === 0) throw new Error(`${record} has no targets`);
      const best = Math.min(...answers.map((a) => a.priority));
      const targets = answers
        .filter((a) => a.priority === best)
        .map((a) => ({ host: a.name.replace(/\.$/, ''), port: a.port }));
      this.srvCache.set(name, { at: nowMono, targets });
      return targets;
    } catch (error) {
      this.onError(record, error as Error);
      return cached?.targets ?? [];
    }
  }
}
