import { mkdir } from 'node:fs/promises';
import { join } from 'node:path';
import type { EventJournal } from '../events/journal.js';
import type { Clock, Timer } from '../clock/clock.js';
import type { Logger } from '../log/diagnostics.js';
import { writeMalfeasanceReport } from '../roughtime/chain.js';
import { type QueryAnswer, queryChain } from '../roughtime/client.js';
import type { RoughtimeServer } from '../roughtime/server-list.js';
import { formatHostPort } from '../util/parse.js';

/** What one round of reference checks found, for events, metrics and tests. */
export interface ReferenceRound {
  answers: readonly QueryAnswer[];
  /** Answers whose interval does not contain the local clock (unsynchronised servers excluded). */
  wrong: readonly QueryAnswer[];
  failures: number;
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
  lastRound: ReferenceRound | undefined;

  constructor(private readonly options: ReferenceMonitorOptions) {}

  /** Runs a round now and then every interval. */
  start(): void {
    const loop = () => {
      if (this.closed) return;
      void this.check().finally(() => {
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
    const outcome = await queryChain(sequence, { clock, backoff: { initialMs: this.options.timeoutMs ?? 1000 } });
    for (const failure of outcome.failures) {
      logger.warn(
        { server: failure.server.name, err: (failure.error as Error).message },
        'roughtime server did not answer',
      );
    }
    const wrong: QueryAnswer[] = [];
    for (const answer of outcome.answers) {
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
      if (answer.withinInterval) continue;
      wrong.push(answer);
      // Offset as everywhere in saturn: this clock minus the reference (positive: we are ahead).
      this.options.journal.emit({
        kind: 'reference_clock_wrong',
        at: answer.receivedNs,
        node: { id: answer.server.name, addr: formatHostPort(answer.server) },
        offsetNs: answer.offsetNs,
        errorNs: answer.uncertaintyNs,
        rttNs: answer.rttNs,
        detail: 'the local clock lies outside MIDP ± (RADI + RTT/2)',
      });
    }
    let reportPath: string | undefined;
    if (outcome.report) {
      if (this.options.stateDir) {
        await mkdir(this.options.stateDir, { recursive: true });
        reportPath = join(
          this.options.stateDir,
          `roughtime-malfeasance-${new Date(Number(clock.now() / 1_000_000n)).toISOString().replace(/[:.]/g, '-')}.json`,
        );
        await writeMalfeasanceReport(reportPath, outcome.report);
      }
      // A contradiction proves that one of a pair lied, not which: the event names the pair.
      const first = outcome.contradictions[0]!;
      const names = [outcome.links[first.earlier]?.server.name, outcome.links[first.later]?.server.name].join(' vs ');
      this.options.journal.emit({
        kind: 'falseticker',
        at: clock.now(),
        node: { id: `roughtime ${names}`, addr: names },
        detail: `roughtime servers contradict each other (${outcome.contradictions.length} pair(s)); malfeasance report: ${reportPath ?? 'not written, no --state-dir'}`,
      });
      if (!reportPath) logger.error({ report: outcome.report }, 'roughtime malfeasance report');
    }
    const round: ReferenceRound = {
      answers: outcome.answers,
      wrong,
      failures: outcome.failures.length,
      reportPath,
      contradictions: outcome.contradictions.length,
    };
    this.lastRound = round;
    this.options.onRound?.(round);
    return round;
  }

  async close(): Promise<void> {
    this.closed = true;
    this.timer?.cancel();
    await this.running?.catch(() => undefined);
  }
}
