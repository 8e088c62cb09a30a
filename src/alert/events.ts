/**
 * Events (SPEC §6): one type for everything saturn alerts on, each with a sequence number that
 * strictly increases and is never reused (see sequence-store.ts). Consumers order events by
 * sequence, never by `at`: wall time is what saturn distrusts. Emitting is one call:
 *   events.emit({ kind: 'reference_clock_wrong', at, detail: '...' })
 * and every sink (the webhook outboxes first, so an event is durable before it is shown; then the
 * llog stream) receives it synchronously, in sequence order.
 */
import type { Nanos } from '../clock/clock.js';
import { type LlogFields, type LlogLevel, nsToMillisText } from './llog.js';
import type { SequenceSource } from './sequence-store.js';

export const EVENT_KINDS = [
  'drift',
  'recovered',
  'slave_lost',
  'master_unreachable',
  'reference_clock_wrong',
  'falseticker',
  'no_majority',
] as const;
export type EventKind = (typeof EVENT_KINDS)[number];

/** The node an event is about. */
export interface EventNode {
  id: string;
  /** host:port as the master saw it (or as configured, for the master itself). */
  addr: string;
}

/** What a caller passes to emit(). Durations in nanoseconds; `at` is the instant the edge observed. */
export interface EventInput {
  kind: EventKind;
  at: Nanos;
  node?: EventNode;
  offsetNs?: number;
  errorNs?: number;
  rttNs?: number;
  thresholdNs?: number;
  /** A repeated 'drift' while still over threshold (--realert). */
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

/** Receives every event, in sequence order. Must not throw; it runs inside emit(). */
export type EventSink = (event: SaturnEvent) => void;

/** Numbers the events and hands each to every sink; counts them by kind. */
export class Events {
  readonly counts = new Map<EventKind, number>();
  readonly #sequence: SequenceSource;
  readonly #reporter: string;
  readonly #sinks: EventSink[] = [];

  constructor(sequence: SequenceSource, reporter: string) {
    this.#sequence = sequence;
    this.#reporter = reporter;
  }

  /** Adds a sink; sinks run in the order they were added. */
  subscribe(sink: EventSink): void {
    this.#sinks.push(sink);
  }

  /** Numbers one event and delivers it to every sink; returns it. */
  emit(input: EventInput): SaturnEvent {
    const event: SaturnEvent = { ...input, sequence: this.#sequence.next(), reporter: this.#reporter };
    this.counts.set(event.kind, (this.counts.get(event.kind) ?? 0) + 1);
    for (const sink of this.#sinks) sink(event);
    return event;
  }
}

const LLOG_LINES: Record<EventKind, { level: LlogLevel; message: string }> = {
  drift: { level: 'WARN', message: 'slave offset is over threshold' },
  recovered: { level: 'INFO', message: 'slave offset back under threshold' },
  slave_lost: { level: 'WARN', message: 'slave lost' },
  master_unreachable: { level: 'WARN', message: 'master unreachable' },
  reference_clock_wrong: { level: 'ERROR', message: 'reference clock disagrees with roughtime' },
  falseticker: { level: 'WARN', message: 'falseticker' },
  no_majority: { level: 'ERROR', message: 'no majority of clocks agrees' },
};

/** Splits "host:port" / "[v6]:port" into its host. */
function hostOf(addr: string): string {
  const bracketed = /^\[([^\]]+)\]:\d+$/.exec(addr);
  if (bracketed) return bracketed[1]!;
  const colon = addr.lastIndexOf(':');
  return colon < 0 ? addr : addr.slice(0, colon);
}

const ms = (ns: number | undefined) => (ns === undefined ? undefined : nsToMillisText(ns));

/**
 * An event as one llog line, in the original tool's vocabulary: offsets in milliseconds, the
 * slave as `name` and `ip`; plus `event` and `sequence`. The master an unreachable-master event is
 * about appears as `master`, and `name` is then the slave that could not reach it.
 */
export function eventLlogLine(event: SaturnEvent): { level: LlogLevel; message: string; fields: LlogFields } {
  const { level, message } = LLOG_LINES[event.kind];
  const aboutMaster = event.kind === 'master_unreachable';
  // A reference event is about a Roughtime server, named as the operator configured it.
  const aboutServer = event.kind === 'reference_clock_wrong';
  const fields: LlogFields = {
    event: event.kind,
    sequence: event.sequence,
    name: aboutMaster ? event.reporter : aboutServer ? undefined : event.node?.id,
    server: aboutServer ? event.node?.id : undefined,
    ip: aboutMaster || aboutServer || !event.node ? undefined : hostOf(event.node.addr),
    master: aboutMaster ? event.node?.addr : undefined,
    offset: ms(event.offsetNs),
    error: ms(event.errorNs),
    rtt: ms(event.rttNs),
    threshold: ms(event.thresholdNs),
    repeat: event.repeat ? true : undefined,
    reason: event.detail,
  };
  return { level, message, fields };
}

/** An instant as RFC 3339 UTC with nanoseconds: 2024-05-01T12:00:00.123456789Z. */
export function isoNanos(at: Nanos): string {
  const ms = at / 1_000_000n - (at % 1_000_000n < 0n ? 1n : 0n);
  const subMs = at - ms * 1_000_000n;
  const base = new Date(Number(ms)).toISOString(); // ...sss Z
  return `${base.slice(0, -1)}${subMs.toString().padStart(6, '0')}Z`;
}

/** Event → plain JSON-safe record (bigint instant as a decimal string), for the outbox. */
export function eventToRecord(event: SaturnEvent): Record<string, unknown> {
  return { ...event, at: event.at.toString() };
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
