/**
 * The Lua scripts of the Redis cache store. Each runs as one atomic round trip.
 *
 * @module
 */

import { script } from './guarded.js';

/**
 * Writes an entry and indexes its tags. KEYS[1] the entry. ARGV: 1 entry JSON, 2 tags
 * JSON, 3 PX, 4 tag-key prefix, 5 key, 6 channel, 7 announcement (`''` for none),
 * 8 staleUntil, 9.. tags. Tag sets live at least as long as their longest-lived member.
 */
export const SET_SCRIPT = script(`
local px = tonumber(ARGV[3])
redis.call('DEL', KEYS[1])
redis.call('HSET', KEYS[1], 'v', ARGV[1], 't', ARGV[2], 's', ARGV[8])
redis.call('PEXPIRE', KEYS[1], px)
for i = 9, #ARGV do
  local tk = ARGV[4] .. ARGV[i]
  redis.call('SADD', tk, ARGV[5])
  if redis.call('PTTL', tk) < px then redis.call('PEXPIRE', tk, px) end
end
if ARGV[7] ~= '' then redis.call('PUBLISH', ARGV[6], ARGV[7]) end
return 1
`);

/**
 * Deletes the entries carrying a tag. KEYS[1] the tag set. ARGV: 1 entry-key prefix,
 * 2 tag, 3 channel, 4 message, 5 now. A member is deleted only if its entry still carries
 * the tag: a tag set may name keys that were since rewritten with other tags. Expired
 * members are removed but not counted.
 */
export const INVALIDATE_SCRIPT = script(`
local now = tonumber(ARGV[5])
local n = 0
for _, m in ipairs(redis.call('SMEMBERS', KEYS[1])) do
  local k = ARGV[1] .. m
  local f = redis.pcall('HMGET', k, 't', 's')
  if type(f) == 'table' and f[1] then
    local ok, tags = pcall(cjson.decode, f[1])
    if ok and type(tags) == 'table' then
      for _, x in ipairs(tags) do
        if x == ARGV[2] then
          local s = tonumber(f[2])
          if s ~= nil and s >= now then n = n + 1 end
          redis.call('DEL', k)
          break
        end
      end
    end
  end
end
redis.call('DEL', KEYS[1])
redis.call('PUBLISH', ARGV[3], ARGV[4])
return n
`);
