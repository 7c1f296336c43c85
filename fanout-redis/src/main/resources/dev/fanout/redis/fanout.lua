#!lua name=fanout
-- fanout's server-side functions (Redis 7 Functions). Loaded by RedisPublisher with FUNCTION LOAD
-- REPLACE; callable from any language with FCALL (see docs/redis.md).
--
-- KEYS[1] = the stream ({ns}:stream), KEYS[2] = the meta hash ({ns}:meta), and for a publish
-- KEYS[3] = the topic's stream ({ns}:topic:<topic>) and KEYS[4] = the set of topic streams
-- ({ns}:topics): all in one hash slot. The meta hash holds the stream's epoch, its last sequence
-- number, and 'floor': topic streams hold every entry at or above it. Stream entry ids are
-- <seq>-0, so an event id <epoch>:<seq> maps straight onto a stream position.
--
-- Each event is written twice: to the stream (every event, in order: live delivery, snapshots)
-- and to its topic's stream (a resume reads only the topics it follows, not everything missed).
-- Topic streams are trimmed by MINID to the stream's retention, and dropped with their epoch.

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

local function start_epoch(stream, meta, topics, previous)
  local epoch = fresh_epoch(previous)
  redis.call('DEL', stream)
  for _, key in ipairs(redis.call('SMEMBERS', topics)) do
    redis.call('DEL', key)
  end
  redis.call('DEL', topics)
  redis.call('HSET', meta, 'epoch', epoch, 'seq', 0, 'floor', 1)
  return epoch
end

local function netstring(s)
  return #s .. ':' .. s
end

-- FCALL fanout_publish 4 <stream> <meta> <topic stream> <topics> <channel> <maxlen> <topic> <data>
--   [<attr> <value> ...]
-- Returns the event id <epoch>:<seq>.
local function publish(keys, args)
  local stream, meta, topic_stream, topics = keys[1], keys[2], keys[3], keys[4]
  if topics == nil then
    return redis.error_reply('fanout_publish: needs 4 keys: stream, meta, topic stream, topics')
  end
  local channel, maxlen, topic, data = args[1], args[2], args[3], args[4]
  if topic == nil or topic == '' then
    return redis.error_reply('fanout_publish: topic must not be empty')
  end
  if data == nil or data == '' then
    return redis.error_reply('fanout_publish: data must be JSON text')
  end
  if (#args - 4) % 2 ~= 0 then
    return redis.error_reply('fanout_publish: attributes must come in name value pairs')
  end
  local epoch = redis.call('HGET', meta, 'epoch')
  -- A missing meta hash, or a stream gone although its epoch has events, means the data was lost:
  -- start afresh. (An epoch just started by fanout_new_epoch has seq 0 and no stream yet.)
  if (not epoch) or (redis.call('EXISTS', stream) == 0
      and tonumber(redis.call('HGET', meta, 'seq') or '0') > 0) then
    epoch = start_epoch(stream, meta, topics, epoch)
  end
  local seq = redis.call('HINCRBY', meta, 'seq', 1)
  local floor = math.max(1, seq - tonumber(maxlen) + 1)
  local fields = {'e', epoch, 't', topic, 'd', data}
  local message = netstring(epoch .. ':' .. seq) .. netstring(topic) .. netstring(data)
  for i = 5, #args, 2 do
    table.insert(fields, 'a:' .. args[i])
    table.insert(fields, args[i + 1])
    message = message .. netstring(args[i]) .. netstring(args[i + 1])
  end
  redis.call('XADD', stream, 'MAXLEN', '~', maxlen, seq .. '-0', unpack(fields))
  redis.call('XADD', topic_stream, 'MINID', '~', floor .. '-0', seq .. '-0', unpack(fields))
  redis.call('SADD', topics, topic_stream)
  -- The floor only rises: a publisher with a shorter retention may have trimmed another topic.
  if floor > tonumber(redis.call('HGET', meta, 'floor') or '1') then
    redis.call('HSET', meta, 'floor', floor)
  end
  redis.call('PUBLISH', channel, message)
  return epoch .. ':' .. seq
end

-- FCALL fanout_new_epoch 3 <stream> <meta> <topics> <expected epoch>
-- Starts a new epoch if the current one is still <expected epoch> (a node saw the stream's tail
-- go backwards, e.g. after a failover to a replica that lacked it). Returns the current epoch.
local function new_epoch(keys, args)
  local current = redis.call('HGET', keys[2], 'epoch')
  if current == args[1] then
    return start_epoch(keys[1], keys[2], keys[3], current)
  end
  return current
end

redis.register_function('fanout_publish', publish)
redis.register_function('fanout_new_epoch', new_epoch)
