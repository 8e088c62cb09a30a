import { mkdir } from 'node:fs/promises';
import { join } from 'node:path';
import { type LlogWriter, nsToMillisText } from '../alert/llog.js';
import type { Clock } from '../clock/clock.js';
import type { Logger } from '../log/diagnostics.js';
import { writeMalfeasanceReport } from '../roughtime/chain.js';
import { type QueryAnswer, queryChain } from '../roughtime/client.js';
import type { RoughtimeServer } from '../roughtime/server-list.js';

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
  llog: LlogWriter;
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
  private timer: NodeJS.Timeout | undefined;
  private running: Promise<ReferenceRound> | undefined;
  private closed = false;
  lastRound: ReferenceRound | undefined;

  constructor(private readonly options: ReferenceMonitorOptions) {}

  /** Runs a round now and then every interval. */
  start(): void {
    const loop = () => {
      if (this.closed) return;
      void this.check().finally(() => {
        if (!this.closed) this.timer = setTimeout(loop, this.options.intervalNs / 1e6);
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
    const { servers, clock, logger, llog } = this.options;
    // Twice over the list when there are several servers: the spec's way to catch one that lies.
    const sequence = servers.length > 1 ? [...servers, ...servers] : [...servers];
    const outcome = await queryChain(sequence, { clock, backoff: { initialMs: this.options.timeoutMs ?? 1000 } });
    for (const failure of outcome.failures) {
      logger.warn({ server: failure.server.name, err: (failure.error as Error).message }, 'roughtime server did not answer');
    }
    const wrong: QueryAnswer[] = [];
    for (const answer of outcome.answers) {
      if (answer.result.unsynchronised) {
        logger.warn({ server: answer.server.name }, 'roughtime server says its own clock is unsynchronised; ignored');
        continue;
      }
      if (answer.withinInterval) continue;
      wrong.push(answer);
      // Offset as everywhere in saturn: this clock minus the reference (positive: we are ahead).
      llog.line('ERROR', 'reference clock disagrees with roughtime', {
        offset: nsToMillisText(-answer.offsetNs),
        radius: nsToMillisText(answer.result.radiNs ?? 0),
        rtt: nsToMillisText(answer.rttNs),
        server: answer.server.name,
      });
    }
    let reportPath: string | undefined;
    if (outcome.report) {
      if (this.options.stateDir) {
        await mkdir(this.options.stateDir, { recursive: true });
        reportPath = join(this.options.stateDir, `roughtime-malfeasance-${new Date(Number(clock.now() / 1_000_000n)).toISOString().replace(/[:.]/g, '-')}.json`);
        await writeMalfeasanceReport(reportPath, outcome.report);
      }
      llog.line('ERROR', 'roughtime servers contradict each other', {
        contradictions: outcome.contradictions.length,
        report: reportPath ?? 'not written: no --state-dir',
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
    if (this.timer) clearTimeout(this.timer);
    await this.running?.catch(() => undefined);
  }
}
