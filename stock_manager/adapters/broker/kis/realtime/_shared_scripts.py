"""The Lua scripts of the shared realtime session (:mod:`.shared`), run atomically in Redis.

Kept apart from the Python so the rules of the shared state read on their own:

* ``members`` (ZSET): process id -> when its heartbeat runs out (Redis's clock, ms);
* ``claims`` (HASH): ``<member>\\t<tr_id>|<tr_key>`` -> 1, what each process wants;
* ``refs`` (HASH): ``<tr_id>|<tr_key>`` -> how many live processes want it. Its length is the
  number of distinct pairs the one KIS session must hold: what the cap counts;
* ``lease`` (STRING): the holder's id, with a PX expiry the holder renews; ``epoch`` (INCR) counts
  the holders, one per take;
* ``active`` / ``refused`` (HASH): the pairs KIS confirmed in the holder's session, and those it
  refused (``code\\tmessage``), written only by the holder while its lease names it (the fence).

Every script that reads the claims first reaps the members whose heartbeat ran out (a SIGKILLed
process): their claims go and the pairs nobody else wants leave ``refs``, so the cap and the
holder's wanted set never count the dead.
"""

from __future__ import annotations

__all__ = [
    "CLAIM",
    "HEARTBEAT",
    "LEASE",
    "LEAVE",
    "PUBLISH",
    "REFUSE",
    "RELEASE",
    "SYNC",
    "UNLEASE",
]

_NOW = """
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
"""

# KEYS[1..3]: members, claims, refs. Drops the claims of ``gone`` (a set of member ids).
_DROP = """
local function drop(gone)
  for _, field in ipairs(redis.call('HKEYS', KEYS[2])) do
    local member = string.match(field, '^([^\\t]*)\\t')
    if member and gone[member] then
      redis.call('HDEL', KEYS[2], field)
      local pair = string.sub(field, #member + 2)
      if redis.call('HINCRBY', KEYS[3], pair, -1) <= 0 then redis.call('HDEL', KEYS[3], pair) end
    end
  end
end
local function reap()
  local dead = redis.call('ZRANGEBYSCORE', KEYS[1], '-inf', now)
  if #dead == 0 then return end
  local gone = {}
  for _, member in ipairs(dead) do
    gone[member] = true
    redis.call('ZREM', KEYS[1], member)
  end
  drop(gone)
end
local function keep(ms)
  for i = 1, 3 do redis.call('PEXPIRE', KEYS[i], ms) end
end
"""

_HEAD = _NOW + _DROP

# KEYS: members, claims, refs. ARGV: member, member_ttl_ms, cap, pair, keep_ms.
# {1, distinct pairs} when the claim holds (a pair already wanted by anyone costs nothing),
# {0, distinct pairs} when it would pass the cap: nothing was written.
CLAIM = (
    _HEAD
    + """
reap()
redis.call('ZADD', KEYS[1], now + tonumber(ARGV[2]), ARGV[1])
local field = ARGV[1] .. '\\t' .. ARGV[4]
local held = redis.call('HLEN', KEYS[3])
if redis.call('HEXISTS', KEYS[2], field) == 0 then
  if redis.call('HEXISTS', KEYS[3], ARGV[4]) == 0 and held >= tonumber(ARGV[3]) then
    return {0, held}
  end
  redis.call('HSET', KEYS[2], field, 1)
  redis.call('HINCRBY', KEYS[3], ARGV[4], 1)
end
keep(ARGV[5])
return {1, redis.call('HLEN', KEYS[3])}
"""
)

# KEYS: members, claims, refs. ARGV: member, pair. 1 when this member wanted the pair.
RELEASE = """
local field = ARGV[1] .. '\\t' .. ARGV[2]
if redis.call('HDEL', KEYS[2], field) == 0 then return 0 end
if redis.call('HINCRBY', KEYS[3], ARGV[2], -1) <= 0 then redis.call('HDEL', KEYS[3], ARGV[2]) end
return 1
"""

# KEYS: members, claims, refs. ARGV: member. A clean exit: every claim of the member goes.
LEAVE = (
    _HEAD
    + """
redis.call('ZREM', KEYS[1], ARGV[1])
drop({[ARGV[1]] = true})
return 1
"""
)

# KEYS: members, claims, refs, active, refused. ARGV: member, member_ttl_ms, keep_ms.
# {known (1/0: 0 when the member had been reaped), wanted pairs, active pairs, refused
# (pair, reason, pair, reason...)}.
HEARTBEAT = (
    _HEAD
    + """
reap()
local known = redis.call('ZSCORE', KEYS[1], ARGV[1]) and 1 or 0
redis.call('ZADD', KEYS[1], now + tonumber(ARGV[2]), ARGV[1])
keep(ARGV[3])
return {known, redis.call('HKEYS', KEYS[3]), redis.call('HKEYS', KEYS[4]),
  redis.call('HGETALL', KEYS[5])}
"""
)

# KEYS: lease, epoch, active, refused. ARGV: member, lease_ttl_ms, keep_ms.
# {held (1/0), epoch, fresh (1: this call took the lease, a new epoch began)}. A new holder
# starts with nothing confirmed: its session is new.
LEASE = """
local holder = redis.call('GET', KEYS[1])
if holder == ARGV[1] then
  redis.call('PEXPIRE', KEYS[1], ARGV[2])
  return {1, tonumber(redis.call('GET', KEYS[2]) or '0'), 0}
end
if holder then return {0, tonumber(redis.call('GET', KEYS[2]) or '0'), 0} end
redis.call('SET', KEYS[1], ARGV[1], 'PX', ARGV[2])
local epoch = redis.call('INCR', KEYS[2])
redis.call('PEXPIRE', KEYS[2], ARGV[3])
redis.call('DEL', KEYS[3], KEYS[4])
return {1, epoch, 1}
"""

# KEYS: lease, active. ARGV: member. Compare-and-delete: a clean hand-over.
UNLEASE = """
if redis.call('GET', KEYS[1]) ~= ARGV[1] then return 0 end
redis.call('DEL', KEYS[1], KEYS[2])
return 1
"""

# KEYS: lease, active, refused, refs. ARGV: member, epoch, keep_ms, active pairs...
# The holder's view of its session; refusals of pairs nobody wants any more are forgotten
# (wanting one again tries KIS again).
SYNC = """
if redis.call('GET', KEYS[1]) ~= ARGV[1] then return 0 end
redis.call('DEL', KEYS[2])
for i = 4, #ARGV do redis.call('HSET', KEYS[2], ARGV[i], ARGV[2]) end
for _, pair in ipairs(redis.call('HKEYS', KEYS[3])) do
  if redis.call('HEXISTS', KEYS[4], pair) == 0 then redis.call('HDEL', KEYS[3], pair) end
end
redis.call('PEXPIRE', KEYS[2], ARGV[3])
redis.call('PEXPIRE', KEYS[3], ARGV[3])
return 1
"""

# KEYS: lease, refused. ARGV: member, pair, reason.
REFUSE = """
if redis.call('GET', KEYS[1]) ~= ARGV[1] then return 0 end
redis.call('HSET', KEYS[2], ARGV[2], ARGV[3])
return 1
"""

# KEYS: lease, stream. ARGV: member, maxlen, stream_ttl_ms, epoch, tr_id, tr_key, values.
# Fenced: a holder whose lease ran out (a pause, a partition) publishes nothing; 0 says so.
PUBLISH = """
if redis.call('GET', KEYS[1]) ~= ARGV[1] then return 0 end
redis.call('XADD', KEYS[2], 'MAXLEN', '~', ARGV[2], '*',
  't', ARGV[5], 'k', ARGV[6], 'e', ARGV[4], 'v', ARGV[7])
redis.call('PEXPIRE', KEYS[2], ARGV[3])
return 1
"""
