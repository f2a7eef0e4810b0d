/**
 * The Lua scripts of the Redis cache store. Each runs as one atomic round trip and none
 * walks more than a bounded batch of keys, so no script blocks a Redis shared by every
 * replica for long.
 *
 * How invalidation works: each tag has a generation (`<prefix>g:<tag>`, a counter) and
 * the store an epoch (`<prefix>epoch`). An entry records the epoch and its tags'
 * generations when written (`g`, a JSON array `[epoch, gen of tag 1, …]`); a reader
 * serves it only while they are all still current. Dropping a tag is one `INCR` (O(1),
 * whatever the number of entries); dropping everything is one `INCR` of the epoch.
 * Deleting the entries left behind is housekeeping, done in batches by {@link SWEEP_SCRIPT}.
 *
 * @module
 */

import { script } from './guarded.js';

/**
 * Writes an entry and indexes its tags. KEYS[1] the entry. ARGV: 1 the entry (JSON text or
 * packed bytes, never read here), 2 tags JSON, 3 PX, 4 tag-set prefix, 5 key, 6 channel,
 * 7 announcement (`''` for none), 8 staleUntil, 9 generations JSON, 10 generation-key
 * prefix, 11 the entry's field (`v` JSON, `b` binary), 12.. tags. Tag sets, and the
 * generations of tags that have one, live at least as long as their longest-lived member.
 */
export const SET_SCRIPT = script(`
local px = tonumber(ARGV[3])
redis.call('DEL', KEYS[1])
redis.call('HSET', KEYS[1], ARGV[11], ARGV[1], 't', ARGV[2], 's', ARGV[8], 'g', ARGV[9])
redis.call('PEXPIRE', KEYS[1], px)
for i = 12, #ARGV do
  local tk = ARGV[4] .. ARGV[i]
  redis.call('SADD', tk, ARGV[5])
  if redis.call('PTTL', tk) < px then redis.call('PEXPIRE', tk, px) end
  local gk = ARGV[10] .. ARGV[i]
  local gt = redis.call('PTTL', gk)
  if gt >= 0 and gt < px then redis.call('PEXPIRE', gk, px) end
end
if ARGV[7] ~= '' then redis.call('PUBLISH', ARGV[6], ARGV[7]) end
return 1
`);

/**
 * Drops a tag: bumps its generation, so no entry written before is served again, and
 * publishes the new generation. KEYS[1] the generation, KEYS[2] the tag set. ARGV:
 * 1 channel, 2 message head (the tag and generation are appended as `<gen>:<tag>`),
 * 3 tag, 4 the generation's least lifetime in ms. The generation lives as long as the
 * tag set (every entry carrying the tag), and at least ARGV[4], so a reader's memo of it
 * never outlives it. Answers the new generation.
 */
export const BUMP_SCRIPT = script(`
local g = redis.call('INCR', KEYS[1])
local ttl = math.max(redis.call('PTTL', KEYS[2]), tonumber(ARGV[4]))
redis.call('PEXPIRE', KEYS[1], ttl)
redis.call('PUBLISH', ARGV[1], ARGV[2] .. g .. ':' .. ARGV[3])
return g
`);

/**
 * Drops every entry: bumps the epoch and publishes it. KEYS[1] the epoch. ARGV: 1 channel,
 * 2 message head (the epoch is appended). Answers the new epoch.
 */
export const EPOCH_SCRIPT = script(`
local e = redis.call('INCR', KEYS[1])
redis.call('PUBLISH', ARGV[1], ARGV[2] .. e)
return e
`);

/**
 * Reads the epoch, first bumping it when Redis restarted since the store's keys were
 * written (its run id differs from the one recorded): a Redis restored from an older
 * snapshot may have lost invalidations, so nothing written before is trusted. KEYS[1]
 * the epoch, KEYS[2] the recorded run id. ARGV: 1 channel, 2 message head. Answers the
 * epoch. A missing record (first start, or a Redis that lost everything) bumps nothing.
 */
export const CHECK_RUN_SCRIPT = script(`
local run = string.match(redis.call('INFO', 'server'), 'run_id:(%w+)')
local seen = redis.call('GET', KEYS[2])
if seen ~= run then
  redis.call('SET', KEYS[2], run)
  if seen then
    local e = redis.call('INCR', KEYS[1])
    redis.call('PUBLISH', ARGV[1], ARGV[2] .. e)
    return e
  end
end
return tonumber(redis.call('GET', KEYS[1]) or '0')
`);

/**
 * One batch of the clean-up after a tag's generation was bumped to G: deletes the members
 * of the tag set whose entry was written before (generation below G), forgets members
 * whose entry is gone or no longer carries the tag, and keeps those written since.
 * KEYS[1] the tag set. ARGV: 1 entry-key prefix, 2 tag, 3 G, 4 now, 5 cursor, 6 batch.
 * Answers `{ next cursor, live entries deleted }`; expired ones are deleted but not counted.
 */
export const SWEEP_SCRIPT = script(`
local g = tonumber(ARGV[3])
local now = tonumber(ARGV[4])
local page = redis.call('SSCAN', KEYS[1], ARGV[5], 'COUNT', ARGV[6])
local n = 0
for _, m in ipairs(page[2]) do
  local k = ARGV[1] .. m
  local f = redis.pcall('HMGET', k, 't', 's', 'g')
  local carries = false
  local stale = true
  if type(f) == 'table' and f[1] then
    local ok, tags = pcall(cjson.decode, f[1])
    if ok and type(tags) == 'table' then
      for i, x in ipairs(tags) do
        if x == ARGV[2] then
          carries = true
          local okg, gens = pcall(cjson.decode, f[3] or '')
          if okg and type(gens) == 'table' and tonumber(gens[i + 1]) and tonumber(gens[i + 1]) >= g then
            stale = false
          end
          break
        end
      end
    end
  end
  if not carries then
    redis.call('SREM', KEYS[1], m)
  elseif stale then
    local s = tonumber(f[2])
    if s ~= nil and s >= now then n = n + 1 end
    redis.call('DEL', k)
    redis.call('SREM', KEYS[1], m)
  end
end
return { page[1], n }
`);

/**
 * A token bucket's refill and take, in one step. KEYS[1] the bucket (a hash: `t` tokens,
 * `u` when they were counted, ms). ARGV: 1 capacity, 2 tokens per ms, 3 cost, 4 now in ms
 * (`''`: Redis's own `TIME`), 5 extra lifetime in ms. A bucket is deleted by expiry once it
 * would be full again (plus ARGV[5]): a missing bucket is a full one. Answers
 * `{ allowed (1 or 0), retry after ms, whole tokens left }`.
 */
export const TAKE_SCRIPT = script(`
local cap = tonumber(ARGV[1])
local rate = tonumber(ARGV[2])
local now = tonumber(ARGV[4])
if now == nil then
  local t = redis.call('TIME')
  now = tonumber(t[1]) * 1000 + tonumber(t[2]) / 1000
end
local s = redis.call('HMGET', KEYS[1], 't', 'u')
local tokens = tonumber(s[1])
local at = tonumber(s[2])
if tokens == nil or at == nil then
  tokens = cap
  at = now
elseif now > at then
  tokens = math.min(cap, tokens + (now - at) * rate)
  at = now
end
local need = math.min(tonumber(ARGV[3]), cap)
local allowed = 0
local retry = 0
if tokens >= need then
  tokens = tokens - need
  allowed = 1
else
  retry = math.ceil((need - tokens) / rate)
end
redis.call('HSET', KEYS[1], 't', string.format('%.17g', tokens), 'u', string.format('%.17g', at))
redis.call('PEXPIRE', KEYS[1], math.ceil((cap - tokens) / rate) + tonumber(ARGV[5]))
return { allowed, retry, math.floor(tokens) }
`);

/**
 * Takes a lease of a semaphore (a sorted set of lease ids scored by their deadlines, by
 * Redis's own `TIME`, so replicas' clocks never matter): drops expired leases, then adds
 * this one if fewer than the limit remain. KEYS[1] the semaphore. ARGV: 1 limit, 2 lease
 * id, 3 lease ms. The set expires with its last lease. Answers `{ granted (1 or 0),
 * leases held, ms until the earliest lease expires }`.
 */
export const ACQUIRE_SCRIPT = script(`
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
local ttl = tonumber(ARGV[3])
redis.call('ZREMRANGEBYSCORE', KEYS[1], '-inf', now)
local n = redis.call('ZCARD', KEYS[1])
if n < tonumber(ARGV[1]) then
  redis.call('ZADD', KEYS[1], now + ttl, ARGV[2])
  if redis.call('PTTL', KEYS[1]) < ttl then redis.call('PEXPIRE', KEYS[1], ttl) end
  return { 1, n + 1, 0 }
end
local first = redis.call('ZRANGE', KEYS[1], 0, 0, 'WITHSCORES')
return { 0, n, math.max(0, tonumber(first[2]) - now) }
`);

/**
 * Extends a lease to ARGV[2] ms from now, if it is still held. KEYS[1] the semaphore.
 * ARGV: 1 lease id, 2 lease ms. Answers 1, or 0 when the lease had expired and was dropped
 * (a lease past its deadline but not yet dropped is still counted by everyone, so
 * extending it oversells nothing).
 */
export const RENEW_SCRIPT = script(`
if not redis.call('ZSCORE', KEYS[1], ARGV[1]) then return 0 end
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
local ttl = tonumber(ARGV[2])
redis.call('ZADD', KEYS[1], 'XX', now + ttl, ARGV[1])
if redis.call('PTTL', KEYS[1]) < ttl then redis.call('PEXPIRE', KEYS[1], ttl) end
return 1
`);

/**
 * Ends a fill this store claimed: deletes the fill lock if it still holds it, and tells
 * every replica waiting on the key. KEYS[1] the lock. ARGV: 1 owner, 2 channel, 3 message.
 */
export const RELEASE_FILL_SCRIPT = script(`
if redis.call('GET', KEYS[1]) == ARGV[1] then redis.call('DEL', KEYS[1]) end
redis.call('PUBLISH', ARGV[2], ARGV[3])
return 1
`);
