import assert from 'node:assert/strict';
import { test } from 'node:test';
import { SimClock } from '../../src/clock/sim-clock.js';
import { buildConfig } from '../../src/config/build-config.js';
import type { SaturnEvent } from '../../src/events/event.js';
import { EventJournal } from '../../src/events/journal.js';
import { MemorySequence } from '../../src/events/sequence-store.js';
import { LlogWriter } from '../../src/log/llog.js';
import { MasterService } from '../../src/service/master-service.js';
import { lineSink, testLogger } from '../helpers/sinks.js';

test('the lost-slave sweep runs on the injected clock: slave_lost after 3 silent intervals, even across a wall step', async () => {
  const clock = new SimClock();
  const events: SaturnEvent[] = [];
  const journal = new EventJournal(new MemorySequence(), 'master');
  journal.subscribe((e) => events.push(e));
  const config = buildConfig({ listenAddr: '127.0.0.1:0', hmacKey: 'sweep-test-key-0123456789', interval: '10s' });
  const master = await MasterService.start(config, {
    clock,
    logger: testLogger().logger,
    llog: new LlogWriter(lineSink()),
    journal,
  });
  try {
    master.fleet.record({
      nodeId: 'web-1',
      ip: '127.0.0.1',
      port: 4000,
      intervalNs: 0,
      at: clock.read(),
      samples: [],
      outcome: { ok: true, estimate: { offsetNs: 0, errorNs: 1000, rttNs: 2000, kept: 4, total: 5 } },
    });
    clock.step(3600e9); // the master's wall clock jumps an hour: nobody is lost for that
    clock.advance(25e9);
    assert.equal(events.length, 0);
    clock.advance(10e9);
    assert.deepEqual(
      events.map((e) => [e.kind, e.node?.id]),
      [['slave_lost', 'web-1']],
    );
    assert.match(events[0]!.detail!, /no check for 30 s/);
  } finally {
    await master.close();
  }
});
