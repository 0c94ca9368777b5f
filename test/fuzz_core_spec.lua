-- Fuzzing the binding: thousands of seeded random calls with random (often invalid) arguments. Every call
-- must either raise a Lua error whose message names the function, or return a result whose shape and values
-- agree with a simple model: a tensor is modelled as {shape, values (row-major), dtype}, and each operation
-- is re-implemented on the model by index arithmetic, straight from its definition (1-based, as our API).
-- A crash (segfault, abort) fails the whole run. The seed is fixed, so a failure reproduces.
local torch = require 'tensor'

local SEED, ROUNDS = tonumber(os.getenv('FUZZ_SEED')) or 20240601, 6000 -- FUZZ_SEED explores other seeds

-- ---- a small deterministic generator (xorshift32), independent of math.random ----
local state = SEED
local function rnd(n) -- 1..n
  state = bit.bxor(state, bit.lshift(state, 13))
  state = bit.bxor(state, bit.rshift(state, 17))
  state = bit.bxor(state, bit.lshift(state, 5))
  return (state % n + n) % n + 1
end
local function pick(list) return list[rnd(#list)] end
local function chance(p) return rnd(1000) <= p * 1000 end

-- Junk for number arguments (a table is left out: where a number is expected, a table is an options table or
-- a size list, which the model does not describe; table-valued index entries are drawn separately).
local JUNK = { 'junk', true, 1.5, 0 / 0, math.huge, -math.huge, 2 ^ 40, -2 ^ 40, 2 ^ 62 }
local function junk() return JUNK[rnd(#JUNK)] end

-- ---- the model ----

local function numel(shape)
  local n = 1
  for i = 1, #shape do n = n * shape[i] end
  return n
end

local function is_int(v) return type(v) == 'number' and v == math.floor(v) and v > -2 ^ 63 and v < 2 ^ 63 end

-- Calls f(idx) for every index tuple of shape in row-major order (idx is reused).
local function each_index(shape, f)
  local n = numel(shape)
  local idx = {}
  for d = 1, #shape do idx[d] = 1 end
  for _ = 1, n do
    f(idx)
    for d = #shape, 1, -1 do
      idx[d] = idx[d] + 1
      if idx[d] <= shape[d] then break end
      idx[d] = 1
    end
  end
end

local function at(m, idx)
  local pos = 0
  for d = 1, #m.shape do pos = pos * m.shape[d] + (idx[d] - 1) end
  return m.values[pos + 1]
end

local HUGE = 5000 -- larger results (expanded views) are compared by shape only

-- A model of the given shape whose element idx is source(idx).
local function build(shape, dtype, source)
  if numel(shape) > HUGE then return { shape = shape, dtype = dtype } end
  local values = {}
  each_index(shape, function(idx) values[#values + 1] = source(idx) end)
  return { shape = shape, values = values, dtype = dtype }
end

-- A printable form of a value (for failure messages).
local function show(v)
  if type(v) == 'table' and not torch.is_tensor(v) then
    local parts = {}
    for i = 1, table.maxn(v) do parts[i] = show(v[i]) end
    return '{' .. table.concat(parts, ', ') .. '}'
  end
  return type(v) == 'string' and string.format('%q', v) or tostring(v)
end
local DESC = '' -- the arguments of the call under test

local function copy_list(t)
  local r = {}
  for i = 1, #t do r[i] = t[i] end
  return r
end

-- A 1-based dim (negative from the end) of a tensor of n dims, or nil when invalid (0-d tensors accept 1 and -1).
local function wrap_dim(d, n)
  local m = n == 0 and 1 or n
  if not is_int(d) or d == 0 or d > m or d < -m then return nil end
  return d > 0 and d or d + m + 1
end

local function convert(v, dtype)
  if dtype == 'bool' then return v ~= 0 and 1 or 0 end
  return v -- the values used are small non-negative integers, exact in every dtype
end

-- ---- comparing a result with a model ----

local function flat_values(t)
  local list = t:tolist()
  if t:dim() == 0 then return { list } end
  local out = {}
  local function walk(x)
    if type(x) == 'table' then
      for i = 1, #x do walk(x[i]) end
    else
      out[#out + 1] = x
    end
  end
  walk(list)
  return out
end

local function matches_model(t, m)
  if not torch.is_tensor(t) then return false, 'not a tensor: ' .. tostring(t) end
  local shape = t:shape()
  if #shape ~= #m.shape then return false, 'shape {' .. table.concat(shape, ',') .. '} vs {' .. table.concat(m.shape, ',') .. '}' end
  for i = 1, #shape do
    if shape[i] ~= m.shape[i] then return false, 'shape {' .. table.concat(shape, ',') .. '} vs {' .. table.concat(m.shape, ',') .. '}' end
  end
  if t:dtype() ~= m.dtype then return false, 'dtype ' .. t:dtype() .. ' vs ' .. m.dtype end
  if numel(m.shape) > HUGE or numel(m.shape) == 0 then return true end -- (tolist of [2^40 x 0] is 2^40 tables)
  local got = flat_values(t)
  if #got ~= #m.values then return false, #got .. ' values vs ' .. #m.values end
  for i = 1, #got do
    local g = got[i]
    if type(g) == 'boolean' then g = g and 1 or 0 end
    if g ~= m.values[i] then return false, 'value ' .. i .. ': ' .. tostring(g) .. ' vs ' .. tostring(m.values[i]) end
  end
  return true
end

-- ---- operations: each returns (expected model, or nil when the call must fail), and the call ----

local DTYPES = { 'float32', 'float64', 'float16', 'bfloat16', 'int64', 'int32', 'int16', 'int8', 'uint8', 'bool' }
local ESIZE = { float64 = 8, int64 = 8, float32 = 4, int32 = 4, float16 = 2, bfloat16 = 2, int16 = 2, int8 = 1,
                uint8 = 1, bool = 1 }
-- Allocations this large cannot succeed (junk sizes such as 2^40 ask for terabytes): an error is expected.
local UNALLOCATABLE = 2 ^ 38

-- Shapes whose elements (counting a size 0 as 1, so that strides stay representable) take more bytes than
-- int64 counts are refused by every function that makes a header.
local function overflows(shape, dtype)
  local n = ESIZE[dtype]
  for i = 1, #shape do n = n * math.max(shape[i], 1) end
  return n >= 2 ^ 63
end

local function random_dim(n)
  if chance(0.05) then return junk() end
  return rnd(2 * n + 5) - n - 3 -- -(n+2) .. n+2, including 0 and out-of-range dims
end
local function random_size(limit)
  if chance(0.05) then return junk() end
  return rnd((limit or 5) + 3) - 3 -- -2 .. limit
end

local ops = {}

ops.view = function(x, m)
  local n = rnd(4) - 1
  local sizes = {}
  for i = 1, n do sizes[i] = chance(0.3) and -1 or random_size(6) end
  if chance(0.5) and #m.shape > 0 then -- often a valid regrouping
    sizes = { numel(m.shape) }
    if chance(0.5) then sizes = { -1 } end
    n = 1
  end
  local fn = pick({ 'view', 'reshape' })
  DESC = fn .. show(sizes)
  local expected
  local ok, known, infer = true, 1, nil
  for i, s in ipairs(sizes) do
    if s == -1 and not infer then infer = i elseif not is_int(s) or s < 0 then ok = false else known = known * s end
  end
  local total = numel(m.shape)
  if known >= 2 ^ 63 then ok = false end -- the given sizes alone overflow int64
  if ok then
    local shape = copy_list(sizes)
    if infer then
      if known == 0 or total % known ~= 0 then ok = false else shape[infer] = total / known end
    elseif known ~= total then
      ok = false
    end
    if ok and overflows(shape, m.dtype) then ok = false end
    if ok then expected = { shape = shape, values = m.values, dtype = m.dtype } end
  end
  -- view may also refuse a non-contiguous tensor whose strides do not allow the new shape
  local maybe = fn == 'view' and not x:is_contiguous()
  return expected, function() return x[fn](x, unpack(sizes, 1, n)) end, { fn }, maybe
end

ops.narrow = function(x, m)
  local d, start, len = random_dim(#m.shape), random_size(5), random_size(4)
  if chance(0.2) then start = -rnd(4) end
  local fn = function() return x:narrow(d, start, len) end
  DESC = show({ d, start, len })
  local w = #m.shape > 0 and wrap_dim(d, #m.shape)
  if not w or not is_int(start) or not is_int(len) then return nil, fn, { 'narrow' } end
  local size = m.shape[w]
  local s = start < 0 and start + size + 1 or start
  if s < 1 or len < 0 or s - 1 + len > size then return nil, fn, { 'narrow' } end
  local shape = copy_list(m.shape)
  shape[w] = len
  return build(shape, m.dtype, function(idx)
    local j = copy_list(idx)
    j[w] = idx[w] + s - 1
    return at(m, j)
  end), fn, { 'narrow' }
end

ops.select = function(x, m)
  local d, i = random_dim(#m.shape), random_size(5)
  if chance(0.3) then i = -rnd(5) end
  local fn = function() return x:select(d, i) end
  DESC = show({ d, i })
  local w = #m.shape > 0 and wrap_dim(d, #m.shape)
  if not w or not is_int(i) then return nil, fn, { 'select' } end
  local size = m.shape[w]
  local k = i < 0 and i + size + 1 or i
  if k < 1 or k > size then return nil, fn, { 'select' } end
  local shape = {}
  for e = 1, #m.shape do if e ~= w then shape[#shape + 1] = m.shape[e] end end
  return build(shape, m.dtype, function(idx)
    local j, p = {}, 1
    for e = 1, #m.shape do
      if e == w then j[e] = k else j[e] = idx[p]; p = p + 1 end
    end
    return at(m, j)
  end), fn, { 'select' }
end

ops.transpose = function(x, m)
  local a, b = random_dim(#m.shape), random_dim(#m.shape)
  local fn = function() return x:transpose(a, b) end
  DESC = show({ a, b })
  local wa, wb = wrap_dim(a, #m.shape), wrap_dim(b, #m.shape)
  if not wa or not wb then return nil, fn, { 'transpose' } end
  if #m.shape == 0 then return m, fn, { 'transpose' } end
  local shape = copy_list(m.shape)
  shape[wa], shape[wb] = m.shape[wb], m.shape[wa]
  return build(shape, m.dtype, function(idx)
    local j = copy_list(idx)
    j[wa], j[wb] = idx[wb], idx[wa]
    return at(m, j)
  end), fn, { 'transpose' }
end

ops.t = function(x, m)
  local fn = function() return x:t() end
  if #m.shape > 2 then return nil, fn, { 't' } end
  if #m.shape < 2 then return m, fn, { 't' } end
  return build({ m.shape[2], m.shape[1] }, m.dtype, function(idx) return at(m, { idx[2], idx[1] }) end), fn, { 't' }
end

ops.permute = function(x, m)
  local n = #m.shape
  local dims = {}
  local count = chance(0.8) and n or rnd(n + 2) - 1
  for i = 1, count do dims[i] = i end
  for i = count, 2, -1 do -- shuffle
    local j = rnd(i)
    dims[i], dims[j] = dims[j], dims[i]
  end
  for i = 1, count do
    if chance(0.3) then dims[i] = dims[i] - n - 1 end -- the same dim counted from the end
    if chance(0.05) then dims[i] = random_dim(n) end
  end
  local fn = function() return x:permute(unpack(dims, 1, count)) end
  DESC = show(dims)
  if count ~= n then return nil, fn, { 'permute' } end
  local w, seen = {}, {}
  for i = 1, n do
    w[i] = n > 0 and wrap_dim(dims[i], n)
    if not w[i] or seen[w[i]] then return nil, fn, { 'permute' } end
    seen[w[i]] = true
  end
  local shape = {}
  for i = 1, n do shape[i] = m.shape[w[i]] end
  return build(shape, m.dtype, function(idx)
    local j = {}
    for i = 1, n do j[w[i]] = idx[i] end
    return at(m, j)
  end), fn, { 'permute' }
end

ops.squeeze = function(x, m)
  local all = chance(0.3)
  local d = random_dim(#m.shape)
  local fn = function() if all then return x:squeeze() end return x:squeeze(d) end
  DESC = all and '()' or show({ d })
  local shape = {}
  if all then
    for i = 1, #m.shape do if m.shape[i] ~= 1 then shape[#shape + 1] = m.shape[i] end end
  else
    local w = wrap_dim(d, #m.shape)
    if not w then return nil, fn, { 'squeeze' } end
    for i = 1, #m.shape do if i ~= w or m.shape[i] ~= 1 then shape[#shape + 1] = m.shape[i] end end
  end
  return { shape = shape, values = m.values, dtype = m.dtype }, fn, { 'squeeze' }
end

ops.unsqueeze = function(x, m)
  local d = random_dim(#m.shape + 1)
  local fn = function() return x:unsqueeze(d) end
  DESC = show({ d })
  local n = #m.shape + 1
  local w = is_int(d) and d ~= 0 and d <= n and d >= -n and (d > 0 and d or d + n + 1)
  if not w then return nil, fn, { 'unsqueeze' } end
  local shape = copy_list(m.shape)
  table.insert(shape, w, 1)
  return { shape = shape, values = m.values, dtype = m.dtype }, fn, { 'unsqueeze' }
end

ops.expand = function(x, m)
  local n = #m.shape
  local lead = rnd(3) - 1
  local sizes = {}
  for i = 1, lead do sizes[i] = chance(0.1) and -1 or random_size(3) end
  for i = 1, n do
    local s = m.shape[i]
    if chance(0.6) then sizes[lead + i] = s
    elseif chance(0.4) then sizes[lead + i] = -1
    elseif s == 1 and chance(0.7) then sizes[lead + i] = rnd(4) - 1
    else sizes[lead + i] = random_size(4) end
  end
  if chance(0.1) then sizes[#sizes] = nil end
  local count = #sizes
  local fn = function() return x:expand(unpack(sizes, 1, count)) end
  DESC = show(sizes)
  if count < n then return nil, fn, { 'expand' } end
  local shape, off = {}, count - n
  for i = 1, count do
    local want, have = sizes[i], i > off and m.shape[i - off] or nil
    if not is_int(want) then return nil, fn, { 'expand' } end
    if want == -1 then
      if not have then return nil, fn, { 'expand' } end
      want = have
    end
    if want < 0 or (have and have ~= want and have ~= 1) then return nil, fn, { 'expand' } end
    shape[i] = want
  end
  if overflows(shape, m.dtype) then return nil, fn, { 'expand' } end
  return build(shape, m.dtype, function(idx)
    local j = {}
    for i = 1, n do j[i] = m.shape[i] == 1 and 1 or idx[i + off] end
    return at(m, j)
  end), fn, { 'expand' }
end

ops.flatten = function(x, m)
  local n = #m.shape
  local s, e = chance(0.3) and nil or random_dim(n), chance(0.3) and nil or random_dim(n)
  local fn = function() return x:flatten(s, e) end
  DESC = show({ s, e })
  if n == 0 then
    if (s ~= nil and not wrap_dim(s, 0)) or (e ~= nil and not wrap_dim(e, 0)) then return nil, fn, { 'flatten' } end
    return { shape = { 1 }, values = m.values, dtype = m.dtype }, fn, { 'flatten' }, true
  end
  local a, b = wrap_dim(s or 1, n), wrap_dim(e or -1, n)
  if not a or not b or a > b then return nil, fn, { 'flatten' } end
  local shape = {}
  for i = 1, n do
    if i <= a or i > b then shape[#shape + 1] = m.shape[i] else shape[#shape] = shape[#shape] * m.shape[i] end
  end
  return { shape = shape, values = m.values, dtype = m.dtype }, fn, { 'flatten' }
end

ops.unfold = function(x, m)
  local n = #m.shape
  local d, size, step = random_dim(n), random_size(4), random_size(3)
  local fn = function() return x:unfold(d, size, step) end
  DESC = show({ d, size, step })
  local w = wrap_dim(d, n)
  if not w or not is_int(size) or not is_int(step) then return nil, fn, { 'unfold' } end
  local dim_size = n == 0 and 1 or m.shape[w]
  if size < 0 or size > dim_size or step <= 0 or n >= 16 then return nil, fn, { 'unfold' } end
  if n == 0 then
    return build({ size }, m.dtype, function() return m.values[1] end), fn, { 'unfold' }
  end
  local shape = copy_list(m.shape)
  shape[w] = math.floor((dim_size - size) / step) + 1
  shape[n + 1] = size
  return build(shape, m.dtype, function(idx)
    local j = {}
    for i = 1, n do j[i] = idx[i] end
    j[w] = (idx[w] - 1) * step + idx[n + 1]
    return at(m, j)
  end), fn, { 'unfold' }
end

ops.diagonal = function(x, m)
  local n = #m.shape
  local offset, a, b = rnd(7) - 4, random_dim(n), random_dim(n)
  if chance(0.05) then offset = junk() end
  local fn = function() return x:diagonal(offset, a, b) end
  DESC = show({ offset, a, b })
  if n < 2 or not is_int(offset) then return nil, fn, { 'diagonal' } end
  local wa, wb = wrap_dim(a, n), wrap_dim(b, n)
  if not wa or not wb or wa == wb then return nil, fn, { 'diagonal' } end
  local len
  if offset >= 0 then len = math.min(m.shape[wa], m.shape[wb] - offset) else len = math.min(m.shape[wa] + offset, m.shape[wb]) end
  len = math.max(len, 0)
  local shape, rest = {}, {}
  for i = 1, n do if i ~= wa and i ~= wb then shape[#shape + 1] = m.shape[i]; rest[#rest + 1] = i end end
  shape[#shape + 1] = len
  return build(shape, m.dtype, function(idx)
    local j = {}
    for k, i in ipairs(rest) do j[i] = idx[k] end
    local t = idx[#idx]
    j[wa] = t + (offset < 0 and -offset or 0)
    j[wb] = t + (offset > 0 and offset or 0)
    return at(m, j)
  end), fn, { 'diagonal' }
end

-- Index keys: a number (x[i]) or a Torch7 table ({2, {1, 3}, {}, {-1}}), half of them invalid in some way.
local function random_key(n)
  if chance(0.3) then
    local i = random_size(5)
    if chance(0.3) then i = -rnd(5) end
    if type(i) == 'string' then i = 1.5 end -- (a string key names a method)
    return i
  end
  local key = {}
  for k = 1, rnd(n + 2) - 1 do
    local r = rnd(10)
    if r <= 3 then key[k] = rnd(6) - 2
    elseif r <= 5 then key[k] = {}
    elseif r <= 9 then
      local a, b = rnd(7) - 3, rnd(7) - 3
      key[k] = chance(0.3) and { a } or { a, b }
    else key[k] = junk() end
  end
  return key
end

-- What x[key] selects: (shape, map from result index to x's index, whether the result is one element), or nil.
local function selection(m, key)
  local n = #m.shape
  if type(key) ~= 'number' and type(key) ~= 'table' then return nil end
  if type(key) == 'number' then key = { key } end
  if n == 0 and #key > 0 then return nil end
  if #key > n then return nil end
  local fixed, lo, len = {}, {}, {}
  local all_numbers = #key == n
  for k = 1, #key do if type(key[k]) ~= 'number' then all_numbers = false end end
  for k = 1, #key do
    local e, size = key[k], m.shape[k]
    if type(e) == 'number' then
      if not is_int(e) then return nil end
      local i = e < 0 and e + size + 1 or e
      if i < 1 or i > size then return nil end
      fixed[k] = i
    elseif type(e) == 'table' then
      if e[1] == nil then
        lo[k], len[k] = 1, size
      else
        if #e > 2 or not is_int(e[1]) or not is_int(e[2] or e[1]) then return nil end
        local first, last = e[1], e[2] or e[1]
        if first < 0 then first = first + size + 1 end
        if last < 0 then last = last + size + 1 end
        if first < 1 or first > size + 1 or last > size or last < first - 1 then return nil end
        lo[k], len[k] = first, last - first + 1
      end
    else
      return nil
    end
  end
  local shape, dims = {}, {}
  for k = 1, n do
    if not fixed[k] then
      shape[#shape + 1] = len[k] or m.shape[k]
      dims[#dims + 1] = k
    end
  end
  local function map(idx)
    local j = {}
    for k = 1, n do j[k] = fixed[k] end
    for p, k in ipairs(dims) do j[k] = idx[p] + (lo[k] or 1) - 1 end
    return j
  end
  return shape, map, all_numbers
end

local INDEX_FNS = { 'index', 'select', 'narrow' }

ops.index = function(x, m)
  local key = random_key(#m.shape)
  local fn = function() return x[key] end
  DESC = show(key)
  local shape, map, element = selection(m, key)
  if not shape then return nil, fn, INDEX_FNS end
  -- x[i] of a 1-d tensor and a table with a number for every dim (of a tensor with dims) give the element
  if (type(key) == 'number' and #m.shape == 1) or (type(key) == 'table' and element) then
    return { number = at(m, map({})) }, fn, INDEX_FNS
  end
  return build(shape, m.dtype, function(idx) return at(m, map(idx)) end), fn, INDEX_FNS
end

-- The value v (a number or a boolean) stored in dtype.
local function store(v, dtype)
  if type(v) == 'boolean' then v = v and 1 or 0 end
  if dtype == 'bool' then return v ~= 0 and 1 or 0 end
  if dtype:match('int') then v = v < 0 and math.ceil(v) or math.floor(v) end -- truncation
  if dtype == 'uint8' then v = v % 256 end -- wraps
  return v -- the values used are exact in every floating dtype
end

ops.assign = function(x, m)
  local key = random_key(#m.shape)
  local shape, map = selection(m, key)
  local r = rnd(10)
  local value = r <= 6 and pick({ 0, 1, 7, 1.5, -2.5, true, false }) or r <= 9 and 'tensor' or junk()
  local src
  if value == 'tensor' then -- a tensor of the selection's shape (or of a wrong one)
    local sshape = shape and copy_list(shape) or {}
    if chance(0.2) then sshape[#sshape + 1] = 2 end
    src = torch.full(sshape, 3, { dtype = 'int32' })
  end
  local y = x:clone()
  local fn = function()
    y[key] = src or value
    return y
  end
  DESC = show(key) .. ' = ' .. show(src and src:shape() or value)
  local fns = { 'index', 'select', 'narrow', 'copy_', 'fill_' }
  if not shape then return nil, fn, fns end
  local element = (type(key) == 'number' and #m.shape == 1) or (type(key) == 'table' and #key == #m.shape and
    select(3, selection(m, key)))
  local new
  if src then
    local same = #src:shape() == #shape
    for i = 1, #shape do same = same and src:shape()[i] == shape[i] end
    if element then same = src:numel() == 1 end
    if not same then return nil, fn, fns end
    new = store(3, m.dtype)
  elseif type(value) == 'number' and value == value and math.abs(value) < 2 ^ 31 or type(value) == 'boolean' then
    new = store(value, m.dtype)
  else
    if type(value) == 'number' then return nil, nil, fns end -- NaN/inf/huge into integers: not modelled
    return nil, fn, fns
  end
  local selected = {}
  if element then
    selected[table.concat(map({}), ',')] = true
  else
    each_index(shape, function(idx) selected[table.concat(map(idx), ',')] = true end)
  end
  return build(copy_list(m.shape), m.dtype, function(idx)
    if selected[table.concat(idx, ',')] then return new end
    return at(m, idx)
  end), fn, fns
end

ops.fill = function(x, m)
  local value = chance(0.85) and pick({ 0, 1, 7, 1.5, -2.5, true, false }) or junk()
  local y = x:clone()
  local fn = function() return y:fill_(value) end
  DESC = show({ value })
  if type(value) == 'boolean' or (type(value) == 'number' and value == value and math.abs(value) < 2 ^ 31) then
    local v = store(value, m.dtype)
    return build(copy_list(m.shape), m.dtype, function() return v end), fn, { 'fill_' }
  end
  if type(value) == 'number' then return nil, nil, { 'fill_' } end -- NaN/inf/huge: not modelled
  return nil, fn, { 'fill_' }
end

ops.as_strided = function(x, m, storage)
  local n = rnd(4) - 1
  local sizes, strides = {}, {}
  for i = 1, n do
    sizes[i] = random_size(4)
    strides[i] = chance(0.9) and rnd(6) - 2 or junk()
  end
  if chance(0.1) then strides[#strides + 1] = 1 end
  local offset = chance(0.4) and nil or (chance(0.9) and rnd(8) - 2 or junk())
  local fn = function() return x:as_strided(sizes, strides, offset) end
  DESC = show({ sizes, strides, offset })
  local fns = { 'as_strided' }
  if #strides ~= #sizes then return nil, fn, fns end
  local off = offset == nil and x:storage_offset() or offset
  if not is_int(off) or off < 0 then return nil, fn, fns end
  local last, empty = off, false
  for i = 1, n do
    if not is_int(sizes[i]) or sizes[i] < 0 or not is_int(strides[i]) or strides[i] < 0 then return nil, fn, fns end
    if sizes[i] == 0 then empty = true end
    last = last + (sizes[i] - 1) * strides[i]
  end
  if overflows(sizes, m.dtype) then return nil, fn, fns end
  if not empty and last >= #storage then return nil, fn, fns end
  return build(copy_list(sizes), m.dtype, function(idx)
    local pos = off
    for i = 1, n do pos = pos + (idx[i] - 1) * strides[i] end
    return storage[pos + 1]
  end), fn, fns
end

ops.item = function(x, m)
  local fn = function() return x:item() end
  DESC = '()'
  if numel(m.shape) ~= 1 then return nil, fn, { 'item' } end
  return { number = m.values[1] }, fn, { 'item' }
end

ops.copies = function(x, m)
  local what = pick({ 'contiguous', 'clone', 'detach' })
  DESC = what
  return { shape = m.shape, values = m.values, dtype = m.dtype }, function() return x[what](x) end, { what }
end

local CLASS = { float32 = 'Float', float64 = 'Double', float16 = 'Half', bfloat16 = 'BFloat16', int64 = 'Long',
                int32 = 'Int', int16 = 'Short', int8 = 'Char', uint8 = 'Byte', bool = 'Bool' }

ops.print = function(x, m)
  DESC = 'tostring'
  local footer = '[torch.' .. CLASS[m.dtype] .. 'Tensor ' ..
    (#m.shape == 0 and 'with no dimension]' or 'of size ' .. table.concat(m.shape, 'x') .. ']')
  local fn = function()
    local s = tostring(x)
    if s:sub(-#footer) ~= footer then return 'footer of ' .. s end
    return { string = true }
  end
  return { printed = true }, fn, {}
end

-- In-place random fills with random parameters: results have the right shape and dtype, and values in range.
ops.random = function(x, m)
  local y = x:clone()
  local what = pick({ 'uniform_', 'normal_', 'bernoulli_', 'random_' })
  local floating = m.dtype:match('float') ~= nil
  local a, b
  if what == 'uniform_' then a, b = rnd(7) - 4, rnd(7) - 2
  elseif what == 'normal_' then a, b = rnd(5) - 3, rnd(4) - 2
  elseif what == 'bernoulli_' then a = (rnd(13) - 2) / 10
  else a, b = rnd(9) - 5, rnd(9) - 3 end
  if chance(0.1) then a = junk() end
  if chance(0.1) then b = junk() end
  local fn = function() return y[what](y, a, b) end
  DESC = what .. show({ a, b })
  local fns = { what }
  local lo, hi
  if what == 'uniform_' then
    if not floating or type(a) ~= 'number' or type(b) ~= 'number' or not (a <= b) then return nil, fn, fns end
    local max = m.dtype == 'float16' and 65504 or m.dtype == 'float64' and 1.7976931348623157e308 or 3.4028234663852886e38
    if not (a >= -max and b <= max) then return nil, fn, fns end -- the bounds must be finite in the dtype
    lo, hi = a, b
  elseif what == 'normal_' then
    if not floating or type(a) ~= 'number' or type(b) ~= 'number' or not (b >= 0) then return nil, fn, fns end
    if a ~= a or a == math.huge or a == -math.huge or b == math.huge then -- NaN/inf parameters: NaN/inf values
      return { shape = m.shape, dtype = m.dtype, any_values = true }, fn, fns
    end
    lo, hi = -math.huge, math.huge
  elseif what == 'bernoulli_' then
    if b ~= nil and type(b) ~= 'table' then b = nil end -- (a second argument is an options table or ignored)
    if type(a) ~= 'number' or not (a >= 0 and a <= 1) then return nil, fn, fns end
    lo, hi = 0, 1
  else
    if not is_int(a) or not is_int(b) or a >= b then return nil, fn, fns end
    local range = ({ int32 = { -2 ^ 31, 2 ^ 31 - 1 }, int16 = { -32768, 32767 }, int8 = { -128, 127 },
                     uint8 = { 0, 255 }, bool = { 0, 1 }, float16 = { -65504, 65504 } })[m.dtype]
    if range and (a < range[1] or b - 1 > range[2]) then return nil, fn, fns end
    lo, hi = a, b - 1
  end
  return { shape = m.shape, dtype = m.dtype, within = { lo, hi } }, fn, fns
end

ops.to = function(x, m)
  local dt = chance(0.95) and pick(DTYPES) or pick({ 'float', 'double', 'cuda:x', 'int128', 7 })
  local fn = function() return x:to(dt) end
  DESC = show({ dt })
  local aliases = { float = 'float32', double = 'float64' }
  local name = aliases[dt] or dt
  local known = false
  for _, d in ipairs(DTYPES) do if d == name then known = true end end
  if not known then return nil, fn, { 'to' } end
  local values = {}
  for i, v in ipairs(m.values) do values[i] = convert(v, name) end
  return { shape = m.shape, values = values, dtype = name }, fn, { 'to' }
end

ops.copy = function(x, m)
  -- a source of random shape (often broadcastable) and dtype, copied into a fresh clone of x
  local n = #m.shape
  local sn = math.max(0, n - rnd(3) + 1)
  if chance(0.2) then sn = rnd(n + 2) - 1 end
  local sshape = {}
  for i = 1, sn do
    local target = m.shape[n - sn + i]
    sshape[i] = (target and chance(0.6)) and target or (chance(0.5) and 1 or rnd(4) - 1)
  end
  local sdt = pick(DTYPES)
  local src_values = {}
  for i = 1, numel(sshape) do src_values[i] = convert((i * 7) % 50, sdt) end
  local src_model = { shape = sshape, values = src_values, dtype = sdt }
  local dst = x:clone()
  DESC = 'from ' .. sdt .. ' ' .. show(sshape)
  local fn = function()
    local src = torch.tensor(src_values, { dtype = 'float64' }):to(sdt):view(sshape)
    return dst:copy_(src)
  end
  local ok = sn <= n
  for i = 1, sn do
    local s, t = sshape[i], m.shape[n - sn + i]
    if ok and s ~= t and s ~= 1 then ok = false end
  end
  if not ok then return nil, fn, { 'copy_' } end
  return build(copy_list(m.shape), m.dtype, function(idx)
    local j = {}
    for i = 1, sn do j[i] = sshape[i] == 1 and 1 or idx[n - sn + i] end
    return convert(at(src_model, j), m.dtype)
  end), fn, { 'copy_' }
end

ops.split = function(x, m)
  local n = #m.shape
  local d = chance(0.8) and rnd(math.max(n, 1)) or random_dim(n)
  local use_chunk = chance(0.4)
  local arg
  if use_chunk then arg = random_size(4)
  elseif chance(0.6) then arg = random_size(4)
  else
    arg = {}
    for i = 1, rnd(4) - 1 do arg[i] = random_size(3) end
  end
  -- (chunk(n) of an empty dim returns n empty views, as PyTorch does: keep n small)
  if use_chunk and is_int(arg) and arg > 1000 then arg = 3 end
  local fname = use_chunk and 'chunk' or 'split'
  local fn = function() return x[fname](x, arg, d) end
  DESC = fname .. show({ arg, d })
  local w = n > 0 and wrap_dim(d, n)
  if not w then return nil, fn, { fname } end
  local size = m.shape[w]
  local pieces = {}
  if use_chunk then
    if not is_int(arg) or arg <= 0 then return nil, fn, { fname } end
    if size == 0 then
      for i = 1, arg do pieces[i] = 0 end
    else
      local each = math.ceil(size / arg)
      local left = size
      while left > 0 do pieces[#pieces + 1] = math.min(each, left); left = left - each end
    end
  elseif type(arg) ~= 'table' then
    if not is_int(arg) or arg <= 0 then return nil, fn, { fname } end
    if size == 0 then pieces = { 0 } end
    local left = size
    while left > 0 do pieces[#pieces + 1] = math.min(arg, left); left = left - arg end
  else
    local sum = 0
    for i = 1, #arg do
      if not is_int(arg[i]) or arg[i] < 0 then return nil, fn, { fname } end
      sum = sum + arg[i]
      pieces[i] = arg[i]
    end
    if sum ~= size then return nil, fn, { fname } end
  end
  local models, start = {}, 0
  for p, len in ipairs(pieces) do
    local shape = copy_list(m.shape)
    shape[w] = len
    local s0 = start
    models[p] = build(shape, m.dtype, function(idx)
      local j = copy_list(idx)
      j[w] = idx[w] + s0
      return at(m, j)
    end)
    start = start + len
  end
  return { list = models }, fn, { fname }
end

ops.creation = function()
  local what = pick({ 'zeros', 'ones', 'full', 'empty', 'arange', 'rand' })
  local n = rnd(4) - 1
  local sizes = {}
  for i = 1, n do sizes[i] = random_size(4) end
  local dt = chance(0.9) and pick(DTYPES) or pick({ 'float128', 'float8', 'half' })
  local opts = { dtype = dt }
  local value = pick({ 0, 1, 3, 7 })
  local fn
  DESC = what .. show({ sizes, dt })
  if what == 'full' then fn = function() return torch.full(sizes, value, opts) end
  elseif what == 'arange' then
    local stop = random_size(6)
    fn = function() return torch.arange(stop, opts) end
    local name = dt == 'half' and 'float16' or dt
    local known = false
    for _, d in ipairs(DTYPES) do if d == name then known = true end end
    if not known or type(stop) ~= 'number' or stop ~= stop or stop < 0 or stop * ESIZE[name] > UNALLOCATABLE then
      return nil, fn, { 'arange' }
    end
    local count = math.ceil(stop) -- a fractional stop is allowed: arange(1.5) is {0, 1}
    local values = {}
    for i = 1, count do values[i] = convert(i - 1, name) end
    return build({ count }, name, function(idx) return convert(idx[1] - 1, name) end), fn, { 'arange' }
  else
    fn = function() return torch[what](sizes, opts) end
  end
  local name = dt == 'half' and 'float16' or dt
  local known = false
  for _, d in ipairs(DTYPES) do if d == name then known = true end end
  local fns = { what }
  if not known then return nil, fn, fns end
  for i = 1, n do if not is_int(sizes[i]) or sizes[i] < 0 then return nil, fn, fns end end
  if what == 'rand' and not (name:match('^float') or name == 'bfloat16') then return nil, fn, fns end
  if overflows(sizes, name) or numel(sizes) * ESIZE[name] > UNALLOCATABLE then return nil, fn, fns end
  local shape = copy_list(sizes)
  if what == 'empty' or what == 'rand' then
    return { shape = shape, any_values = true, dtype = name }, fn, fns
  end
  local v = what == 'ones' and 1 or what == 'full' and value or 0
  local values = {}
  for i = 1, numel(shape) do values[i] = convert(v, name) end
  return { shape = shape, values = values, dtype = name }, fn, fns
end

local op_names = {}
for name in pairs(ops) do op_names[#op_names + 1] = name end
table.sort(op_names)

-- ---- random base tensors (with their models) ----

local function random_base()
  local n = rnd(5) - 1
  local shape = {}
  for i = 1, n do shape[i] = rnd(5) - 1 end
  if chance(0.3) then for i = 1, n do shape[i] = math.max(shape[i], 1) end end
  local dt = pick(DTYPES)
  local values = {}
  for i = 1, numel(shape) do values[i] = convert((i * 3) % 50, dt) end
  local t = torch.tensor(values, { dtype = 'float64' }):to(dt):view(shape)
  local m = { shape = shape, values = values, dtype = dt }
  local storage = values -- the storage's elements, in storage order (views below share them)
  -- make some of them non-contiguous, or offset into their storage
  if n >= 2 and chance(0.4) then
    local base = m
    t = t:transpose(1, n)
    local tshape = copy_list(shape)
    tshape[1], tshape[n] = shape[n], shape[1]
    m = build(tshape, dt, function(idx)
      local j = copy_list(idx)
      j[1], j[n] = idx[n], idx[1]
      return at(base, j)
    end)
  end
  if n >= 1 and m.shape[1] >= 2 and chance(0.3) then
    local base = m
    t = t:narrow(1, 2, m.shape[1] - 1)
    local nshape = copy_list(m.shape)
    nshape[1] = nshape[1] - 1
    m = build(nshape, dt, function(idx)
      local j = copy_list(idx)
      j[1] = j[1] + 1
      return at(base, j)
    end)
  end
  return t, m, storage
end

describe('fuzzing the core binding', function()
  it(ROUNDS .. ' random calls give a correct result or an error naming the function', function()
    local failures, outcomes = {}, { ok = 0, error = 0 }
    for round = 1, ROUNDS do
      local name = op_names[rnd(#op_names)]
      local x, m, storage = random_base()
      local expected, call, fns, maybe = ops[name](x, m, storage)
      local problem
      if call then -- (nil: a case the model does not describe)
        local ok, result = pcall(call)
        if not ok then
          outcomes.error = outcomes.error + 1
          local msg = tostring(result)
          local named = false
          for _, f in ipairs(fns) do if msg:find(f .. ':', 1, true) then named = true end end
          if expected and not maybe then
            problem = 'raised "' .. msg .. '" but the model expected a result'
          elseif not named then
            problem = 'error message does not name ' .. table.concat(fns, '/') .. ': ' .. msg
          end
        else
          outcomes.ok = outcomes.ok + 1
          if not expected then
            problem = 'returned ' .. tostring(result) .. ' but the model expected an error'
          elseif expected.number ~= nil then
            local v = result
            if type(v) == 'boolean' then v = v and 1 or 0 end
            if v ~= expected.number then problem = 'element ' .. tostring(result) .. ' vs ' .. tostring(expected.number) end
          elseif expected.printed then
            if type(result) ~= 'table' then problem = tostring(result) end
          elseif expected.list then
            if type(result) ~= 'table' or #result ~= #expected.list then
              problem = 'a list of ' .. (type(result) == 'table' and #result or '?') .. ' pieces vs ' .. #expected.list
            else
              for p = 1, #result do
                local good, why = matches_model(result[p], expected.list[p])
                if not good then problem = 'piece ' .. p .. ': ' .. why break end
              end
            end
          elseif expected.any_values or expected.within then
            local good, why = matches_model(result, { shape = expected.shape, values = {}, dtype = expected.dtype })
            if not good and not why:match('values vs') then problem = why end
            if not problem and expected.within and numel(expected.shape) <= HUGE then
              local lo, hi = expected.within[1], expected.within[2]
              for i, v in ipairs(flat_values(result)) do
                if type(v) == 'boolean' then v = v and 1 or 0 end
                if not (v >= lo and v <= hi) then problem = 'value ' .. i .. ' = ' .. v .. ' outside [' .. lo .. ', ' .. hi .. ']' break end
              end
            end
          else
            local good, why = matches_model(result, expected)
            if not good then problem = why end
          end
        end
      end
      if problem then
        failures[#failures + 1] = string.format('round %d, %s %s on %s [%s]: %s', round, name, DESC, m.dtype,
                                                table.concat(m.shape, 'x'), problem)
        if #failures >= 10 then break end
      end
    end
    assert.are.same({}, failures)
    -- the fuzzer exercises both outcomes in earnest
    assert.is_true(outcomes.ok > ROUNDS / 5 and outcomes.error > ROUNDS / 5,
                   'results ' .. outcomes.ok .. ', errors ' .. outcomes.error)
  end)
end)
