"""The Lua scripts that put runs into RQ queues atomically (see ``scheduler.engine.dispatch``).

One run at a time (``ENQUEUE_ONCE``: marker, job hash, queue, resume point) and a batch of
runs staged ahead (``CLAIM_STAGED``). Both refuse to enqueue for a deposed leader (the
fence) and raise the job's shared resume point in the same atomic step.
"""

from __future__ import annotations

# Shared by both scripts: KEYS[n] the lease and KEYS[n+1] the last-dispatched hash;
# ARGV[m] the fence token ('' = none), ARGV[m+1] the job ('' = not a scheduled run),
# ARGV[m+2] the scheduled instant in epoch ms.
_FENCE = """
if ARGV[{m}] ~= '' and redis.call('GET', KEYS[{n}]) ~= ARGV[{m}] then
    return -2
end
"""
_ADVANCE = """
if ARGV[{m1}] ~= '' then
    local last = redis.call('HGET', KEYS[{n1}], ARGV[{m1}])
    if not last or tonumber(ARGV[{m2}]) > tonumber(last) then
        redis.call('HSET', KEYS[{n1}], ARGV[{m1}], ARGV[{m2}])
    end
end
"""


def _ha(text: str, *, n: int, m: int) -> str:
    return text.format(n=n, m=m, n1=n + 1, m1=m + 1, m2=m + 2)


ENQUEUE_ONCE = (
    """
-- KEYS: marker, job hash, queue list, set of queues, lease, last-dispatched hash
-- ARGV: job id, marker ttl (s), marker value, fence, job, instant ms, then the
--       field/value pairs of the job hash
"""
    + _ha(_FENCE, n=5, m=4)
    + """
if not redis.call('SET', KEYS[1], ARGV[3], 'NX', 'EX', ARGV[2]) then
    return 0
end
if redis.call('EXISTS', KEYS[2]) == 1 then
    return 0
end
redis.call('HSET', KEYS[2], unpack(ARGV, 7))
redis.call('RPUSH', KEYS[3], ARGV[1])
redis.call('SADD', KEYS[4], KEYS[3])
"""
    + _ha(_ADVANCE, n=5, m=4)
    + "return 1\n"
)


# The runs staged ahead, claimed at their instant by one call for a whole batch: per run,
# a script call costs Redis and the client more than the claim itself (a 1,000-run burst
# took 35-50 ms as 1,000 calls, about 22 as one). Key names are built from the prefixes
# passed in, as RQ builds them; the scheduler needs a single Redis, not a cluster, anyway.
# The runs come either in ARGV or, for a burst staged ahead (``Dispatcher.stage_burst``),
# from the burst's list in Redis: then the call at the instant is a few bytes, whatever
# the burst's size, and ARGV names the runs withdrawn since (returned -3, left staged).
CLAIM_STAGED = """
-- KEYS: lease, last-dispatched hash, set of queues[, burst list]
-- ARGV: fence, marker value, marker ttl (s), staged prefix, marker prefix, job prefix,
--       queue prefix, then without a burst list per run: job id, queue name, job ('' = not
--       scheduled), instant ms; with one: the ids of the burst's runs not to claim
-- Returns per run: 1 enqueued, 0 already enqueued, -1 not staged, -2 fenced, -3 withdrawn.
local runs, first, withdrawn = ARGV, 8, {}
if #KEYS > 3 then
    runs, first = redis.call('LRANGE', KEYS[4], 0, -1), 1
    redis.call('DEL', KEYS[4])
    for i = 8, #ARGV do withdrawn[ARGV[i]] = true end
end
local out = {}
if ARGV[1] ~= '' and redis.call('GET', KEYS[1]) ~= ARGV[1] then
    for i = first, #runs, 4 do out[#out + 1] = -2 end
    return out
end
local pushed, latest = {}, {}
for i = first, #runs, 4 do
    local id, queue, job, ms = runs[i], runs[i + 1], runs[i + 2], runs[i + 3]
    local staged, jobkey = ARGV[4] .. id, ARGV[6] .. id
    local result = 1
    if withdrawn[id] then
        result = -3
    elseif not redis.call('SET', ARGV[5] .. id, ARGV[2], 'NX', 'EX', ARGV[3]) then
        result = 0
    elseif redis.call('EXISTS', jobkey) == 1 then
        result = 0
    elseif redis.pcall('RENAME', staged, jobkey).err then
        -- Not staged (it expired, or was never staged here): its claim is undone, and
        -- the caller sends it the long way. Cheaper than an EXISTS per run in a burst.
        redis.call('DEL', ARGV[5] .. id)
        result = -1
    else
        redis.call('PERSIST', jobkey)
        local ids = pushed[queue]
        if not ids then
            ids = {}
            pushed[queue] = ids
        end
        ids[#ids + 1] = id
        if job ~= '' and (not latest[job] or tonumber(ms) > tonumber(latest[job])) then
            latest[job] = ms
        end
    end
    out[#out + 1] = result
end
for queue, ids in pairs(pushed) do
    local key = ARGV[7] .. queue
    for first = 1, #ids, 500 do
        redis.call('RPUSH', key, unpack(ids, first, math.min(first + 499, #ids)))
    end
    redis.call('SADD', KEYS[3], key)
end
for job, ms in pairs(latest) do
    local last = redis.call('HGET', KEYS[2], job)
    if not last or tonumber(ms) > tonumber(last) then
        redis.call('HSET', KEYS[2], job, ms)
    end
end
return out
"""
