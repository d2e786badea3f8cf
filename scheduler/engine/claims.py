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
# The runs come either in ARGV or, for bursts staged ahead (``Dispatcher.stage_burst``),
# from the bursts' lists in Redis: then the call at the instant is a few bytes, whatever
# the bursts' size, and ARGV names the runs withdrawn since (returned -3, left staged).
# Nothing is visible before the script ends, so its time in Redis is the burst's lateness:
# a run costs two commands (its marker, and RENAMENX, which also answers "enqueued
# before?"), and the resume points are read and written once per call. Staged copies have
# no expiry of their own (it would move with RENAMENX, and one PERSIST a run cost a tenth
# of the call): the burst index holds each list until its claim, and ``SWEEP_BURSTS``
# deletes what a list left staged once its time is up. A run sent from ARGV may have been
# given an expiry (withdrawn from its burst before), so PERSIST stays on that path.
CLAIM_STAGED = """
-- KEYS: lease, last-dispatched hash, set of queues, burst index[, burst lists]
-- ARGV: fence, marker value, marker expiry (unix ms), staged prefix, marker prefix, job
--       prefix, queue prefix, staged ttl (s), then without burst lists per run: job id,
--       queue name, job ('' = not scheduled), instant ms; with them: the ids of the
--       bursts' runs not to claim
-- Returns per run: 1 enqueued, 0 already enqueued, -1 not staged, -2 fenced, -3 withdrawn;
-- with burst lists, one such array per list (empty for a list that is gone).
local fenced = ARGV[1] ~= '' and redis.call('GET', KEYS[1]) ~= ARGV[1]
local owner, expiry, staged, marker, jobs = ARGV[2], ARGV[3], ARGV[4], ARGV[5], ARGV[6]
local withdrawn, kept, pushed, latest, names = {}, {}, {}, {}, {}

local function claim(runs, first, listed)
    local out = {}
    for i = first, #runs, 4 do
        local id, queue, job, ms = runs[i], runs[i + 1], runs[i + 2], runs[i + 3]
        local result = 1
        if fenced then
            result = -2
        elseif withdrawn[id] then
            result = -3
            kept[#kept + 1] = staged .. id
        elseif not redis.call('SET', marker .. id, owner, 'NX', 'PXAT', expiry) then
            result = 0
            redis.call('DEL', staged .. id)  -- enqueued already: the copy serves no one
        else
            local moved = redis.pcall('RENAMENX', staged .. id, jobs .. id)
            if moved == 0 then  -- its job hash is there: enqueued before its marker expired
                result = 0
                redis.call('DEL', staged .. id)
            elseif moved ~= 1 then
                -- Not staged (it expired, or was never staged here): its claim is undone,
                -- and the caller sends it the long way.
                redis.call('DEL', marker .. id)
                result = -1
            else
                if not listed then  -- a job waits in its queue as long as it must
                    redis.call('PERSIST', jobs .. id)
                end
                local ids = pushed[queue]
                if not ids then
                    ids = {}
                    pushed[queue] = ids
                end
                ids[#ids + 1] = id
                if job ~= '' then
                    local seen = latest[job]
                    if not seen then
                        names[#names + 1] = job
                        latest[job] = ms
                    elseif tonumber(ms) > tonumber(seen) then
                        latest[job] = ms
                    end
                end
            end
        end
        out[#out + 1] = result
    end
    return out
end

local replies
if #KEYS > 4 then
    for i = 9, #ARGV do withdrawn[ARGV[i]] = true end
    replies = {}
    for k = 5, #KEYS do
        replies[#replies + 1] = claim(redis.call('LRANGE', KEYS[k], 0, -1), 1, true)
    end
    if not fenced then  -- a deposed leader's lists are left to the sweep
        redis.call('DEL', unpack(KEYS, 5))
        redis.call('ZREM', KEYS[4], unpack(KEYS, 5))
    end
    -- Last: the same run may be claimed from another list of this call.
    for _, key in ipairs(kept) do redis.call('EXPIRE', key, ARGV[8]) end
else
    replies = claim(ARGV, 9, false)
end
for queue, ids in pairs(pushed) do
    local key = ARGV[7] .. queue
    for first = 1, #ids, 500 do
        redis.call('RPUSH', key, unpack(ids, first, math.min(first + 499, #ids)))
    end
    redis.call('SADD', KEYS[3], key)
end
local raised = {}
for first = 1, #names, 500 do
    local last = math.min(first + 499, #names)
    local before = redis.call('HMGET', KEYS[2], unpack(names, first, last))
    for k = first, last do
        local job, was = names[k], before[k - first + 1]
        if not was or tonumber(latest[job]) > tonumber(was) then
            raised[#raised + 1] = job
            raised[#raised + 1] = latest[job]
        end
    end
end
for first = 1, #raised, 1000 do
    redis.call('HSET', KEYS[2], unpack(raised, first, math.min(first + 999, #raised)))
end
return replies
"""

# The burst lists whose time is up (never claimed: their watcher stopped or lost the lease
# before the instant, or Redis failed at it), with what they left staged.
SWEEP_BURSTS = """
-- KEYS: burst index; ARGV: now (unix ms), staged prefix, most lists per call
local lists = redis.call('ZRANGEBYSCORE', KEYS[1], '-inf', ARGV[1], 'LIMIT', 0, ARGV[3])
for _, list in ipairs(lists) do
    local runs = redis.call('LRANGE', list, 0, -1)
    for i = 1, #runs, 4 do redis.call('DEL', ARGV[2] .. runs[i]) end
    redis.call('DEL', list)
end
if #lists > 0 then redis.call('ZREM', KEYS[1], unpack(lists)) end
return #lists
"""
