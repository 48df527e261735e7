"""The Lua scripts: every write to the projection and every consistent read is one call.

A Lua script runs atomically in Redis, so a reader never sees half a changeset, and it
reads and writes in one round trip. Scripts build per-element key names from the prefix
with the layout of ``store.keys``. A script that fails part-way keeps its earlier writes
(Redis has no rollback), so the writer only calls commands that cannot fail on keys of
the right type.

A version record (``<kind>v`` hash, field ``<id>/<rev>``) is
``<CreatedAt>\\n<source>\\n<index terms, tab-separated>\\n<body>``; the body is the
element's canonical JSON without its ``ID`` (the field names it). orjson never writes a
raw newline, so the body is everything after the third one. An element's current state
is its latest history member: a live version, or ``d<rev>`` once deleted.

``APPLY`` — ARGV: prefix, hwm field ('' = none), offset, time ms, count, and one blob of
netstrings ``<length>:<bytes>``, per change ``op, id, body, source, terms``; for an edge
upsert ``terms`` is ``Parent\\tChild``
(used for adjacency, not stored: the body has them). Returns ``{revision, changes}``;
revision -1 = a redelivered record, 0 = nothing changed.

``LOOKUP`` — ARGV: prefix, kind, t1, t0 (ms, or ``+inf`` for now), ids. For each id, the
latest version alive at some moment of [t0, t1] (t0 = t1: at one time). Returns the
horizon and the global revision, then per id ``member, start, record, deleted at``
('' when absent; "deleted at" only when that version ended with a deletion by t1).

``RECORDS`` — ARGV: prefix, then ``kind, field`` pairs. The version records ('' if gone).

``TRIM`` — ARGV: prefix, cutoff ms, limit. Removes at most ``limit`` versions and
deletions that ended before the cutoff, and feed entries older than it. Returns
``{history entries removed, feed entries removed}``.
"""

from __future__ import annotations

_COMMON = r"""
local function split(s, sep)
  local out = {}
  if s == nil or s == false or s == '' then return out end
  for part in string.gmatch(s, '[^' .. sep .. ']+') do out[#out + 1] = part end
  return out
end

-- record → created, source, terms, body
local function parse(rec)
  local a = string.find(rec, '\n', 1, true)
  local b = string.find(rec, '\n', a + 1, true)
  local c = string.find(rec, '\n', b + 1, true)
  return string.sub(rec, 1, a - 1), string.sub(rec, a + 1, b - 1),
    string.sub(rec, b + 1, c - 1), string.sub(rec, c + 1)
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
local DEAD = {n = P .. 'nodes:dead', e = P .. 'edges:dead'}
local feed = {}

-- The latest history member: revision, start, deleted?, member (nil for none).
local function latest(hk)
  local m = redis.call('ZRANGE', hk, -1, -1, 'WITHSCORES')
  if #m == 0 then return nil, nil, false, nil end
  local member = m[1]
  if string.sub(member, 1, 1) == 'd' then
    return tonumber(string.sub(member, 2)), tonumber(m[2]), true, member
  end
  return tonumber(member), tonumber(m[2]), false, member
end

-- Start of the next member: never before the latest one, so every element's members
-- have strictly increasing starts. A latest member starting at that same time covers an
-- empty interval no read can see: it leaves the history (a version's record stays until
-- the trimmer, for the change feed).
local function next_start(kind, id, hk, last_rev, last_start, dead, member)
  if not last_rev then return t end
  local start = t
  if last_start > start then start = last_start end
  if start == last_start then
    redis.call('ZREM', hk, member)
    if dead then redis.call('ZREM', ENDS, kind .. ':' .. id .. ':' .. member) end
  end
  if not dead then redis.call('ZADD', ENDS, start, kind .. ':' .. id .. ':' .. last_rev) end
  return start
end

local function upsert(kind, id, body, src, terms)
  local hk = P .. kind .. 'h:' .. id
  local vk = P .. kind .. 'v'
  local last_rev, last_start, dead, member = latest(hk)
  local alive = last_rev and not dead
  local created, old_terms, old_body
  if alive then
    local c, _s, terms_was, body_was = parse(redis.call('HGET', vk, id .. '/' .. last_rev))
    created, old_terms, old_body = c, terms_was, body_was
    if old_body == body then return end
  end
  local start = next_start(kind, id, hk, last_rev, last_start, dead, member)
  local rev = (last_rev or 0) + 1
  if not alive then created = start end
  local stored_terms = terms
  if kind == 'e' then stored_terms = '' end
  redis.call('ZADD', hk, start, rev)
  redis.call('HSET', vk, id .. '/' .. rev,
    created .. '\n' .. src .. '\n' .. stored_terms .. '\n' .. body)
  if not alive then
    redis.call('SADD', ALIVE[kind], id)
    redis.call('SREM', DEAD[kind], id)
  end
  if kind == 'n' then
    local had, has = {}, {}
    local old, new = split(old_terms, '\t'), split(terms, '\t')
    for _, term in ipairs(old) do had[term] = true end
    for _, term in ipairs(new) do has[term] = true end
    for _, term in ipairs(old) do
      if not has[term] then redis.call('SREM', P .. 'ix:' .. term, id) end
    end
    for _, term in ipairs(new) do
      if not had[term] then redis.call('SADD', P .. 'ix:' .. term, id) end
    end
  else
    local ends = split(terms, '\t')
    if alive then
      local was = cjson.decode(old_body)
      redis.call('SREM', P .. 'out:' .. was['Parent'], id)
      redis.call('SREM', P .. 'in:' .. was['Child'], id)
    end
    redis.call('SADD', P .. 'out:' .. ends[1], id)
    redis.call('SADD', P .. 'in:' .. ends[2], id)
  end
  feed[#feed + 1] = '["' .. kind .. '+",' .. cjson.encode(id) .. ',' .. rev .. ',' .. start .. ']'
end

local function delete(kind, id)
  local hk = P .. kind .. 'h:' .. id
  local vk = P .. kind .. 'v'
  local last_rev, last_start, dead, member = latest(hk)
  if not last_rev or dead then return end
  local _, _, terms, body = parse(redis.call('HGET', vk, id .. '/' .. last_rev))
  if kind == 'n' then
    -- A node takes its edges with it (as in Skydive): no edge outlives its node.
    local edges = redis.call('SUNION', P .. 'out:' .. id, P .. 'in:' .. id)
    table.sort(edges)
    for _, edge in ipairs(edges) do delete('e', edge) end
    for _, term in ipairs(split(terms, '\t')) do redis.call('SREM', P .. 'ix:' .. term, id) end
  else
    local was = cjson.decode(body)
    redis.call('SREM', P .. 'out:' .. was['Parent'], id)
    redis.call('SREM', P .. 'in:' .. was['Child'], id)
  end
  local start = next_start(kind, id, hk, last_rev, last_start, dead, member)
  redis.call('ZADD', hk, start, 'd' .. last_rev)
  redis.call('ZADD', ENDS, start, kind .. ':' .. id .. ':d' .. last_rev)
  redis.call('SREM', ALIVE[kind], id)
  redis.call('SADD', DEAD[kind], id)
  feed[#feed + 1] = '["' .. kind .. '-",' .. cjson.encode(id) .. ',' .. last_rev .. ','
    .. start .. ']'
end

-- The changes come as one blob of netstrings ``<length>:<bytes>``, five per change: one
-- argument instead of five per change is much cheaper to send and to parse.
local blob = ARGV[6]
local pos = 1
local function field()
  local colon = string.find(blob, ':', pos, true)
  local len = tonumber(string.sub(blob, pos, colon - 1))
  local value = string.sub(blob, colon + 1, colon + len)
  pos = colon + len + 1
  return value
end

for _ = 1, n do
  local op, id, body, src, terms = field(), field(), field(), field(), field()
  if op == 'node.upsert' then upsert('n', id, body, src, terms)
  elseif op == 'edge.upsert' then upsert('e', id, body, src, terms)
  elseif op == 'node.delete' then delete('n', id)
  elseif op == 'edge.delete' then delete('e', id)
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

RECORDS = r"""#!lua flags=no-writes
local P = ARGV[1]
local out = {}
for i = 2, #ARGV, 2 do
  out[#out + 1] = redis.call('HGET', P .. ARGV[i] .. 'v', ARGV[i + 1]) or ''
end
return out
"""

TRIM = r"""
local P = ARGV[1]
local cutoff = tonumber(ARGV[2])
local limit = tonumber(ARGV[3])
local ENDS = P .. 'ends'
local DEAD = {n = P .. 'nodes:dead', e = P .. 'edges:dead'}

-- Reads before the cutoff go cold from now on: history there is no longer complete.
local horizon = tonumber(redis.call('GET', P .. 'horizon') or '0')
if cutoff > horizon then redis.call('SET', P .. 'horizon', cutoff) end

local removed = 0
local due = redis.call('ZRANGEBYSCORE', ENDS, '-inf', '(' .. cutoff, 'LIMIT', 0, limit)
for _, entry in ipairs(due) do
  local kind, id, member = string.match(entry, '^(%a):(.*):([^:]*)$')
  local hk = P .. kind .. 'h:' .. id
  local vk = P .. kind .. 'v'
  if string.sub(member, 1, 1) == 'd' then
    -- A deletion before the window: the element and all its earlier versions go.
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
    if redis.call('EXISTS', hk) == 0 then redis.call('SREM', DEAD[kind], id) end
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
    for _, entry in ipairs(entries) do redis.call('XDEL', P .. 'feed', entry[1]) end
  end
end
return {removed, feed_removed}
"""
