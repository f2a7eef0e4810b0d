import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import type { Connection } from '../../../src/index.js';
import { Flight, Flights } from '../../../src/middleware/cache/coalesce.js';

const connection = {} as Connection;

describe('Flights', () => {
  it('reports the oldest start sequence of the flights still in flight', () => {
    const flights = new Flights();
    assert.equal(flights.oldestStart(9), 9, 'none in flight: the fallback');
    const a = flights.start(new Flight('a', connection, 3, undefined), true);
    const b = flights.start(new Flight('b', connection, 5, undefined), true);
    assert.equal(flights.oldestStart(9), 3);
    flights.finish(a);
    assert.equal(flights.oldestStart(9), 5, 'a finished flight no longer counts');
    flights.finish(b);
    assert.equal(flights.oldestStart(9), 9);
    assert.equal(flights.size, 0);
  });

  it('stays correct across many invalidations (sequence numbers come and go)', () => {
    const flights = new Flights();
    const held = flights.start(new Flight('held', connection, 1, undefined), true);
    for (let seq = 2; seq < 200; seq++) {
      const f = flights.start(new Flight(`k${seq}`, connection, seq, undefined), true);
      assert.equal(flights.oldestStart(1_000), 1);
      flights.finish(f);
    }
    assert.equal(flights.oldestStart(1_000), 1);
    flights.finish(held);
    assert.equal(flights.oldestStart(1_000), 1_000);
    assert.equal(flights.get('held'), undefined);
  });
});
