import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { interpolateEnv, isConfigError } from '../../src/config/index.js';

describe('interpolateEnv', () => {
  const env = { REDIS_URL: 'redis://10.0.0.1:6379', PREFIX: 'app:', EMPTY: '' };

  it('replaces ${NAME} in every string, at any depth, without changing the input', () => {
    const input = {
      middleware: [{ cache: { store: { redis: { url: '${REDIS_URL}', prefix: '${PREFIX}v1:' } } } }],
    };
    const out = interpolateEnv(input, env);
    assert.deepEqual(out, {
      middleware: [{ cache: { store: { redis: { url: 'redis://10.0.0.1:6379', prefix: 'app:v1:' } } } }],
    });
    assert.equal(input.middleware[0]!.cache.store.redis.url, '${REDIS_URL}');
  });

  it('uses the fallback of ${NAME:-fallback} when the variable is unset or empty, and keeps $${ literal', () => {
    assert.deepEqual(interpolateEnv(['${MISSING:-5m}', '${EMPTY:-x}', '$${REDIS_URL}', 7, true, null], env), [
      '5m',
      'x',
      '${REDIS_URL}',
      7,
      true,
      null,
    ]);
  });

  it('names the path and the variable of every unset reference', () => {
    try {
      interpolateEnv(
        { middleware: [{ cache: { store: { redis: { url: '${NOPE}', prefix: '${ALSO_NOPE}' } } } }] },
        env,
      );
      assert.fail('no error');
    } catch (error) {
      assert.ok(isConfigError(error));
      assert.deepEqual(
        error.issues.map((i) => i.path),
        ['middleware[0].cache.store.redis.url', 'middleware[0].cache.store.redis.prefix'],
      );
      assert.match(error.issues[0]!.message, /environment variable NOPE is not set/);
      assert.match(
        error.message,
        /middleware\[0\]\.cache\.store\.redis\.prefix: environment variable ALSO_NOPE/,
      );
    }
  });
});
