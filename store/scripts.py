"""The Lua scripts: every write to the projection and every consistent read is one call.

A Lua script runs atomically in Redis, so a reader never sees half a changeset, and it
reads and writes in one round trip. Scripts build per-element key names from the prefix
with the layout of ``store.keys``. A script that fails part-way keeps its earlier writes
(Redis has no rollback), so the writer only calls commands that cannot fail on keys of
the right type.

An alive element's current version is its field in the alive hash (``nodes``/``edges``):
``<Revision>\\n<start>\\n<CreatedAt>\\n<source>\\n<index terms, tab-separated>\\n<body>``,
CreatedAt empty when it equals the start (a first version). A version that is no longer
current (superseded, or ended by a deletion) is moved to the versions hash (``<kind>v``,
field ``<id>/<rev>``) as it was (layout 2 wrote ``<CreatedAt>\\n<source>\\n<body>``
there: readers take both forms, ``encoding.record_parts``). The body
(``encoding.node_body``/``edge_body``) is a node's canonical ``Metadata`` JSON, or
``\\t<Parent>\\t<Child>\\t<Metadata JSON>`` for an edge; orjson never writes a raw
newline, so the body is everything after the last separator.
The history zset (``<kind>h:<id>``) exists only once an element has a second member (or
is deleted): most elements have one version and no history key.

``APPLY`` — ARGV: prefix, hwm field ('' = none), offset, time ms (an integer), count,
and one MessagePack array of strings (``scriptargs.unpack_changes`` reads it), per change
``op, id, record``: for an upsert, the current record the element would have as a new
element (``encoding.current_record`` of Revision 1 starting at the time, with the index
terms of a node; stored as sent for a new element, the script rewrites its head
otherwise), '' for a delete; then the MessagePack array of ``scriptargs.batch_cuts``
(the change numbers where a run of upserts starts a new batch: an element comes back).
Returns ``{revision, changes}``; revision -1 = a redelivered record, 0 = nothing changed.

``LOOKUP`` — ARGV: prefix, kind, t1, t0 (ms, or ``+inf`` for now), ids. For each id, the
latest version alive at some moment of [t0, t1] (t0 = t1: at one time). Returns the
horizon and the global revision, then per id ``member, start, record, deleted at``
('' when absent; "deleted at" only when that version ended with a deletion by t1).

``LOOKUP`` returns a current version's record as stored (``encoding.parse_record``
tells the two forms apart by their number of separators: the body has no newline).

``NEIGHBOURS`` — ARGV: prefix, direction (``out``, ``in`` or ``both``), a cap on edges,
node ids. One walk step of the live graph in one call: per node id, for each side asked
(out, then in), the number of alive edges on that side and per edge ``edge id, other
end's id`` ('' when the edge's record is missing); then the number of distinct other
ends alive and per one ``id, current record``. Returns ``{revision, nodes done, ...}``:
it stops before the next node once the cap is reached (at least one node is done), so
a batch of hub nodes does not hold Redis in one long script.

``FIND`` — ARGV: prefix, limit, number of groups, then per group its number of index
keys and the keys. The alive nodes in every group's union of index sets, with their
current records, in one call: ``{revision, count, id, record, ...}``; ``{revision, -1}``
when the smallest group holds more than ``limit`` ids (the caller reads the ids and
fetches in batches instead). Starts from the smallest group; the others are tested
with ``SISMEMBER``, so a large set (every pod) is never read.

``TRIM`` — ARGV: prefix, cutoff ms, limit. Removes at most ``limit`` versions and
deletions that ended before the cutoff, and feed entries older than it; an alive element
left with its current version alone loses its history zset. Returns
``{history entries removed, feed entries removed}``.
"""

from __future__ import annotations

_COMMON = r"""
-- tab-separated index terms → list
local function split_terms(s)
  local out = {}
  if s == nil or s == '' then return out end
  for part in string.gmatch(s, '[^\t]+') do out[#out + 1] = part end
  return out
end

-- current record → rev, start, created, terms (strings), and where its body starts
-- (the body is not copied out: Lua makes every string it creates)
local function fields(rec)
  local a = string.find(rec, '\n', 1, true)
  local b = string.find(rec, '\n', a + 1, true)
  local c = string.find(rec, '\n', b + 1, true)
  local d = string.find(rec, '\n', c + 1, true)
  local e = string.find(rec, '\n', d + 1, true)
  local start = string.sub(rec, a + 1, b - 1)
  local created = string.sub(rec, b + 1, c - 1)
  if created == '' then created = start end
  return string.sub(rec, 1, a - 1), start, created, string.sub(rec, d + 1, e - 1), e + 1
end

-- current record → rev, start (as strings)
local function head(rec)
  local a = string.find(rec, '\n', 1, true)
  local b = string.find(rec, '\n', a + 1, true)
  return string.sub(rec, 1, a - 1), string.sub(rec, a + 1, b - 1)
end

-- an edge's body at ``i`` of ``s`` → Parent, Child (the body is
-- ``\t<Parent>\t<Child>\t<Metadata>``)
local function ends_of(s, i)
  local a = string.find(s, '\t', i + 1, true)
  local b = string.find(s, '\t', a + 1, true)
  return string.sub(s, i + 1, a - 1), string.sub(s, a + 1, b - 1)
end

-- a < b comparing bytes (as Redis sorts zset members and Python sorts str)
local function bytes_less(a, b)
  local n = math.min(#a, #b)
  local i = 1
  while i <= n and string.byte(a, i) == string.byte(b, i) do i = i + 1 end
  if i > n then return #a < #b end
  return string.byte(a, i) < string.byte(b, i)
end
"""

#: The version of this key layout, in ``P layout`` from the first revision on (bumped
#: when the layout changes: 2 = adjacency hashes). ``store.projector`` never writes into a
#: projection of another layout: it drops it and rebuilds it from the graph topic.
LAYOUT = "2"

APPLY = (
    _COMMON
    + f"local LAYOUT = '{LAYOUT}'\n"
    + r"""
local P = ARGV[1]
local stream = ARGV[2]
local offset = tonumber(ARGV[3])
local tstr = ARGV[4]  -- the changeset time as the stored form of a start (ms, an integer)
local t = tonumber(tstr)
local n = tonumber(ARGV[5])

if stream ~= '' then
  local last = redis.call('HGET', P .. 'hwm', stream)
  if last and tonumber(last) >= offset then return {-1, 0} end
end

local ENDS = P .. 'ends'
local ALIVE = {n = P .. 'nodes', e = P .. 'edges'}
local DEAD = {n = P .. 'nodes:dead', e = P .. 'edges:dead'}
local feed = {}
-- The changes come as one MessagePack array of strings, three per change (op, id, the
-- record of a first version: '' for a delete), decoded in C: one argument instead of
-- three per change is much cheaper to send and to parse.
local f = cmsgpack.unpack(ARGV[6])

-- The current version of an alive element is its field in the alive hash; its history
-- zset exists only once it has a second member (or the element is deleted). Archiving
-- the current version moves its record to the versions hash, and into the history zset
-- unless a successor starts in the same ms (an empty interval no read can see). The
-- successor (member ``next`` from ``start``: a version or a deletion) goes into the zset
-- in the same ZADD; a version that would be alone there stays out (``always``: not a
-- deletion). ``rec``: the archived version's record (its current record, as it was).
local function archive(kind, id, hk, rev, cur_start, cur_start_s, rec, start, start_s, next,
    always)
  redis.call('HSET', P .. kind .. 'v', id .. '/' .. rev, rec)
  local ended = kind .. ':' .. id .. ':'
  if always then  -- a deletion: it ends when the version does
    redis.call('ZADD', ENDS, start_s, ended .. rev, start_s, ended .. next)
  else
    redis.call('ZADD', ENDS, start_s, ended .. rev)
  end
  if start == cur_start then
    redis.call('ZREM', hk, rev)
    if always or redis.call('ZCARD', hk) > 0 then redis.call('ZADD', hk, start_s, next) end
  else
    redis.call('ZADD', hk, cur_start_s, rev, start_s, next)
  end
end

-- ``new``: the record the element gets as a first version starting at t,
-- ``1\n<t>\n\n<source>\n<terms>\n<body>``, stored as sent when that is what it is.
local SRC_AT = #tstr + 5  -- where the source starts in ``new``
-- An upsert of an element that exists (``cur``: its current record) or is dead
-- (``dead``); a new element takes ``add`` instead.
local function upsert(kind, id, new, cur, dead)
  local hk = nil  -- the history zset's name, when needed (not for a new element)
  local ak = ALIVE[kind]
  local c = string.find(new, '\n', SRC_AT, true)
  local d = string.find(new, '\n', c + 1, true)
  local terms = string.sub(new, c + 1, d - 1)
  -- start: a number for comparisons, start_s: its stored form (no number formatting)
  local rev, start, start_s, created, old_terms, old_at = '1', t, tstr, '', nil, nil
  if cur then
    local r, s, cr, terms_was, at = fields(cur)
    -- Unchanged: the same body (found where the current one starts, and as long).
    if #cur - at == #new - d - 1 and string.find(cur, string.sub(new, d + 1), at, true) == at then
      return
    end
    local last_start = tonumber(s)
    if last_start > start then start, start_s = last_start, s end
    rev, created, old_terms, old_at = tonumber(r) + 1, cr, terms_was, at
    hk = P .. kind .. 'h:' .. id
    archive(kind, id, hk, r, last_start, s, cur, start, start_s, rev, false)
  elseif dead then
    redis.call('SREM', DEAD[kind], id)
    -- Deleted, with history (a dead element is in the dead set and has a history zset):
    -- a new incarnation; starts never go backwards.
    hk = P .. kind .. 'h:' .. id
    local m = redis.call('ZRANGE', hk, -1, -1, 'WITHSCORES')
    local last_start = tonumber(m[2])
    if last_start > start then start, start_s = last_start, m[2] end
    rev = tonumber(string.sub(m[1], 2)) + 1
    local history = true
    if start == last_start then
      redis.call('ZREM', hk, m[1])
      redis.call('ZREM', ENDS, kind .. ':' .. id .. ':' .. m[1])
      history = redis.call('ZCARD', hk) > 0
    end
    if history then redis.call('ZADD', hk, start_s, rev) end
  end
  if rev == '1' then
    redis.call('HSET', ak, id, new)  -- a new element: its record is the one sent
  else
    if created == start_s then created = '' end
    redis.call('HSET', ak, id,
      rev .. '\n' .. start_s .. '\n' .. created .. '\n' .. string.sub(new, SRC_AT))
  end
  if kind == 'n' then
    local had, has = {}, {}
    local old, new = split_terms(old_terms), split_terms(terms)
    for _, term in ipairs(old) do had[term] = true end
    for _, term in ipairs(new) do has[term] = true end
    for _, term in ipairs(old) do
      if not has[term] then redis.call('SREM', P .. 'ix:' .. term, id) end
    end
    for _, term in ipairs(new) do
      if not had[term] then redis.call('SADD', P .. 'ix:' .. term, id) end
    end
  else
    -- Adjacency hashes (edge id -> ''): listpacks up to 512 members, where an insert
    -- appends (a listpack zset inserts in order, and is a skiplist beyond 128).
    local parent, child = ends_of(new, d + 1)
    local parent_was, child_was = nil, nil
    if old_at then parent_was, child_was = ends_of(cur, old_at) end
    if parent ~= parent_was then
      if parent_was then redis.call('HDEL', P .. 'out:' .. parent_was, id) end
      redis.call('HSET', P .. 'out:' .. parent, id, '')
    end
    if child ~= child_was then
      if child_was then redis.call('HDEL', P .. 'in:' .. child_was, id) end
      redis.call('HSET', P .. 'in:' .. child, id, '')
    end
  end
  feed[#feed + 1] = '["' .. kind .. '+",' .. cjson.encode(id) .. ',' .. rev .. ',' .. start_s .. ']'
end

-- Commands with many arguments, ``CHUNK`` at a time (``unpack`` has a stack limit, and a
-- huge command would hold Redis as long as a script does).
local CHUNK = 1000
local function call_many(cmd, key, args)
  local total = #args
  for i = 1, total, CHUNK do
    redis.call(cmd, key, unpack(args, i, math.min(i + CHUNK - 1, total)))
  end
end

-- New elements of a batch, written when the batch ends: one HSET of the alive hash per
-- kind, one SADD per index term, one HSET per adjacency hash (grouped across the
-- batch's elements instead of one command per element and key).
local fresh = {n = {}, e = {}}
local ix, out, inn = {}, {}, {}
local function group(t, k, id)
  local g = t[k]
  if g then g[#g + 1] = id else t[k] = {id} end
end
local function add(kind, id, new)
  local a = fresh[kind]
  a[#a + 1] = id
  a[#a + 1] = new
  local c = string.find(new, '\n', SRC_AT, true)
  local d = string.find(new, '\n', c + 1, true)
  if kind == 'n' then
    if d > c + 1 then
      for term in string.gmatch(string.sub(new, c + 1, d - 1), '[^\t]+') do group(ix, term, id) end
    end
  else
    local parent, child = ends_of(new, d + 1)
    local g = out[parent]
    if g then g[#g + 1] = id; g[#g + 1] = '' else out[parent] = {id, ''} end
    g = inn[child]
    if g then g[#g + 1] = id; g[#g + 1] = '' else inn[child] = {id, ''} end
  end
  feed[#feed + 1] = '["' .. kind .. '+",' .. cjson.encode(id) .. ',1,' .. tstr .. ']'
end
local function flush()
  for kind, a in pairs(fresh) do
    if #a > 0 then call_many('HSET', ALIVE[kind], a); fresh[kind] = {} end
  end
  for term, ids in pairs(ix) do call_many('SADD', P .. 'ix:' .. term, ids) end
  for parent, a in pairs(out) do call_many('HSET', P .. 'out:' .. parent, a) end
  for child, a in pairs(inn) do call_many('HSET', P .. 'in:' .. child, a) end
  ix, out, inn = {}, {}, {}
end

-- A batch: the upserts ``first..last`` (change numbers), of distinct elements, with no
-- deletion among them. Their states are read up front (an upsert only writes its own
-- element's keys and its own members of shared ones, so the reads stay valid while the
-- batch runs); the new elements are written at its end.
local KIND = {['node.upsert'] = 'n', ['edge.upsert'] = 'e'}
local function batch(first, last)
  local ids = {n = {}, e = {}}
  for i = first, last do
    local a = ids[KIND[f[3 * i - 2]]]
    a[#a + 1] = f[3 * i - 1]
  end
  local curs, deads, pos = {}, {}, {n = 0, e = 0}
  for kind, a in pairs(ids) do
    if #a > 0 then
      local got = {}
      for i = 1, #a, CHUNK do
        local part = redis.call('HMGET', ALIVE[kind], unpack(a, i, math.min(i + CHUNK - 1, #a)))
        for _, v in ipairs(part) do got[#got + 1] = v end
      end
      curs[kind] = got
      local absent = {}
      for j = 1, #a do if not got[j] then absent[#absent + 1] = a[j] end end
      local dead = {}
      if #absent > 0 and redis.call('SCARD', DEAD[kind]) > 0 then
        for i = 1, #absent, CHUNK do
          local j = math.min(i + CHUNK - 1, #absent)
          local is = redis.call('SMISMEMBER', DEAD[kind], unpack(absent, i, j))
          for k = 1, #is do if is[k] == 1 then dead[absent[i + k - 1]] = true end end
        end
      end
      deads[kind] = dead
    end
  end
  for i = first, last do
    local kind, id, new = KIND[f[3 * i - 2]], f[3 * i - 1], f[3 * i]
    local p = pos[kind] + 1
    pos[kind] = p
    local cur = curs[kind][p]
    if cur or deads[kind][id] then upsert(kind, id, new, cur, not cur) else add(kind, id, new) end
  end
  flush()
end

-- Deletions of distinct edges, in order: their records are read up front (a deletion
-- writes only its own edge's keys and its own members of the shared ones), and the
-- writes to shared keys are grouped (alive and versions hashes, dead set, ``ends``,
-- adjacency). The same as ``delete`` of each in turn.
local function delete_edges(ids)
  local got = {}
  for i = 1, #ids, CHUNK do
    local part = redis.call('HMGET', ALIVE.e, unpack(ids, i, math.min(i + CHUNK - 1, #ids)))
    for _, v in ipairs(part) do got[#got + 1] = v end
  end
  local gone, versions, ends, outd, ind = {}, {}, {}, {}, {}
  for j, id in ipairs(ids) do
    local cur = got[j]
    if cur then
      local r, s, _, _, at = fields(cur)
      local parent, child = ends_of(cur, at)
      group(outd, parent, id)
      group(ind, child, id)
      local last_start = tonumber(s)
      local start, start_s = t, tstr
      if last_start > start then start, start_s = last_start, s end
      local dr = 'd' .. r
      versions[#versions + 1] = id .. '/' .. r
      versions[#versions + 1] = cur
      local ended = 'e:' .. id .. ':'
      ends[#ends + 1] = start_s
      ends[#ends + 1] = ended .. r
      ends[#ends + 1] = start_s
      ends[#ends + 1] = ended .. dr
      local hk = P .. 'eh:' .. id
      if start == last_start then
        redis.call('ZREM', hk, r)
        redis.call('ZADD', hk, start_s, dr)
      else
        redis.call('ZADD', hk, s, r, start_s, dr)
      end
      gone[#gone + 1] = id
      feed[#feed + 1] = '["e-",' .. cjson.encode(id) .. ',' .. r .. ',' .. start_s .. ']'
    end
  end
  if #gone == 0 then return end
  call_many('HSET', P .. 'ev', versions)
  call_many('ZADD', ENDS, ends)
  for parent, a in pairs(outd) do call_many('HDEL', P .. 'out:' .. parent, a) end
  for child, a in pairs(ind) do call_many('HDEL', P .. 'in:' .. child, a) end
  call_many('HDEL', ALIVE.e, gone)
  call_many('SADD', DEAD.e, gone)
end

local function delete(kind, id)
  local ak = ALIVE[kind]
  local cur = redis.call('HGET', ak, id)
  if not cur then return end
  local r, s, _, terms, at = fields(cur)
  if kind == 'n' then
    -- A node takes its edges with it (as in Skydive): no edge outlives its node.
    -- In byte order (Lua's ``<`` on strings follows the server's locale).
    local edges = redis.call('HKEYS', P .. 'out:' .. id)
    for _, edge in ipairs(redis.call('HKEYS', P .. 'in:' .. id)) do edges[#edges + 1] = edge end
    if #edges > 1 then table.sort(edges, bytes_less) end
    local distinct, last = {}, nil
    for _, edge in ipairs(edges) do
      if edge ~= last then distinct[#distinct + 1] = edge end  -- a self-loop is in both
      last = edge
    end
    if #distinct > 0 then delete_edges(distinct) end
    for _, term in ipairs(split_terms(terms)) do redis.call('SREM', P .. 'ix:' .. term, id) end
  else
    local parent, child = ends_of(cur, at)
    redis.call('HDEL', P .. 'out:' .. parent, id)
    redis.call('HDEL', P .. 'in:' .. child, id)
  end
  local hk = P .. kind .. 'h:' .. id
  local last_start = tonumber(s)
  local start, start_s = t, tstr
  if last_start > start then start, start_s = last_start, s end
  archive(kind, id, hk, r, last_start, s, cur, start, start_s, 'd' .. r, true)
  redis.call('HDEL', ak, id)
  redis.call('SADD', DEAD[kind], id)
  feed[#feed + 1] = '["' .. kind .. '-",' .. cjson.encode(id) .. ',' .. r .. ',' .. start_s .. ']'
end

-- Runs of upserts go in batches (``batch``), cut where an element comes back
-- (``cuts``: the change numbers that start a new batch); runs of edge deletions too
-- (``delete_edges``); node deletions one by one.
local cuts = {}
for _, i in ipairs(cmsgpack.unpack(ARGV[7])) do cuts[i] = true end
local i = 1
while i <= n do
  local op = f[3 * i - 2]
  if KIND[op] then
    local last = i
    while last < n and KIND[f[3 * last + 1]] and not cuts[last + 1] do last = last + 1 end
    batch(i, last)
    i = last + 1
  else
    if op == 'node.delete' then
      delete('n', f[3 * i - 1])
      i = i + 1
    elseif op == 'edge.delete' then  -- a run of deletions of distinct edges
      local ids, seen = {}, {}
      while i <= n and f[3 * i - 2] == 'edge.delete' and not seen[f[3 * i - 1]] do
        local id = f[3 * i - 1]
        ids[#ids + 1] = id
        seen[id] = true
        i = i + 1
      end
      delete_edges(ids)
    else
      i = i + 1
    end
  end
end

if stream ~= '' then redis.call('HSET', P .. 'hwm', stream, offset) end
if #feed == 0 then return {0, 0} end
local rev = redis.call('INCR', P .. 'rev')
if rev == 1 then
  -- A new projection (empty, dropped or flushed before): its layout, and an identity of
  -- its own that readers compare (``store.feed``): the server's time in us and a random
  -- number (Redis >= 7 seeds it randomly; the time alone tells apart a projection made
  -- again after a restart of the server, whose random sequence may start over).
  local now = redis.call('TIME')
  redis.call('SET', P .. 'layout', LAYOUT)
  redis.call('SET', P .. 'epoch', now[1] .. '.' .. now[2] .. '-' .. math.random(1, 2147483647))
end
redis.pcall('XADD', P .. 'feed', rev .. '-0', 't', t, 'c', '[' .. table.concat(feed, ',') .. ']')
return {rev, #feed}
"""
)

LOOKUP = (
    "#!lua flags=no-writes\n"
    + _COMMON
    + r"""
local P, kind, t1, t0 = ARGV[1], ARGV[2], ARGV[3], ARGV[4]
local vk = P .. kind .. 'v'
local ak = P .. (kind == 'n' and 'nodes' or 'edges')
local now = t1 == '+inf' and t0 == '+inf'
local until_ = t1 == '+inf' and math.huge or tonumber(t1)
local after = t0 == '+inf' and math.huge or tonumber(t0)
local out = {redis.call('GET', P .. 'horizon') or '0', redis.call('GET', P .. 'rev') or '0'}
for i = 5, #ARGV do
  local id = ARGV[i]
  local cur = redis.call('HGET', ak, id)
  local member, start, record, deleted = nil, nil, nil, ''
  local cur_rev, cur_start
  if cur then cur_rev, cur_start = head(cur) end
  if not now then
    local m = redis.call('ZREVRANGEBYSCORE', P .. kind .. 'h:' .. id, t1, '-inf',
      'WITHSCORES', 'LIMIT', 0, 2)
    member, start = m[1], m[2]
    if member and string.sub(member, 1, 1) == 'd' then
      -- Deleted by t1: still in the view when the version before lived past t0.
      if m[3] and string.sub(m[3], 1, 1) ~= 'd' and tonumber(start) > after then
        member, start, deleted = m[3], m[4], start
      else
        member = nil
      end
    elseif not member and cur and tonumber(cur_start) <= until_ then
      -- No history zset: the current version is the element's only one.
      member, start = cur_rev, cur_start
    end
  elseif cur then
    member, start = cur_rev, cur_start
  end
  if member then
    if member == cur_rev then
      record = cur
    else
      record = redis.call('HGET', vk, id .. '/' .. member) or ''
    end
    out[#out + 1] = member
    out[#out + 1] = start
    out[#out + 1] = record
    out[#out + 1] = deleted
  else
    out[#out + 1] = ''; out[#out + 1] = ''; out[#out + 1] = ''; out[#out + 1] = ''
  end
end
return out
"""
)

TRIM = r"""
local P = ARGV[1]
local cutoff = tonumber(ARGV[2])
local limit = tonumber(ARGV[3])
local ENDS = P .. 'ends'
local ALIVE = {n = P .. 'nodes', e = P .. 'edges'}
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
  -- An alive element left with its current version alone needs no history zset.
  if redis.call('ZCARD', hk) == 1 and redis.call('HEXISTS', ALIVE[kind], id) == 1 then
    redis.call('DEL', hk)
  end
  redis.call('ZREM', ENDS, entry)
  removed = removed + 1
end
local function entry_time(entry)
  local fields = entry[2]
  for j = 1, #fields, 2 do
    if fields[j] == 't' then return tonumber(fields[j + 1]) end
  end
  return nil
end
-- The oldest entry first: most passes find nothing due, and reading ``limit`` entries
-- (a sync's are ~100 KB each) to learn that held Redis for 60-135 ms at 100k pods.
local feed_removed = 0
local entries = redis.call('XRANGE', P .. 'feed', '-', '+', 'COUNT', 1)
local oldest = entries[1] and entry_time(entries[1])
if entries[1] and not (oldest and oldest >= cutoff) and limit > 1 then
  entries = redis.call('XRANGE', P .. 'feed', '-', '+', 'COUNT', limit)
end
local keep = nil
for _, entry in ipairs(entries) do
  local t = entry_time(entry)
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


NEIGHBOURS = (
    "#!lua flags=no-writes\n"
    + _COMMON
    + r"""
local P, dir, cap = ARGV[1], ARGV[2], tonumber(ARGV[3])
local ek, nk = P .. 'edges', P .. 'nodes'
local out = {redis.call('GET', P .. 'rev') or '0', 0}
local others, order = {}, {}
local edges = 0
-- HMGET in chunks: unpack() has a stack limit, and a node may have many edges.
local function side(key, node)
  local ids = redis.call('HKEYS', key)
  local n = #ids
  edges = edges + n
  out[#out + 1] = n
  for first = 1, n, 1000 do
    local last = math.min(first + 999, n)
    local recs = redis.call('HMGET', ek, unpack(ids, first, last))
    for j = first, last do
      local rec = recs[j - first + 1]
      local other = ''
      if rec then
        local e = 0
        for _ = 1, 5 do e = string.find(rec, '\n', e + 1, true) end
        local parent, child = ends_of(rec, e + 1)
        if parent == node then other = child else other = parent end
        if not others[other] then
          others[other] = true
          order[#order + 1] = other
        end
      end
      out[#out + 1] = ids[j]
      out[#out + 1] = other
    end
  end
end
local done = 0
for i = 4, #ARGV do
  if done > 0 and edges >= cap then break end
  local node = ARGV[i]
  if dir ~= 'in' then side(P .. 'out:' .. node, node) end
  if dir ~= 'out' then side(P .. 'in:' .. node, node) end
  done = done + 1
end
out[2] = done
local count_at = #out + 1
out[count_at] = 0
local found = 0
for _, id in ipairs(order) do
  local rec = redis.call('HGET', nk, id)
  if rec then
    found = found + 1
    out[#out + 1] = id
    out[#out + 1] = rec
  end
end
out[count_at] = found
return out
"""
)


FIND = (
    "#!lua flags=no-writes\n"
    + r"""
local P, limit, ngroups = ARGV[1], tonumber(ARGV[2]), tonumber(ARGV[3])
local groups, sizes = {}, {}
local at = 4
for g = 1, ngroups do
  local n = tonumber(ARGV[at])
  local keys, size = {}, 0
  for k = 1, n do
    keys[k] = ARGV[at + k]
    size = size + redis.call('SCARD', keys[k])
  end
  groups[g], sizes[g] = keys, size
  at = at + n + 1
end
local rev = redis.call('GET', P .. 'rev') or '0'
local first = 1
for g = 2, ngroups do
  if sizes[g] < sizes[first] then first = g end
end
if sizes[first] > limit then return {rev, -1} end
local ids, seen = {}, {}
for _, key in ipairs(groups[first]) do
  for _, id in ipairs(redis.call('SMEMBERS', key)) do
    if not seen[id] then
      seen[id] = true
      ids[#ids + 1] = id
    end
  end
end
for g = 1, ngroups do
  if g ~= first then
    local kept = {}
    for _, id in ipairs(ids) do
      for _, key in ipairs(groups[g]) do
        if redis.call('SISMEMBER', key, id) == 1 then
          kept[#kept + 1] = id
          break
        end
      end
    end
    ids = kept
  end
end
local out = {rev, 0}
local nk = P .. 'nodes'
for _, id in ipairs(ids) do
  local rec = redis.call('HGET', nk, id)
  if rec then
    out[#out + 1] = id
    out[#out + 1] = rec
  end
end
out[2] = (#out - 2) / 2
return out
"""
)
