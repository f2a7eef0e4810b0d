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

  it('finds the newest joinable flight of a key, however many are in flight', () => {
    const flights = new Flights();
    const a1 = flights.start(new Flight('a', connection, 0, undefined), true);
    const b1 = flights.start(new Flight('b', connection, 0, undefined), true);
    const c1 = flights.start(new Flight('c', connection, 0, undefined), true);
    assert.equal(flights.get('a'), a1);
    assert.equal(flights.get('b'), b1);
    assert.equal(flights.get('c'), c1);
    assert.equal(flights.get('d'), undefined);
    // A forced refresh starts a second flight of a key: the newer one is joined.
    const a2 = flights.start(new Flight('a', connection, 0, undefined), true);
    const b2 = flights.start(new Flight('b', connection, 0, undefined), true);
    assert.equal(flights.get('a'), a2);
    assert.equal(flights.get('b'), b2);
    flights.finish(a1);
    flights.finish(b1);
    assert.equal(flights.get('a'), a2, 'the older flight finishing leaves the newer one joinable');
    assert.equal(flights.get('b'), b2);
    const hidden = flights.start(new Flight('c', connection, 0, undefined), false);
    assert.equal(flights.get('c'), c1, 'a flight that is not joinable is never found');
    flights.finish(hidden);
    for (const f of [a2, b2, c1]) flights.finish(f);
    for (const key of ['a', 'b', 'c']) {
      assert.equal(flights.get(key), undefined);
      assert.equal(flights.has(key), false);
    }
    assert.equal(flights.size, 0);
    const again = flights.start(new Flight('b', connection, 0, undefined), true);
    assert.equal(flights.get('b'), again, 'usable again once emptied');
  });
});
