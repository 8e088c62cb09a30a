/**
 * The master's table of peer measurements: what each slave reported about its peers in its last
 * checks. Pure state. Reports are validated here (the rules are the whole defence against a
 * confused or malicious reporter): a result about an unknown node or about the reporter itself,
 * an impossible value, or one older than the reporter's freshness window is dropped, with its
 * reason for the caller to count. One entry per ordered pair (the newest), at most
 * `maxPerReporter` per reporter: memory is bounded by the fleet.
 */
import type { Nanos, OffsetNs } from '../clock/clock.js';
import type { ErrorCode } from '../errors.js';
import type { PeerEdge } from './consensus.js';

/** One result a slave reports about a peer it checked. */
export interface PeerReport {
  /** The peer's node id (as the peer's Result named it). */
  readonly peerId: string;
  /** Reporter − peer. */
  readonly offsetNs: OffsetNs;
  readonly errorNs: number;
  readonly rttNs: number;
  /** How long before the report the measurement was made. */
  readonly ageNs: number;
}

interface Entry {
  /** The peer measured. */
  readonly to: string;
  offsetNs: number;
  errorNs: number;
  rttNs: number;
  /** Monotonic instant (master clock) the measurement was made, as the report's age places it. */
  atMono: Nanos;
}

/** Largest plausible offset between two clocks a peer measurement may claim (ten years). */
const MAX_OFFSET_NS = 10 * 365 * 86_400e9;
/** Largest plausible error bound or RTT of a check (a minute). */
const MAX_ERROR_NS = 60e9;

export class EdgeTable {
  /**
   * Per reporter its entries, oldest first: a short array (a reporter checks a few peers), not a
   * Map, whose hash table costs ~450 bytes per reporter (4.5 MB at 10,000 nodes). An entry is
   * updated in place when its pair is measured again: no new object per report.
   */
  private readonly edges = new Map<string, Entry[]>();

  constructor(private readonly maxPerReporter = 16) {}

  /**
   * Takes a reporter's results, received at monotonic `nowMono`; `known(id)` says whether a node
   * id exists, `freshNs` how old a result may be. Returns the drop code of each refused result.
   */
  record(
    reporter: string,
    reports: readonly PeerReport[],
    nowMono: Nanos,
    known: (id: string) => boolean,
    freshNs: number,
  ): ErrorCode[] {
    const drops: ErrorCode[] = [];
    let table = this.edges.get(reporter);
    for (const [i, report] of reports.entries()) {
      const code = this.judge(reporter, report, known, freshNs, i);
      if (code) {
        drops.push(code);
        continue;
      }
      if (table === undefined) {
        table = [];
        this.edges.set(reporter, table);
      }
      const atMono = nowMono - BigInt(Math.round(report.ageNs));
      const held = table.findIndex((e) => e.to === report.peerId);
      const entry = held < 0 ? { to: report.peerId, offsetNs: 0, errorNs: 0, rttNs: 0, atMono } : table[held]!;
      if (held >= 0) table.splice(held, 1);
      entry.offsetNs = report.offsetNs;
      entry.errorNs = report.errorNs;
      entry.rttNs = report.rttNs;
      entry.atMono = atMono;
      table.push(entry); // last: the newest
      if (table.length > this.maxPerReporter) table.shift();
    }
    return drops;
  }

  /** Edges measured no earlier than `sinceMono` each (per reporter), for the consensus. */
  fresh(sinceMono: (reporter: string) => Nanos): PeerEdge[] {
    const out: PeerEdge[] = [];
    for (const [from, table] of this.edges) {
      const since = sinceMono(from);
      for (const e of table)
        if (e.atMono >= since) out.push({ from, to: e.to, offsetNs: e.offsetNs, errorNs: e.errorNs });
    }
    return out;
  }

  /** A node's edges both ways, for /status: peer id → (this node − peer), newest of either direction. */
  about(id: string): { peer: string; offsetNs: number; errorNs: number; rttNs: number; atMono: Nanos }[] {
    const out = new Map<string, { peer: string; offsetNs: number; errorNs: number; rttNs: number; atMono: Nanos }>();
    const about = (peer: string, e: Entry, offsetNs: number) => ({
      peer,
      offsetNs,
      errorNs: e.errorNs,
      rttNs: e.rttNs,
      atMono: e.atMono,
    });
    for (const e of this.edges.get(id) ?? []) out.set(e.to, about(e.to, e, e.offsetNs));
    for (const [from, table] of this.edges) {
      const e = table.find((x) => x.to === id);
      if (!e) continue;
      const mine = out.get(from);
      if (!mine || mine.atMono < e.atMono) out.set(from, about(from, e, -e.offsetNs));
    }
    return [...out.values()];
  }

  /** Forgets everything by or about a node (forgotten, or found to share its name). */
  forget(id: string): void {
    this.edges.delete(id);
    for (const table of this.edges.values()) {
      const at = table.findIndex((e) => e.to === id);
      if (at >= 0) table.splice(at, 1);
    }
  }

  get size(): number {
    let n = 0;
    for (const table of this.edges.values()) n += table.length;
    return n;
  }

  private judge(
    reporter: string,
    r: PeerReport,
    known: (id: string) => boolean,
    freshNs: number,
    index: number,
  ): ErrorCode | undefined {
    if (index >= this.maxPerReporter) return 'SATURN_ERR_PEER_ABSURD';
    const finite = [r.offsetNs, r.errorNs, r.rttNs, r.ageNs].every(Number.isFinite);
    if (!finite || Math.abs(r.offsetNs) > MAX_OFFSET_NS || r.errorNs < 0 || r.errorNs > MAX_ERROR_NS) {
      return 'SATURN_ERR_PEER_ABSURD';
    }
    if (r.rttNs < 0 || r.rttNs > MAX_ERROR_NS || r.ageNs < 0) return 'SATURN_ERR_PEER_ABSURD';
    if (r.peerId === reporter || !known(r.peerId)) return 'SATURN_ERR_PEER_UNKNOWN';
    if (r.ageNs > freshNs) return 'SATURN_ERR_PEER_STALE';
    return undefined;
  }
}
