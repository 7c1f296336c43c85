#!lua name=fanout
-- fanout's server-side functions (Redis 7 Functions). Loaded by RedisPublisher with FUNCTION LOAD
-- REPLACE; callable from any language with FCALL (see docs/redis.md).
--
-- KEYS[1] = the stream ({tag}:stream), KEYS[2] = the meta hash ({tag}:meta), and for a publish
-- KEYS[3] = the topic's stream ({tag}:topic:<topic>) and KEYS[4] = the set of topic streams
-- ({tag}:topics): all in one hash slot. Stream entry ids are <seq>-0, so an event id <epoch>:<seq>
-- maps straight onto a stream position.
--
-- The tag names one partition of a namespace. In the single layout (one partition on a standalone
-- or Sentinel Redis, fanout's names from before partitions) it is the namespace, {ns}, and events
-- go out with PUBLISH on the channel argument (ns:events). In the tagged layout (a Redis Cluster, or
-- more than one partition) it is {<ns>:<i>:<n>}, and events go out with SPUBLISH on {tag}:events,
-- which hashes to the keys' slot as a cluster requires.
--
-- The meta hash: 'epoch' and 'seq' (the last sequence number); 'floor' (topic streams hold every
-- entry at or above it); 'run' (the run id of the server process that wrote the epoch); and, for an
-- epoch bridged from a previous one, 'prev' and 'base' (see bridge_epoch). One id never names two
-- events: a new server process (restart, failover) bridges to a new epoch before its first write.
--
-- Each event is written twice: to the stream (every event, in order: live delivery, snapshots)
-- and to its topic's stream (a resume reads only the topics it follows, not everything missed).
-- Topic streams are trimmed by MINID to the stream's retention, and dropped when a stream starts
-- afresh.

local DIGITS = '0123456789abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ'

local function base62(n)
  local s = ''
  repeat
    local d = n % 62
    s = string.sub(DIGITS, d + 1, d + 1) .. s
    n = math.floor(n / 62)
  until n == 0
  return s
end

-- A new epoch from the server clock: seconds, then microseconds padded to a fixed width, so two
-- epochs made at different instants never collide; never equal to the previous one.
local function fresh_epoch(previous)
  local t = redis.call('TIME')
  local micros = base62(tonumber(t[2]))
  local epoch = base62(tonumber(t[1])) .. string.rep('0', 4 - #micros) .. micros
  if epoch == previous then
    epoch = epoch .. 'x'
  end
  return epoch
end

-- The server process this library runs in. A stream's events can be lost only when the process
-- that holds them goes away (a crash restarted from a stale file, a failover to a replica that
-- lacked the tail), and then the process is another one: so a stream stamped with another run id
-- may have lost its tail, and must not hand out the same ids again. Cached: one process, one id.
local server_run_id
local function run_id()
  if not server_run_id then
    server_run_id = string.match(redis.call('INFO', 'server'), 'run_id:(%w+)')
  end
  return server_run_id
end

-- A stream created afresh (first publish, or Redis lost the meta hash): no past to bridge to.
local function start_epoch(stream, meta, topics, previous)
  local epoch = fresh_epoch(previous)
  redis.call('DEL', stream) -- its topic streams go with the set that names them (a topic stream
  -- left from a set that was lost is emptied at its first write, which finds it new to the set)
  for _, key in ipairs(redis.call('SMEMBERS', topics)) do
    redis.call('DEL', key)
  end
  redis.call('DEL', topics)
  redis.call('DEL', meta)
  redis.call('HSET', meta, 'epoch', epoch, 'seq', 0, 'floor', 1, 'base', 0, 'run', run_id())
  return epoch
end

-- Removes a stream's entries above <seq>-0 and sets its last id there, so numbering can go on from
-- <seq>. After a real failover or restart there is nothing above (the stream and the meta hash are
-- written together); a tail removed by hand leaves entries in topic streams and a higher last id.
local function cut_above(key, seq)
  local top = redis.call('XREVRANGE', key, '+', '-', 'COUNT', 1)[1]
  local above = top and tonumber(string.match(top[1], '^(%d+)')) > seq
  if not above then
    if redis.call('EXISTS', key) == 0 then
      return
    end
    local last = tonumber(string.match(redis.call('XINFO', 'STREAM', key)[8] or '0', '^(%d+)'))
    if not last or last <= seq then
      return
    end
  end
  while true do
    local entries = redis.call('XRANGE', key, '(' .. seq .. '-0', '+', 'COUNT', 500)
    if #entries == 0 then
      break
    end
    local ids = {}
    for i, e in ipairs(entries) do
      ids[i] = e[1]
    end
    redis.call('XDEL', key, unpack(ids))
  end
  redis.call('XSETID', key, seq .. '-0')
end

-- A new epoch that bridges from the current one: the retained events keep their ids (they are the
-- events those ids always named), numbering goes on from the top, and 'prev'/'base' say that ids of
-- the previous epoch up to 'base' are positions in this one. Ids above 'base' in the previous epoch
-- named events this server never held: they stay unknown, never reused.
local function bridge_epoch(stream, meta, topics, epoch, seq)
  cut_above(stream, seq)
  for _, key in ipairs(redis.call('SMEMBERS', topics)) do
    cut_above(key, seq)
  end
  local fresh = fresh_epoch(epoch)
  redis.call('HSET', meta, 'epoch', fresh, 'prev', epoch, 'base', seq, 'run', run_id())
  return fresh
end

-- Whether a key the epoch wrote is gone while the others remain: evicted (maxmemory with a policy
-- that may evict fanout's keys, such as allkeys-lru) or deleted by hand. The set of topic streams,
-- once the epoch has events; or a topic stream that set names. (A topic stream is never emptied by
-- trimming: every XADD leaves its own entry.)
local function lost_key(topics, topic_streams, seq)
  if seq > 0 and redis.call('EXISTS', topics) == 0 then
    return true
  end
  for _, key in ipairs(topic_streams) do
    if redis.call('EXISTS', key) == 0 and redis.call('SISMEMBER', topics, key) == 1 then
      return true
    end
  end
  return false
end

-- Before any write: the current epoch, bridged to a new one when the stream was written by another
-- server process, and the meta hash's floor; nil when there is no stream (or its events were lost
-- with it, or with a key it needs: see lost_key). The topic streams are those the caller writes.
local function fence(stream, meta, topics, topic_streams)
  local m = redis.call('HMGET', meta, 'epoch', 'seq', 'run', 'floor')
  local epoch, seq, run, floor = m[1], tonumber(m[2] or '0'), m[3], tonumber(m[4] or '1')
  if not epoch then
    return nil
  end
  -- A stream gone although its epoch has events: the data was lost. (An epoch just started has
  -- seq 0 and no stream yet; a bridged one keeps its stream.)
  if redis.call('EXISTS', stream) == 0 and seq > 0 then
    return nil
  end
  -- A key evicted under memory pressure: its events are lost, so the stream starts afresh (a new
  -- epoch every node announces) rather than go on with a hole a resume could not see.
  if lost_key(topics, topic_streams, seq) then
    return nil
  end
  if not run then
    redis.call('HSET', meta, 'run', run_id()) -- written by fanout before 1.0: adopt
    return epoch, floor
  end
  if run ~= run_id() then
    return bridge_epoch(stream, meta, topics, epoch, seq), floor
  end
  return epoch, floor
end

local function netstring(s)
  return #s .. ':' .. s
end

-- The keys a partition's stream uses, derived from its stream key '{tag}:stream', so a caller
-- cannot write one partition's stream with another's meta, or a topic into another topic's stream.
-- Returns an error (or nil), the prefix '{tag}:' and whether the layout is the tagged one.
local function check_keys(keys, topic)
  local stream = keys[1] or ''
  local prefix = string.match(stream, '^({[%w._%-]+:%d+:%d+}:)stream$')
  local tagged = prefix ~= nil
  if not tagged then
    prefix = string.match(stream, '^({[%w._%-]+}:)stream$')
  end
  if not prefix then
    return 'KEYS[1] must be a fanout stream key {<namespace>}:stream or {<namespace>:<i>:<n>}:stream'
  end
  if keys[2] ~= prefix .. 'meta' then
    return 'KEYS[2] must be ' .. prefix .. 'meta'
  end
  if keys[3] and topic and keys[3] ~= prefix .. 'topic:' .. topic then
    return 'KEYS[3] must be ' .. prefix .. 'topic:' .. topic .. ', the stream of the topic argument'
  end
  if keys[4] and keys[4] ~= prefix .. 'topics' then
    return 'KEYS[4] must be ' .. prefix .. 'topics'
  end
  return nil, prefix, tagged
end

local function is_json(text)
  pcall(cjson.decode_invalid_numbers, false) -- NaN, Infinity and hex are not JSON
  local ok = pcall(cjson.decode, text)
  return ok
end

-- FCALL fanout_publish 4 <stream> <meta> <topic stream> <topics> <channel> <maxlen> <topic> <data>
--   [<attr> <value> ...]
-- The channel is ns:events in the single layout (PUBLISH), and must be {tag}:events in the tagged
-- one (SPUBLISH: the same slot as the keys). Returns the event id <epoch>:<seq>. Every argument is checked before the first write: Redis does
-- not roll back a function that fails half way, and a sequence number taken and not used would be a
-- permanent hole.
local function publish(keys, args)
  if #keys ~= 4 then
    return redis.error_reply('fanout_publish: needs 4 keys: stream, meta, topic stream, topics')
  end
  local stream, meta, topic_stream, topics = keys[1], keys[2], keys[3], keys[4]
  local channel, maxlen, topic, data = args[1], tonumber(args[2]), args[3], args[4]
  if channel == nil or channel == '' then
    return redis.error_reply('fanout_publish: channel must not be empty')
  end
  if maxlen == nil or maxlen < 1 or maxlen ~= math.floor(maxlen) then
    return redis.error_reply('fanout_publish: retention must be a whole number of events, at least 1')
  end
  if topic == nil or topic == '' then
    return redis.error_reply('fanout_publish: topic must not be empty')
  end
  local bad_key, prefix, tagged = check_keys(keys, topic)
  if bad_key then
    return redis.error_reply('fanout_publish: ' .. bad_key)
  end
  if tagged and channel ~= prefix .. 'events' then
    return redis.error_reply('fanout_publish: the channel must be ' .. prefix .. 'events, in the '
      .. 'slot of the keys')
  end
  if data == nil or not is_json(data) then
    return redis.error_reply('fanout_publish: data must be one JSON value')
  end
  if (#args - 4) % 2 ~= 0 then
    return redis.error_reply('fanout_publish: attributes must come in name value pairs')
  end
  for i = 5, #args, 2 do
    if args[i] == '' then
      return redis.error_reply('fanout_publish: attribute names must not be empty')
    end
  end
  local epoch, kept_floor = fence(stream, meta, topics, {topic_stream})
  if not epoch then
    epoch = start_epoch(stream, meta, topics, redis.call('HGET', meta, 'epoch'))
    kept_floor = 1
  end
  -- New to this epoch's set: whatever the key holds is from an epoch whose set was lost with it.
  if redis.call('SADD', topics, topic_stream) == 1 then
    redis.call('DEL', topic_stream)
  end
  local seq = redis.call('HINCRBY', meta, 'seq', 1)
  local floor = math.max(1, seq - maxlen + 1)
  local now = redis.call('TIME')
  local published = tostring(tonumber(now[1]) * 1000 + math.floor(tonumber(now[2]) / 1000))
  local fields = {'e', epoch, 't', topic, 'd', data, 'p', published}
  local message = netstring(epoch .. ':' .. seq) .. netstring(topic) .. netstring(data)
  for i = 5, #args, 2 do
    table.insert(fields, 'a:' .. args[i])
    table.insert(fields, args[i + 1])
    message = message .. netstring(args[i]) .. netstring(args[i + 1])
  end
  -- the publish time, as a last pair with an empty name (no attribute has one)
  message = message .. netstring('') .. netstring(published)
  redis.call('XADD', stream, 'MAXLEN', '~', maxlen, seq .. '-0', unpack(fields))
  redis.call('XADD', topic_stream, 'MINID', '~', floor .. '-0', seq .. '-0', unpack(fields))
  -- The floor only rises: a publisher with a shorter retention may have trimmed another topic.
  if floor > kept_floor then
    redis.call('HSET', meta, 'floor', floor)
  end
  if tagged then
    redis.call('SPUBLISH', channel, message)
  else
    redis.call('PUBLISH', channel, message)
  end
  return epoch .. ':' .. seq
end

-- FCALL fanout_publish_batch <3 + T> <stream> <meta> <topics> <topic stream 1> ... <topic stream T>
--   <channel> <maxlen> <n> then n events, each <topic number 1..T> <data> <a> and a attribute
--   name value pairs
-- Publishes n events of one partition in order, as n calls of fanout_publish would, in one call:
-- one fence, one HINCRBY, one TIME. Returns one reply per event: its id <epoch>:<seq>, or '!' and
-- why the event was refused (its data is not one JSON value, an attribute name is empty); refused
-- events take no sequence number. A malformed call is refused whole before any write.
local MAX_BATCH = 1000

local function publish_batch(keys, args)
  if #keys < 4 then
    return redis.error_reply('fanout_publish_batch: needs the stream, meta, topics and topic '
      .. 'stream keys')
  end
  local stream, meta, topics = keys[1], keys[2], keys[3]
  local bad_key, prefix, tagged = check_keys({stream, meta, nil, topics}, nil)
  if bad_key then
    return redis.error_reply('fanout_publish_batch: ' .. string.gsub(bad_key, 'KEYS%[4%]',
      'KEYS[3]'))
  end
  local channel, maxlen, n = args[1], tonumber(args[2]), tonumber(args[3])
  if channel == nil or channel == '' or (tagged and channel ~= prefix .. 'events') then
    return redis.error_reply('fanout_publish_batch: the channel must be '
      .. (tagged and (prefix .. 'events') or 'given'))
  end
  if maxlen == nil or maxlen < 1 or maxlen ~= math.floor(maxlen) then
    return redis.error_reply('fanout_publish_batch: retention must be a whole number of events, '
      .. 'at least 1')
  end
  if n == nil or n < 1 or n > MAX_BATCH or n ~= math.floor(n) then
    return redis.error_reply('fanout_publish_batch: the count must be 1 to ' .. MAX_BATCH)
  end
  local names = {}
  local topic_prefix = prefix .. 'topic:'
  for k = 4, #keys do
    local name = string.sub(keys[k], #topic_prefix + 1)
    if string.sub(keys[k], 1, #topic_prefix) ~= topic_prefix or name == '' then
      return redis.error_reply('fanout_publish_batch: KEYS[' .. k .. '] must be ' .. topic_prefix
        .. '<topic>')
    end
    names[k - 3] = name
  end
  local events = {}
  local pos = 4
  for e = 1, n do
    local t, data, a = tonumber(args[pos]), args[pos + 1], tonumber(args[pos + 2])
    if t == nil or names[t] == nil or data == nil or a == nil or a < 0 or a ~= math.floor(a)
        or pos + 2 + 2 * a > #args then
      return redis.error_reply('fanout_publish_batch: event ' .. e .. ' is malformed')
    end
    events[e] = {t, data, pos + 3, a}
    pos = pos + 3 + 2 * a
  end
  if pos - 1 ~= #args then
    return redis.error_reply('fanout_publish_batch: ' .. (#args - pos + 1)
      .. ' arguments after the last event')
  end
  local replies = {}
  local valid = 0
  pcall(cjson.decode_invalid_numbers, false) -- NaN, Infinity and hex are not JSON
  for e = 1, n do
    local ev = events[e]
    if not pcall(cjson.decode, ev[2]) then
      replies[e] = '!data must be one JSON value'
    else
      for i = ev[3], ev[3] + 2 * ev[4] - 1, 2 do
        if args[i] == '' then
          replies[e] = '!attribute names must not be empty'
        end
      end
      if not replies[e] then
        valid = valid + 1
      end
    end
  end
  if valid == 0 then
    return replies
  end
  local epoch, kept_floor = fence(stream, meta, topics, {unpack(keys, 4)})
  if not epoch then
    epoch = start_epoch(stream, meta, topics, redis.call('HGET', meta, 'epoch'))
    kept_floor = 1
  end
  local added = {}
  for e = 1, n do
    local topic_stream = keys[3 + events[e][1]]
    if not replies[e] and not added[topic_stream] then
      added[topic_stream] = true
      -- new to this epoch's set: what the key holds is from an epoch whose set was lost with it
      if redis.call('SADD', topics, topic_stream) == 1 then
        redis.call('DEL', topic_stream)
      end
    end
  end
  local last = redis.call('HINCRBY', meta, 'seq', valid)
  local seq = last - valid
  local now = redis.call('TIME')
  local published = tostring(tonumber(now[1]) * 1000 + math.floor(tonumber(now[2]) / 1000))
  local stamp = netstring('') .. netstring(published)
  local command = tagged and 'SPUBLISH' or 'PUBLISH'
  -- Topic streams keep every entry from the floor of the call's first event on (a little more
  -- than each event's own floor would keep: never less).
  local minid = math.max(1, seq + 1 - maxlen + 1) .. '-0'
  for e = 1, n do
    if not replies[e] then
      local ev = events[e]
      local topic = names[ev[1]]
      seq = seq + 1
      local id = seq .. '-0'
      local fields = {'e', epoch, 't', topic, 'd', ev[2], 'p', published}
      local parts = {netstring(epoch .. ':' .. seq), netstring(topic), netstring(ev[2])}
      local f, m = 8, 3
      for i = ev[3], ev[3] + 2 * ev[4] - 1, 2 do
        fields[f + 1] = 'a:' .. args[i]
        fields[f + 2] = args[i + 1]
        parts[m + 1] = netstring(args[i])
        parts[m + 2] = netstring(args[i + 1])
        f, m = f + 2, m + 2
      end
      parts[m + 1] = stamp
      local topic_stream = keys[3 + ev[1]]
      redis.call('XADD', stream, 'MAXLEN', '~', maxlen, id, unpack(fields))
      redis.call('XADD', topic_stream, 'MINID', '~', minid, id, unpack(fields))
      redis.call(command, channel, table.concat(parts))
      replies[e] = epoch .. ':' .. seq
    end
  end
  local floor = math.max(1, last - maxlen + 1)
  if floor > kept_floor then
    redis.call('HSET', meta, 'floor', floor)
  end
  return replies
end

-- FCALL fanout_new_epoch 3 <stream> <meta> <topics> <expected epoch>
-- A node saw the stream's top go below what it had delivered in <expected epoch> (its tail was lost
-- without a change of server process, e.g. keys restored by hand): if the epoch is still <expected
-- epoch>, bridge to a new one at the current top. Returns the current epoch.
local function new_epoch(keys, args)
  local bad_key = check_keys({keys[1], keys[2], nil, keys[3]}, nil)
  if bad_key then
    return redis.error_reply('fanout_new_epoch: ' .. bad_key)
  end
  local m = redis.call('HMGET', keys[2], 'epoch', 'seq')
  if m[1] and m[1] == args[1] then
    return bridge_epoch(keys[1], keys[2], keys[3], m[1], tonumber(m[2] or '0'))
  end
  return m[1]
end

-- FCALL fanout_partitions 2 {ns}:partitions {ns}:meta <count>
-- How many partitions the namespace has, fixed when it is created: the count recorded in
-- {ns}:partitions, or <count>, recorded now, when there is no record yet. 0 when there is no record
-- but a stream of the single layout exists ({ns}:meta): a namespace from before partitions, whose
-- one partition has the single layout's names. Only publishers and nodes of the tagged layout call
-- it; the single layout only reads the record.
local function partitions(keys, args)
  local ns = string.match(keys[1] or '', '^{([%w._%-]+)}:partitions$')
  if not ns or keys[2] ~= '{' .. ns .. '}:meta' or #keys ~= 2 then
    return redis.error_reply('fanout_partitions: needs 2 keys: {<namespace>}:partitions and '
      .. '{<namespace>}:meta')
  end
  local count = tonumber(args[1])
  if count == nil or count < 1 or count ~= math.floor(count) then
    return redis.error_reply('fanout_partitions: the count must be a whole number, at least 1')
  end
  local recorded = redis.call('HGET', keys[1], 'count')
  if recorded then
    return tonumber(recorded)
  end
  if redis.call('EXISTS', keys[2]) == 1 then
    return 0
  end
  redis.call('HSET', keys[1], 'count', count)
  return count
end

redis.register_function('fanout_publish', publish)
redis.register_function('fanout_publish_batch', publish_batch)
redis.register_function('fanout_new_epoch', new_epoch)
redis.register_function('fanout_partitions', partitions)
