/**
 * Events: one type for everything saturn reports to operators (drift, a lost slave, a wrong
 * reference clock, ...), each with a sequence number that strictly increases and is never reused.
 * Consumers order events by sequence, never by `at`: wall time is what saturn distrusts. This file
 * is the vocabulary (kinds, fields, the llog line of each kind, the outbox record); journal.ts
 * numbers and publishes events.
 */
import type { Nanos, OffsetNs } from '../clock/clock.js';
import { type LlogFields, type LlogLevel, nsToMillisText, plainDecimal } from '../log/llog.js';

export const EVENT_KINDS = [
  'drift',
  'recovered',
  'drift_rate',
  'drift_rate_recovered',
  'slave_lost',
  'slave_back',
  'slave_forgotten',
  'name_conflict',
  'master_unreachable',
  'master_reachable',
  'reference_clock_wrong',
  'reference_clock_recovered',
  'roughtime_malfeasance',
  'falseticker',
  'falseticker_recovered',
  'no_majority',
  'no_majority_recovered',
  'clock_step',
] as const;
export type EventKind = (typeof EVENT_KINDS)[number];

/** The node (or server) an event is about. */
export interface EventSubject {
  id: string;
  /** host:port as the master saw it (or as configured, for the master itself). */
  addr: string;
}

/** What a caller passes to emit(). Durations in nanoseconds; `at` is the instant the edge observed. */
export interface EventInput {
  kind: EventKind;
  at: Nanos;
  node?: EventSubject;
  offsetNs?: OffsetNs;
  errorNs?: number;
  rttNs?: number;
  thresholdNs?: number;
  /** The node's frequency (node − reference), ppm, and its error bound: the frequency is within ppm ± this. */
  frequencyPpm?: number;
  frequencyErrorPpm?: number;
  /** The mesh's vote (falseticker, no_majority and their recoveries): nodes that agree, of how many voted. */
  agree?: number;
  of?: number;
  /** A repeated 'drift', 'drift_rate' or 'reference_clock_wrong' while still so (--realert). */
  repeat?: boolean;
  /** Free text: why (e.g. the reason the master is unreachable). */
  detail?: string;
}

/** An emitted event. */
export interface SaturnEvent extends EventInput {
  sequence: number;
  /** The name of the node that raised it. */
  reporter: string;
}

const LLOG_LINES: Record<EventKind, { level: LlogLevel; message: string }> = {
  drift: { level: 'WARN', message: 'slave offset is over threshold' },
  recovered: { level: 'INFO', message: 'slave offset back under threshold' },
  drift_rate: { level: 'WARN', message: 'slave clock drifts too fast' },
  drift_rate_recovered: { level: 'INFO', message: 'slave clock drift back within limits' },
  slave_lost: { level: 'WARN', message: 'slave lost' },
  slave_back: { level: 'INFO', message: 'slave back' },
  slave_forgotten: { level: 'INFO', message: 'slave forgotten' },
  name_conflict: { level: 'ERROR', message: 'two hosts report the same name' },
  master_unreachable: { level: 'WARN', message: 'master unreachable' },
  master_reachable: { level: 'INFO', message: 'master reachable again' },
  reference_clock_wrong: { level: 'ERROR', message: 'reference clock disagrees with roughtime' },
  reference_clock_recovered: { level: 'INFO', message: 'reference clock agrees with roughtime again' },
  roughtime_malfeasance: { level: 'ERROR', message: 'roughtime servers contradict each other' },
  falseticker: { level: 'ERROR', message: 'clock disagrees with the majority' },
  falseticker_recovered: { level: 'INFO', message: 'clock agrees with the majority again' },
  no_majority: { level: 'ERROR', message: 'no majority of clocks agrees' },
  no_majority_recovered: { level: 'INFO', message: 'a majority of clocks agrees again' },
  clock_step: { level: 'WARN', message: 'clock stepped' },
};

/** Splits "host:port" / "[v6]:port" into its host. */
function hostOf(addr: string): string {
  const bracketed = /^\[([^\]]+)\]:\d+$/.exec(addr);
  if (bracketed) return bracketed[1]!;
  const colon = addr.lastIndexOf(':');
  return colon < 0 ? addr : addr.slice(0, colon);
}

const ms = (ns: number | undefined) => (ns === undefined ? undefined : nsToMillisText(ns));
/** ppm to a thousandth: finer than any bound a check proves. */
const round3 = (x: number) => Math.round(x * 1000) / 1000;

/**
 * An event as one llog line, in the original tool's vocabulary: offsets in milliseconds, the
 * slave as `name` and `ip`; plus `event` and `sequence`, and a frequency and its error in ppm. The
 * master an (un)reachable-master event is about appears as `master`, and `name` is then the slave
 * that reports it.
 */
export function eventLlogLine(event: SaturnEvent): { level: LlogLevel; message: string; fields: LlogFields } {
  const { level, message } = LLOG_LINES[event.kind];
  const aboutMaster = event.kind === 'master_unreachable' || event.kind === 'master_reachable';
  // A reference event is about a Roughtime server (a malfeasance, a pair), named as the operator configured it.
  const aboutServer =
    event.kind === 'reference_clock_wrong' ||
    event.kind === 'reference_clock_recovered' ||
    event.kind === 'roughtime_malfeasance';
  // The mesh names a node by its name alone (it may be the master): agree="4" of="5" say the vote.
  const aboutVote = event.agree !== undefined;
  const fields: LlogFields = {
    event: event.kind,
    sequence: event.sequence,
    name: aboutMaster ? event.reporter : aboutServer ? undefined : event.node?.id,
    server: aboutServer ? event.node?.id : undefined,
    ip: aboutMaster || aboutServer || aboutVote || !event.node ? undefined : hostOf(event.node.addr),
    master: aboutMaster ? event.node?.addr : undefined,
    offset: ms(event.offsetNs),
    error: ms(event.errorNs),
    rtt: ms(event.rttNs),
    threshold: ms(event.thresholdNs),
    frequency: event.frequencyPpm === undefined ? undefined : plainDecimal(round3(event.frequencyPpm)),
    frequency_error: event.frequencyErrorPpm === undefined ? undefined : plainDecimal(round3(event.frequencyErrorPpm)),
    agree: event.agree,
    of: event.of,
    repeat: event.repeat ? true : undefined,
    reason: event.detail,
  };
  return { level, message, fields };
}

/**
 * Event → plain JSON-safe record (bigint instant as a decimal string), for the outbox. The sequence
 * comes first, so even the first bytes of a torn record say which event it was.
 */
export function eventToRecord(event: SaturnEvent): Record<string, unknown> {
  const { sequence, ...rest } = event;
  return { sequence, ...rest, at: event.at.toString() };
}

/** The inverse of eventToRecord; throws on a record that is not an event. */
export function eventFromRecord(record: Record<string, unknown>): SaturnEvent {
  const { kind, sequence, at, reporter } = record;
  if (
    !(EVENT_KINDS as readonly unknown[]).includes(kind) ||
    !Number.isSafeInteger(sequence) ||
    typeof at !== 'string' ||
    typeof reporter !== 'string'
  ) {
    throw new Error('not an event record');
  }
  return { ...(record as unknown as SaturnEvent), at: BigInt(at) };
}
