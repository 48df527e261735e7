"""The Lua scripts: every write to the projection and every consistent read is one call.

A Lua script runs atomically in Redis, so a reader never sees half a changeset, and it
reads and writes in one round trip. Scripts build per-element key names from the prefix
with the layout of ``store.keys`` (kept in step by tests/unit/store/test_keys.py). A
script that fails part-way keeps its earlier writes (Redis has no rollback), so the
writer only calls commands that cannot fail on keys of the right type.

``APPLY`` — ARGV: prefix, hwm field ('' = none), offset, time ms, count, then per change
``op, id, body, source json, extra`` (extra: node index terms joined by newlines, or an
edge's ``Parent\\nChild``). Returns ``{revision, effective changes}``; revision is -1
for a redelivered record and 0 when nothing changed.

``LOOKUP`` — ARGV: prefix, kind, t1, t0 (ms, or ``+inf`` for now), ids. For each id, the
latest version alive at some moment of [t0, t1] (t0 = t1: at one time). Returns the
horizon and the global revision, then per id ``member, start, record, deleted at``
('' when absent; "deleted at" only when that version ended with a deletion by t1).

``TRIM`` — ARGV: prefix, cutoff ms, limit. Removes at most ``limit`` superseded versions
and deletions that ended at or before the cutoff, and feed entries older than it.
Returns ``{history entries removed, feed entries removed}``.
"""

from __future__ import annotations

_COMMON = r"""
local function split(s)
  local out = {}
  if s == nil or s == false or s == '' then return out end
  for part in string.gmatch(s, '[^\n]+') do out[#out + 1] = part end
  return out
end

local function body_of(rec)
  local first = string.find(rec, '\n', 1, true)
  local second = string.find(rec, '\n', first + 1, true)
  return string.sub(rec, second + 1)
end
"""

APPLY = (
    _COMMON
    + r"""
local P = ARGV[1]
local stream = ARGV[2]
local offset = tonumber(ARGV[3])
local t = tonumber(ARGV[4])
local n = tonumber(ARGV[5])

if stream ~= '' then
  local last = redis.call('HGET', P .. 'hwm', stream)
  if last and tonumber(last) >= offset then return {-1, 0} end
end

local ENDS = P .. 'ends'
local ALIVE = {n = P .. 'nodes', e = P .. 'edges'}
local KNOWN = {n = P .. 'nodes:h', e = P .. 'edges:h'}
local OPS = {n = 'node', e = 'edge'}
local feed = {}

-- The latest history member: revision, start, deleted?, member.
local function last_member(hk)
  local m = redis.call('ZRANGE', hk, -1, -1, 'WITHSCORES')
  if #m == 0 then return nil, nil, false, nil end
  local member = m[1]
  if string.sub(member, 1, 1) == 'd' then
    return tonumber(string.sub(member, 2)), tonumber(m[2]), true, member
  end
  return tonumber(member), tonumber(m[2]), false, member
end

-- Start time of the next version: never before the latest one, so every element's
-- versions have strictly increasing starts. A latest member starting at that same
-- time would cover an empty interval, which no read can ever see: it is dropped.
local function next_start(kind, id, hk, vk)
  local last_rev, last_start, dead, member = last_member(hk)
  if not last_rev then return t, 0, false end
  local start = t
  if last_start > start then start = last_start end
  local dropped = false
  if start == last_start then
    redis.call('ZREM', hk, member)
    if dead then
      redis.call('ZREM', ENDS, kind .. ':' .. id .. ':' .. member)
    else
      redis.call('HDEL', vk, id .. '/' .. last_rev)
    end
    dropped = true
  end
  return start, last_rev, dropped
end

local function upsert(kind, id, body, src, extra)
  local ck = P .. kind .. ':' .. id
  local hk = P .. kind .. 'h:' .. id
  local vk = P .. kind .. 'v'
  local cur = redis.call('HMGET', ck, 'r', 'c', 'x')
  local r = tonumber(cur[1])
  if r then
    local old = redis.call('HGET', vk, id .. '/' .. r)
    if old and body_of(old) == body then return end
  end
  local start, last_rev, dropped = next_start(kind, id, hk, vk)
  local rev = last_rev + 1
  local created = start
  if r then
    created = tonumber(cur[2])
    if not dropped then redis.call('ZADD', ENDS, start, kind .. ':' .. id .. ':' .. r) end
  end
  redis.call('ZADD', hk, start, rev)
  redis.call('HSET', vk, id .. '/' .. rev, created .. '\n' .. src .. '\n' .. body)
  redis.call('HSET', ck, 'r', rev, 'c', created, 'u', start, 'x', extra)
  if not r then
    redis.call('SADD', ALIVE[kind], id)
    redis.call('SADD', KNOWN[kind], id)
  end
  local old, new = split(cur[3]), split(extra)
  if kind == 'n' then
    local had, has = {}, {}
    for _, term in ipairs(old) do had[term] = true end
    for _, term in ipairs(new) do has[term] = true end
    for _, term in ipairs(old) do
      if not has[term] then redis.call('SREM', P .. 'ix:' .. term, id) end
    end
    for _, term in ipairs(new) do
      if not had[term] then redis.call('SADD', P .. 'ix:' .. term, id) end
    end
  else
    if old[1] ~= new[1] then
      if old[1] then redis.call('SREM', P .. 'out:' .. old[1], id) end
      redis.call('SADD', P .. 'out:' .. new[1], id)
    end
    if old[2] ~= new[2] then
      if old[2] then redis.call('SREM', P .. 'in:' .. old[2], id) end
      redis.call('SADD', P .. 'in:' .. new[2], id)
    end
  end
  feed[#feed + 1] = '{"op":"' .. OPS[kind] .. '.upsert","id":' .. cjson.encode(id)
    .. ',"Revision":' .. rev .. ',"CreatedAt":' .. created .. ',"UpdatedAt":' .. start
    .. ',"Source":' .. src .. ',"' .. OPS[kind] .. '":' .. body .. '}'
end

local function delete(kind, id, src)
  local ck = P .. kind .. ':' .. id
  local hk = P .. kind .. 'h:' .. id
  local vk = P .. kind .. 'v'
  local cur = redis.call('HMGET', ck, 'r', 'c', 'x')
  local r = tonumber(cur[1])
  if not r then return end
  local extra = split(cur[3])
  if kind == 'n' then
    -- A node takes its edges with it (as in Skydive): no edge outlives its node.
    local edges = redis.call('SUNION', P .. 'out:' .. id, P .. 'in:' .. id)
    table.sort(edges)
    for _, edge in ipairs(edges) do delete('e', edge, src) end
    for _, term in ipairs(extra) do redis.call('SREM', P .. 'ix:' .. term, id) end
  else
    redis.call('SREM', P .. 'out:' .. extra[1], id)
    redis.call('SREM', P .. 'in:' .. extra[2], id)
  end
  local start, _, dropped = next_start(kind, id, hk, vk)
  if not dropped then redis.call('ZADD', ENDS, start, kind .. ':' .. id .. ':' .. r) end
  redis.call('ZADD', hk, start, 'd' .. r)
  redis.call('ZADD', ENDS, start, kind .. ':' .. id .. ':d' .. r)
  redis.call('DEL', ck)
  redis.call('SREM', ALIVE[kind], id)
  feed[#feed + 1] = '{"op":"' .. OPS[kind] .. '.delete","id":' .. cjson.encode(id)
    .. ',"Revision":' .. r .. ',"DeletedAt":' .. start .. ',"Source":' .. src .. '}'
end

for i = 0, n - 1 do
  local base = 6 + i * 5
  local op, id, body, src, extra = ARGV[base], ARGV[base + 1], ARGV[base + 2],
    ARGV[base + 3], ARGV[base + 4]
  if op == 'node.upsert' then upsert('n', id, body, src, extra)
  elseif op == 'edge.upsert' then upsert('e', id, body, src, extra)
  elseif op == 'node.delete' then delete('n', id, src)
  elseif op == 'edge.delete' then delete('e', id, src)
  end
end

if stream ~= '' then redis.call('HSET', P .. 'hwm', stream, offset) end
if #feed == 0 then return {0, 0} end
local rev = redis.call('INCR', P .. 'rev')
redis.pcall('XADD', P .. 'feed', rev .. '-0', 't', t, 'c', '[' .. table.concat(feed, ',') .. ']')
return {rev, #feed}
"""
)

LOOKUP = r"""#!lua flags=no-writes
local P, kind, t1, t0 = ARGV[1], ARGV[2], ARGV[3], ARGV[4]
local vk = P .. kind .. 'v'
local after = tonumber(t0)
local out = {redis.call('GET', P .. 'horizon') or '0', redis.call('GET', P .. 'rev') or '0'}
for i = 5, #ARGV do
  local id = ARGV[i]
  local m = redis.call('ZREVRANGEBYSCORE', P .. kind .. 'h:' .. id, t1, '-inf',
    'WITHSCORES', 'LIMIT', 0, 2)
  local member, start, deleted = m[1], m[2], ''
  if member and string.sub(member, 1, 1) == 'd' then
    -- Deleted by t1: still in the view when the version before lived past t0.
    if m[3] and string.sub(m[3], 1, 1) ~= 'd' and tonumber(start) > after then
      member, start, deleted = m[3], m[4], start
    else
      member = nil
    end
  end
  if member then
    out[#out + 1] = member
    out[#out + 1] = start
    out[#out + 1] = redis.call('HGET', vk, id .. '/' .. member) or ''
    out[#out + 1] = deleted
  else
    out[#out + 1] = ''; out[#out + 1] = ''; out[#out + 1] = ''; out[#out + 1] = ''
  end
end
return out
"""

TRIM = r"""
local P = ARGV[1]
local cutoff = tonumber(ARGV[2])
local limit = tonumber(ARGV[3])
local ENDS = P .. 'ends'
local KNOWN = {n = P .. 'nodes:h', e = P .. 'edges:h'}

-- Reads before the cutoff go cold from now on: history there is no longer complete.
local horizon = tonumber(redis.call('GET', P .. 'horizon') or '0')
if cutoff > horizon then redis.call('SET', P .. 'horizon', cutoff) end

local removed = 0
local due = redis.call('ZRANGEBYSCORE', ENDS, '-inf', cutoff, 'LIMIT', 0, limit)
for _, entry in ipairs(due) do
  local kind, id, member = string.match(entry, '^(%a):(.*):([^:]*)$')
  local hk = P .. kind .. 'h:' .. id
  local vk = P .. kind .. 'v'
  if string.sub(member, 1, 1) == 'd' then
    -- A deletion older than the window: the element and all its earlier versions go.
    local at = redis.call('ZSCORE', hk, member)
    if at then
      for _, m in ipairs(redis.call('ZRANGEBYSCORE', hk, '-inf', at)) do
        if string.sub(m, 1, 1) ~= 'd' then
          redis.call('HDEL', vk, id .. '/' .. m)
          redis.call('ZREM', ENDS, kind .. ':' .. id .. ':' .. m)
        end
      end
      redis.call('ZREMRANGEBYSCORE', hk, '-inf', at)
    end
    if redis.call('EXISTS', hk) == 0 then redis.call('SREM', KNOWN[kind], id) end
  else
    redis.call('ZREM', hk, member)
    redis.call('HDEL', vk, id .. '/' .. member)
  end
  redis.call('ZREM', ENDS, entry)
  removed = removed + 1
end

local feed_removed = 0
local entries = redis.call('XRANGE', P .. 'feed', '-', '+', 'COUNT', limit)
local keep = nil
for _, entry in ipairs(entries) do
  local fields = entry[2]
  local t = nil
  for j = 1, #fields, 2 do
    if fields[j] == 't' then t = tonumber(fields[j + 1]) end
  end
  if t and t >= cutoff then keep = entry[1]; break end
  feed_removed = feed_removed + 1
end
if feed_removed > 0 then
  if keep then
    redis.call('XTRIM', P .. 'feed', 'MINID', keep)
  else
    redis.call('XDEL', P .. 'feed', unpack((function()
      local ids = {}
      for _, entry in ipairs(entries) do ids[#ids + 1] = entry[1] end
      return ids
    end)()))
  end
end
return {removed, feed_removed}
"""
