import { mkdir } from 'node:fs/promises';
import { join } from 'node:path';
import type { EventJournal } from '../events/journal.js';
import type { Clock, Nanos, OffsetNs, Timer } from '../clock/clock.js';
import { DEFAULT_REALERT_NS } from '../fleet/threshold.js';
import { AlarmLifecycle } from '../fleet/alarm-lifecycle.js';
import type { Logger } from '../log/diagnostics.js';
import { writeMalfeasanceReport } from '../roughtime/chain.js';
import { DEFAULT_QUERY_TIMEOUT_NS, type QueryAnswer, queryChain } from '../roughtime/client.js';
import { RoughtimeClientEdge } from '../roughtime/client-edge.js';
import type { RoughtimeServer } from '../roughtime/server-list.js';
import { formatHostPort } from '../util/parse.js';

/** What one round of reference checks found, for events, metrics and tests. */
export interface ReferenceRound {
  answers: readonly QueryAnswer[];
  /** Answers whose interval does not contain the local clock (unsynchronised servers excluded). */
  wrong: readonly QueryAnswer[];
  /**
   * Servers named as wrong rather than the local clock: each disagreed with it while a strict
   * majority of the servers that answered agreed with it in every answer. Their answers are in
   * `wrong` but raise no alarm.
   */
  outvoted: readonly string[];
  /** Answers that carried a server fault (RADI below the version's resolution, read as one unit). */
  serverFaults: number;
  /** Names of the servers that gave no valid answer in a query of the round (one per failed query). */
  failures: readonly string[];
  /** Path of the malfeasance report written, when servers contradicted each other. */
  reportPath: string | undefined;
  contradictions: number;
}

export interface ReferenceMonitorOptions {
  servers: readonly RoughtimeServer[];
  intervalNs: number;
  clock: Clock;
  logger: Logger;
  /** reference_clock_wrong goes here (numbered, to the llog stream and every webhook). */
  journal: EventJournal;
  /** Where malfeasance reports go; without it, the report is logged instead. */
  stateDir: string | undefined;
  /** Per-query timeout of the first attempt (default 1 s, growing 1.5x per retry). */
  timeoutMs?: number;
  /** Called after each round (events and metrics hook in here). */
  onRound?: (round: ReferenceRound) => void;
  /** Repeat reference_clock_wrong this often while the clock stays wrong, ns (default 10 min; --realert). */
  realertNs?: number;
}

/** What the reference alarm asks the caller to announce. */
export type ReferenceEvent = 'raise' | 'realert' | 'recovered';

/**
 * The reference clock's alarm, on the lifecycle every alarm shares (AlarmLifecycle): `raise` when
 * a round first finds the local clock outside a server's interval, `realert` every `realertNs`
 * (monotonic age) while rounds keep finding it so, `recovered` on the first round in which every
 * answer agrees. A round without a usable answer (servers silent or unsynchronised) proves
 * nothing: the state stays.
 */
export class ReferenceAlarm {
  readonly #lifecycle: AlarmLifecycle;

  constructor(realertNs: number = DEFAULT_REALERT_NS) {
    this.#lifecycle = new AlarmLifecycle(realertNs);
  }

  get realertNs(): number {
    return this.#lifecycle.realertNs;
  }

  /** True while the local clock is held wrong (since the last `raise`). */
  get wrong(): boolean {
    return this.#lifecycle.raised;
  }

  /** Feeds one round at monotonic instant `at`: how many usable answers agreed and disagreed. */
  evaluate(at: Nanos, agreeing: number, disagreeing: number): ReferenceEvent | undefined {
    if (!(Number.isInteger(agreeing) && Number.isInteger(disagreeing) && agreeing >= 0 && disagreeing >= 0))
      throw new RangeError(`answer counts must be integers >= 0, got ${agreeing} and ${disagreeing}`);
    if (agreeing === 0 && disagreeing === 0) return undefined;
    const step = this.#lifecycle.step(at, disagreeing > 0);
    return step === 'clear' ? 'recovered' : step;
  }
}

/** The master's own reference state, for /status, /metrics and the dashboard. */
export interface ReferenceState {
  /** `unknown` until a round has a usable answer; then `ok` or `wrong` (the alarm's state). */
  readonly state: 'unknown' | 'ok' | 'wrong';
  /** Wall time of the last round with a usable answer, ns since the epoch. */
  readonly checkedAt: Nanos | undefined;
  /** The answer that decided the last such round: the worst disagreeing one, or the first agreeing one. */
  readonly server: string | undefined;
  /** This clock − the server's MIDP (positive: this clock is ahead), and how far it may be off. */
  readonly offsetNs: OffsetNs | undefined;
  readonly errorNs: number | undefined;
}

/**
 * The servers outvoted in a round: those with an answer the local clock lies outside of, when a
 * strict majority of the servers that answered hold it inside every answer (the usual assumption
 * that most servers are honest; a chain twice over the list asks each server twice). With one or
 * two servers no majority can outvote a disagreement, so the local clock is held wrong.
 */
export function outvotedServers(agreeing: readonly QueryAnswer[], wrong: readonly QueryAnswer[]): string[] {
  const disagreeing = new Set(wrong.map((answer) => answer.server.name));
  const agreed = new Set(agreeing.map((answer) => answer.server.name).filter((name) => !disagreeing.has(name)));
  return agreed.size * 2 > agreed.size + disagreeing.size ? [...disagreeing] : [];
}

/**
 * The master does not trust its own clock blindly: every interval it asks its Roughtime servers,
 * chained (each nonce derived from the previous answer, the list twice so a liar is caught),
 * and checks that its clock at each exchange's midpoint lies within MIDP ± (RADI + RTT/2).
 */
export class ReferenceMonitor {
  private timer: Timer | undefined;
  private running: Promise<ReferenceRound> | undefined;
  private closed = false;
  private readonly alarm: ReferenceAlarm;
  private edge: Promise<RoughtimeClientEdge> | undefined;
  /** The server the standing alarm was raised on. */
  private raisedOn: { id: string; addr: string } | undefined;
  /** The pairs of servers the last round's malfeasance report named (undefined: no contradiction). */
  private contradicting: string | undefined;
  /** Roughtime servers named falsetickers (outvoted by the other servers), by name. */
  private readonly falsetickers = new Set<string>();
  private current: ReferenceState = {
    state: 'unknown',
    checkedAt: undefined,
    server: undefined,
    offsetNs: undefined,
    errorNs: undefined,
  };
  lastRound: ReferenceRound | undefined;

  constructor(private readonly options: ReferenceMonitorOptions) {
    this.alarm = new ReferenceAlarm(options.realertNs);
  }

  /** The master's own reference state now. */
  state(): ReferenceState {
    return this.current;
  }

  /** Runs a round now and then every interval. */
  start(): void {
    const loop = () => {
      if (this.closed) return;
      // A round that fails anyway is logged: an unhandled rejection would end the whole node.
      void this.check()
        .catch((error: unknown) =>
          this.options.logger.error({ err: (error as Error).message }, 'roughtime reference check failed'),
        )
        .finally(() => {
          if (!this.closed) this.timer = this.options.clock.setTimer(this.options.intervalNs, loop);
        });
    };
    loop();
  }

  /** One round of chained queries; never throws (a failing server is logged and counted). */
  check(): Promise<ReferenceRound> {
    this.running ??= this.round().finally(() => (this.running = undefined));
    return this.running;
  }

  private async round(): Promise<ReferenceRound> {
    const { servers, clock, logger } = this.options;
    // Twice over the list when there are several servers: the spec's way to catch one that lies.
    const sequence = servers.length > 1 ? [...servers, ...servers] : [...servers];
    // One pipeline edge for the monitor's life: its requests and answers cross the pipeline's
    // socket, and answers are verified on its worker thread, off the thread that times the legs.
    const edge = await (this.edge ??= RoughtimeClientEdge.open(clock));
    const outcome = await queryChain(sequence, {
      clock,
      edge,
      backoff: { initialMs: this.options.timeoutMs ?? DEFAULT_QUERY_TIMEOUT_NS / 1e6 },
    });
    for (const failure of outcome.failures) {
      logger.warn(
        { server: failure.server.name, err: (failure.error as Error).message },
        'roughtime server did not answer',
      );
    }
    const wrong: QueryAnswer[] = [];
    const agreeing: QueryAnswer[] = [];
    let serverFaults = 0;
    for (const answer of outcome.answers) {
      if (answer.result.radiBelowResolution) {
        serverFaults++;
        logger.warn(
          { server: answer.server.name, radi: answer.result.radi },
          'roughtime server fault: RADI below its timestamp resolution, read as one unit',
        );
      }
      if (answer.result.unsynchronised) {
        logger.warn({ server: answer.server.name }, 'roughtime server says its own clock is unsynchronised; ignored');
        continue;
      }
      logger.info(
        {
          server: answer.server.name,
          offsetMs: answer.offsetNs / 1e6,
          uncertaintyMs: answer.uncertaintyNs / 1e6,
          agrees: answer.withinInterval,
        },
        'roughtime reference checked',
      );
      (answer.withinInterval ? agreeing : wrong).push(answer);
    }
    const outvoted = outvotedServers(agreeing, wrong);
    for (const name of outvoted)
      logger.warn(
        { server: name },
        'roughtime server disagrees with the local clock and with the majority of servers: the server is wrong',
      );
    this.judge(
      agreeing,
      wrong.filter((answer) => !outvoted.includes(answer.server.name)),
    );
    this.nameServers(agreeing, wrong, outvoted, clock.now());
    let reportPath: string | undefined;
    // One proof per falling-out: while the same servers keep contradicting each other round after
    // round, a report and an event each round would only fill the state dir and page again.
    const pairs = [
      ...new Set(
        outcome.contradictions.map(
          ({ earlier, later }) => `${outcome.links[earlier]?.server.name} vs ${outcome.links[later]?.server.name}`,
        ),
      ),
    ]
      .sort()
      .join(', ');
    const known = outcome.report !== undefined && pairs === this.contradicting;
    this.contradicting = outcome.report === undefined ? undefined : pairs;
    if (known) logger.info({ pairs }, 'roughtime servers still contradict each other (reported already)');
    if (outcome.report && !known) {
      let writeError: string | undefined;
      if (this.options.stateDir) {
        const file = join(
          this.options.stateDir,
          `roughtime-malfeasance-${new Date(Number(clock.now() / 1_000_000n)).toISOString().replace(/[:.]/g, '-')}.json`,
        );
        // A full, read-only or missing state dir must not end the round (nor the process): the
        // report is logged instead, and the event says it was not written.
        try {
          await mkdir(this.options.stateDir, { recursive: true });
          await writeMalfeasanceReport(file, outcome.report);
          reportPath = file;
        } catch (error) {
          writeError = (error as Error).message;
        }
      }
      // A contradiction proves that one of a pair lied, not which: the event names the pair.
      const first = outcome.contradictions[0]!;
      const names = [outcome.links[first.earlier]?.server.name, outcome.links[first.later]?.server.name].join(' vs ');
      this.options.journal.emit({
        kind: 'roughtime_malfeasance',
        at: clock.now(),
        node: { id: `roughtime ${names}`, addr: names },
        detail: `roughtime servers contradict each other (${outcome.contradictions.length} pair(s)); malfeasance report: ${reportPath ?? (writeError === undefined ? 'not written, no --state-dir' : `not written (${writeError}), logged instead`)}`,
      });
      if (!reportPath) logger.error({ report: outcome.report, err: writeError }, 'roughtime malfeasance report');
    }
    const round: ReferenceRound = {
      answers: outcome.answers,
      wrong,
      outvoted,
      serverFaults,
      failures: outcome.failures.map((failure) => failure.server.name),
      reportPath,
      contradictions: outcome.contradictions.length,
    };
    this.lastRound = round;
    this.options.onRound?.(round);
    return round;
  }

  /** Feeds a round's usable answers to the alarm; emits what it says and updates the state. */
  /**
   * A server the other servers outvote is a falseticker, as a node outside the mesh's agreed time
   * is: `falseticker` once when it is named, `falseticker_recovered` once every answer of a later
   * round agrees with the local clock again (a server that does not answer stays named). The
   * event's offset is the server's time − the local clock, which the majority holds right.
   */
  private nameServers(
    agreeing: readonly QueryAnswer[],
    wrong: readonly QueryAnswer[],
    outvoted: readonly string[],
    at: Nanos,
  ): void {
    const answered = new Set([...agreeing, ...wrong].map((answer) => answer.server.name));
    const about = (answer: QueryAnswer) => ({
      at,
      node: { id: `roughtime ${answer.server.name}`, addr: formatHostPort(answer.server) },
      offsetNs: -answer.offsetNs,
      errorNs: answer.uncertaintyNs,
      agree: answered.size - outvoted.length,
      of: answered.size,
    });
    for (const name of outvoted) {
      if (this.falsetickers.has(name)) continue;
      this.falsetickers.add(name);
      this.options.journal.emit({ kind: 'falseticker', ...about(wrong.find((a) => a.server.name === name)!) });
    }
    for (const name of [...this.falsetickers]) {
      if (!answered.has(name) || wrong.some((answer) => answer.server.name === name)) continue;
      this.falsetickers.delete(name);
      this.options.journal.emit({
        kind: 'falseticker_recovered',
        ...about(agreeing.find((a) => a.server.name === name)!),
      });
    }
  }

  private judge(agreeing: readonly QueryAnswer[], wrong: readonly QueryAnswer[]): void {
    if (agreeing.length + wrong.length === 0) return;
    const { clock, journal } = this.options;
    // The worst disagreement names the event; with none, the first agreeing answer shows the state.
    const worst = [...wrong].sort((a, b) => Math.abs(b.offsetNs) - Math.abs(a.offsetNs))[0];
    const decisive = worst ?? agreeing[0]!;
    const event = this.alarm.evaluate(clock.monotonic(), agreeing.length, wrong.length);
    this.current = {
      state: this.alarm.wrong ? 'wrong' : 'ok',
      checkedAt: decisive.receivedNs,
      server: decisive.server.name,
      offsetNs: decisive.offsetNs,
      errorNs: decisive.uncertaintyNs,
    };
    if (event === undefined) return;
    // The recovery names the server the alarm was raised on, so a receiver resolves that very alert.
    const subject = { id: decisive.server.name, addr: formatHostPort(decisive.server) };
    if (event === 'raise') this.raisedOn = subject;
    // Offset as everywhere in saturn: this clock minus the reference (positive: we are ahead).
    journal.emit({
      kind: event === 'recovered' ? 'reference_clock_recovered' : 'reference_clock_wrong',
      at: decisive.receivedNs,
      node: event === 'raise' ? subject : (this.raisedOn ?? subject),
      offsetNs: decisive.offsetNs,
      errorNs: decisive.uncertaintyNs,
      rttNs: decisive.rttNs,
      repeat: event === 'realert' ? true : undefined,
      detail:
        event === 'recovered'
          ? `the local clock lies inside MIDP ± (RADI + RTT/2) of all ${agreeing.length} answer(s)`
          : `the local clock lies outside MIDP ± (RADI + RTT/2) of ${wrong.length} of ${agreeing.length + wrong.length} answer(s)`,
    });
  }

  async close(): Promise<void> {
    this.closed = true;
    this.timer?.cancel();
    await this.running?.catch(() => undefined);
    await (await this.edge?.catch(() => undefined))?.close();
  }
}
