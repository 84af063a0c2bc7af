"""The Lua scripts of :class:`~.redis.RedisRateLimiter`, run atomically inside Redis.

Kept apart from the limiter's Python so each reads on its own: the scripts are the whole of the
shared state's rules (take the least-rested idle slot, reclaim slots held past ``hold_limit``,
recreate a vanished or insane limiter under a new epoch, put a released slot back to rest).
Times are Redis's own clock (``TIME``), in milliseconds.
"""

from __future__ import annotations

__all__ = ["ACQUIRE", "RELEASE"]

_NOW = """
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
"""

# KEYS: meta, idle, busy, grants.
# ARGV: capacity, period_ms, hold_ms, key_ttl_ms, new epoch, rested (1/0), poll_ms,
# floor (the slowest shared rate, requests per second).
# Returns {slot, generation, wait_ms, capacity, period_ms, epoch, replaced (1/0)}; slot -1:
# none, wait = when to look again. Only a limiter outside absolute bounds (a stray period_ms, a
# rate below the floor) is replaced by ours, rested for a period: a limiter at 0.01/s would hold
# every process of the app key. Any sane limiter is followed, whatever our own rate.
ACQUIRE = (
    _NOW
    + """
local meta = redis.call('HMGET', KEYS[1], 'capacity', 'period_ms', 'epoch')
local capacity, period, epoch = tonumber(meta[1]), tonumber(meta[2]), meta[3]
local floor, replaced = tonumber(ARGV[8]), 0
local plausible = capacity and period and capacity >= 1 and capacity <= 100000
  and capacity == math.floor(capacity) and period >= 1 and period <= 3600000
  and capacity * 1000 / period >= floor * (1 - 1e-9)
if epoch and not plausible then replaced = 1 end
if not plausible or not epoch then
  capacity, period, epoch = tonumber(ARGV[1]), tonumber(ARGV[2]), ARGV[5]
  redis.call('DEL', KEYS[2], KEYS[3], KEYS[4])
  redis.call('HSET', KEYS[1], 'capacity', capacity, 'period_ms', period, 'epoch', epoch)
  local start = now
  if ARGV[6] == '1' or replaced == 1 then start = now + period end
  for slot = 0, capacity - 1 do redis.call('ZADD', KEYS[2], start, slot) end
elseif redis.call('ZCARD', KEYS[2]) + redis.call('ZCARD', KEYS[3]) < capacity then
  for slot = 0, capacity - 1 do
    if not redis.call('ZSCORE', KEYS[2], slot) and not redis.call('ZSCORE', KEYS[3], slot) then
      redis.call('HDEL', KEYS[4], slot)
      redis.call('ZADD', KEYS[2], now + period, slot)
    end
  end
end
for i = 1, 4 do redis.call('PEXPIRE', KEYS[i], ARGV[4]) end
for _, slot in ipairs(redis.call('ZRANGEBYSCORE', KEYS[3], '-inf', now)) do
  redis.call('ZREM', KEYS[3], slot)
  redis.call('HDEL', KEYS[4], slot)
  redis.call('ZADD', KEYS[2], now + period, slot)
end
local head = redis.call('ZRANGE', KEYS[2], 0, 0, 'WITHSCORES')
if #head == 0 then
  -- No taken slot comes back before its caller has sent: look again then, or after a poll.
  local retry, soonest = tonumber(ARGV[7]), nil
  for _, grant in ipairs(redis.call('HVALS', KEYS[4])) do
    local send_at = tonumber(string.match(grant, ':(%d+)$'))
    if send_at and (soonest == nil or send_at < soonest) then soonest = send_at end
  end
  if soonest and soonest - now > retry then retry = soonest - now end
  return {-1, 0, retry, capacity, period, epoch, replaced}
end
local slot, free_at = head[1], tonumber(head[2])
redis.call('ZREM', KEYS[2], slot)
local generation = redis.call('HINCRBY', KEYS[1], 'generation', 1)
local send_at = math.max(now, free_at)
redis.call('ZADD', KEYS[3], send_at + tonumber(ARGV[3]), slot)
redis.call('HSET', KEYS[4], slot, generation .. ':' .. send_at)
redis.call('PEXPIRE', KEYS[3], ARGV[4])
redis.call('PEXPIRE', KEYS[4], ARGV[4])
return {tonumber(slot), generation, send_at - now, capacity, period, epoch, replaced}
"""
)

# KEYS: meta, idle, busy, grants. ARGV: slot, generation, epoch, used (1/0), margin_ms.
# A used slot rests a period from now (+1 ms for TIME's truncation to milliseconds); an
# unused one (the caller gave up before sending) keeps the rest it had.
RELEASE = (
    _NOW
    + """
local meta = redis.call('HMGET', KEYS[1], 'period_ms', 'epoch')
if meta[2] ~= ARGV[3] then return 0 end
local grant = redis.call('HGET', KEYS[4], ARGV[1])
if not grant then return 0 end
local generation, send_at = string.match(grant, '^(%d+):(%d+)$')
if generation ~= ARGV[2] then return 0 end
local free_at = tonumber(send_at)
if ARGV[4] == '1' then free_at = now + tonumber(meta[1]) + tonumber(ARGV[5]) + 1 end
redis.call('HDEL', KEYS[4], ARGV[1])
redis.call('ZREM', KEYS[3], ARGV[1])
redis.call('ZADD', KEYS[2], free_at, ARGV[1])
return 1
"""
)
