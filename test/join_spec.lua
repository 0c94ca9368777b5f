-- Joining and reordering against PyTorch: cat (dims, layouts, promotion, skipped empty tensors, many inputs),
-- stack, hstack/vstack/dstack/column_stack, unbind, flip, roll, tril/triu, repeatTensor, tile,
-- repeat_interleave, diag/diag_embed/trace; empty and 0-d inputs; out= and in-place forms; errors.
local torch = require 'tensor'
local ref = require 'helpers.torchref'

torch.manual_seed(2718)

local function make(dtype, ...)
  if dtype == 'bool' then return torch.rand(...):gt(0.5) end
  if dtype == 'int64' then return torch.randint(-50, 50, { ... }) end
  return torch.randn(...):to(dtype)
end

-- A [4 x 5] tensor in several layouts.
local function layouts(dtype)
  return {
    { 'contiguous', make(dtype, 4, 5) },
    { 'transposed', make(dtype, 5, 4):t() },
    { 'narrowed', make(dtype, 4, 9):narrow(2, 3, 5) },
    { 'expanded', make(dtype, 1, 5):expand(4, 5) },
  }
end

local cases = {}
local function case(name, fn, python, inputs)
  cases[#cases + 1] = { name = name, fn = fn, python = python, inputs = inputs }
end

local DTYPES = { 'float32', 'float64', 'int64', 'bool' }

-- ---- cat and stack ----
for _, dt in ipairs(DTYPES) do
  local l = layouts(dt)
  for d = 1, 2 do
    case(('cat %s dim %d, mixed layouts'):format(dt, d),
         function(t) return torch.cat({ t.a, t.b, t.c, t.e }, d) end,
         ('out = torch.cat([a, b, c, e], %d)'):format(d - 1), { a = l[1][2], b = l[2][2], c = l[3][2], e = l[4][2] })
    case(('stack %s dim %d'):format(dt, d), function(t) return torch.stack({ t.a, t.b, t.c }, d) end,
         ('out = torch.stack([a, b, c], %d)'):format(d - 1), { a = l[1][2], b = l[2][2], c = l[3][2] })
  end
  case('stack dim -1 ' .. dt, function(t) return torch.stack({ t.a, t.b }, -1) end, 'out = torch.stack([a, b], -1)',
       { a = l[1][2], b = l[3][2] })
end
do
  local a, b = torch.randn(2, 3, 4), torch.randn(2, 5, 4)
  case('cat 3-d dim 2', function(t) return torch.cat({ t.a, t.b }, 2) end, 'out = torch.cat([a, b], 1)', { a = a, b = b })
  case('cat dim -1', function(t) return torch.cat({ t.a, t.a:narrow(3, 1, 2) }, -1) end,
       'out = torch.cat([a, a[:, :, :2]], -1)', { a = a })
  case('cat promotes int64 and float16 to float16', function(t) return torch.cat({ t.a, t.b }) end,
       'out = torch.cat([a, b])', { a = make('int64', 2, 3), b = make('float16', 1, 3) })
  case('cat promotes bool and int32', function(t) return torch.cat({ t.a, t.b }, 2) end, 'out = torch.cat([a, b], 1)',
       { a = make('bool', 2, 2), b = make('int64', 2, 3):int() })
  case('cat promotes float32 and float64', function(t) return torch.cat({ t.a, t.b }) end, 'out = torch.cat([a, b])',
       { a = make('float32', 3), b = make('float64', 2) })
  case('cat skips 1-d empty tensors', function(t) return torch.cat({ t.e, t.a, t.e }, 2) end,
       'out = torch.cat([e, a, e], 1)', { a = a, e = torch.randn(0) })
  case('cat of empty tensors', function(t) return torch.cat({ t.a, t.a }) end, 'out = torch.cat([a, a])',
       { a = torch.randn(0, 3) })
  case('cat of one tensor', function(t) return torch.cat({ t.a }) end, 'out = torch.cat([a])', { a = a })
  local many = {}
  for i = 1, 100 do many[i] = torch.randn(i % 7 + 1, 16) end
  local inputs, names = {}, {}
  for i = 1, 100 do inputs['t' .. i] = many[i]; names[i] = 't' .. i end
  case('cat of 100 tensors', function() return torch.cat(many) end,
       'out = torch.cat([' .. table.concat(names, ', ') .. '])', inputs)
  case('cat of 100 tensors along dim 2', function()
    local cols = {}
    for i = 1, 100 do cols[i] = many[i]:narrow(1, 1, 1) end
    return torch.cat(cols, 2)
  end, 'out = torch.cat([t[:1] for t in [' .. table.concat(names, ', ') .. ']], 1)', inputs)
  local big1, big2 = torch.randn(500, 700), torch.randn(300, 700)
  case('cat large (threaded slabs)', function(t) return torch.cat({ t.a, t.b }) end, 'out = torch.cat([a, b])',
       { a = big1, b = big2 })
  case('cat large along dim 2', function(t) return torch.cat({ t.a, t.b:t():contiguous():t(), t.a }, 2) end,
       'out = torch.cat([a, b, a], 1)', { a = big1:narrow(1, 1, 300), b = big2 })
  case('torch.cat(a, b, dim), Torch7 style', function(t) return torch.cat(t.a, t.a, 3) end,
       'out = torch.cat([a, a], 2)', { a = a })
  case('cat out=', function(t)
    local o = torch.empty(1)
    local r = torch.cat({ t.a, t.b }, 2, { out = o })
    assert(r == o)
    return o
  end, 'out = torch.cat([a, b], 1)', { a = a, b = b })
  case('cat out= of a wider dtype', function(t) return torch.cat({ t.a, t.a }, 1, { out = torch.empty(0, { dtype = 'float64' }) }) end,
       'out = torch.cat([a, a]).double()', { a = a })
  case('stack of 0-d tensors', function(t) return torch.stack({ t.a, t.b }) end, 'out = torch.stack([a, b])',
       { a = torch.tensor(1.5), b = torch.tensor(2.5) })
  case('hstack 1-d', function(t) return torch.hstack({ t.a, t.b }) end, 'out = torch.hstack([a, b])',
       { a = torch.randn(3), b = torch.randn(2) })
  case('hstack 2-d', function(t) return torch.hstack({ t.a, t.b }) end, 'out = torch.hstack([a, b])',
       { a = torch.randn(3, 2), b = torch.randn(3, 4) })
  case('vstack', function(t) return torch.vstack({ t.a, t.b }) end, 'out = torch.vstack([a, b])',
       { a = torch.randn(3), b = torch.randn(2, 3) })
  case('dstack', function(t) return torch.dstack({ t.a, t.b }) end, 'out = torch.dstack([a, b])',
       { a = torch.randn(2, 3), b = torch.randn(2, 3, 2) })
  case('column_stack', function(t) return torch.column_stack({ t.a, t.b }) end, 'out = torch.column_stack([a, b])',
       { a = torch.randn(4), b = torch.randn(4, 2) })
  case('unbind', function(t) return t.a:unbind(2) end, 'out = list(torch.unbind(a, 1))', { a = a })
end

-- ---- flip ----
for _, dt in ipairs(DTYPES) do
  for _, l in ipairs(layouts(dt)) do
    case(('flip %s %s dim 2'):format(dt, l[1]), function(t) return t.x:flip(2) end, 'out = torch.flip(x, [1])', { x = l[2] })
    case(('flip %s %s both dims'):format(dt, l[1]), function(t) return t.x:flip(1, 2) end,
         'out = torch.flip(x, [0, 1])', { x = l[2] })
  end
end
do
  local x = torch.randn(3, 4, 5)
  case('flip 3-d middle dim', function(t) return t.x:flip({ 2 }) end, 'out = torch.flip(x, [1])', { x = x })
  case('flip 3-d dims 1 and 3', function(t) return torch.flip(t.x, { 1, -1 }) end, 'out = torch.flip(x, [0, 2])',
       { x = x })
  case('flip float16 long rows', function(t) return t.x:flip(2) end, 'out = torch.flip(x, [1])',
       { x = torch.randn(3, 1000):half() })
  case('flip large', function(t) return t.x:flip(1) end, 'out = torch.flip(x, [0])', { x = torch.randn(300, 500) })
  case('flip no dims', function(t) return t.x:flip({}) end, 'out = torch.flip(x, [])', { x = x })
  case('flip empty', function(t) return t.x:flip(1) end, 'out = torch.flip(x, [0])', { x = torch.randn(0, 2) })
  case('flip 0-d', function(t) return t.x:flip({}) end, 'out = torch.flip(x, [])', { x = torch.tensor(3.0) })
  case('flip 0-d along dim 1 and -1', function(t) return { t.x:flip(1), torch.flip(t.x, { -1 }) } end,
       'out = [torch.flip(x, [0]), torch.flip(x, [-1])]', { x = torch.tensor(3.5) })
  case('fliplr', function(t) return t.x:fliplr() end, 'out = torch.fliplr(x)', { x = x })
  case('flipud', function(t) return t.x:flipud() end, 'out = torch.flipud(x)', { x = x })
end

-- ---- roll ----
for _, dt in ipairs(DTYPES) do
  for _, l in ipairs(layouts(dt)) do
    case(('roll %s %s flattened'):format(dt, l[1]), function(t) return t.x:roll(7) end, 'out = torch.roll(x, 7)',
         { x = l[2] })
    case(('roll %s %s two dims'):format(dt, l[1]), function(t) return t.x:roll({ 1, -2 }, { 1, 2 }) end,
         'out = torch.roll(x, (1, -2), (0, 1))', { x = l[2] })
  end
end
do
  local x = torch.randn(3, 4, 5)
  case('roll by more than the size', function(t) return t.x:roll(13, 3) end, 'out = torch.roll(x, 13, 2)', { x = x })
  case('roll negative, dim -1', function(t) return torch.roll(t.x, -1, -1) end, 'out = torch.roll(x, -1, -1)',
       { x = x })
  case('roll by 0', function(t) return t.x:roll(0, 2) end, 'out = torch.roll(x, 0, 1)', { x = x })
  case('roll one dim twice', function(t) return t.x:roll({ 1, 2 }, { 2, 2 }) end, 'out = torch.roll(x, (1, 2), (1, 1))',
       { x = x })
  case('roll empty', function(t) return t.x:roll(1, 1) end, 'out = torch.roll(x, 1, 0)', { x = torch.randn(0, 3) })
end

-- ---- tril and triu ----
for _, dt in ipairs(DTYPES) do
  for _, l in ipairs(layouts(dt)) do
    for _, k in ipairs({ 0, 2, -1 }) do
      case(('tril %s %s k=%d'):format(dt, l[1], k), function(t) return t.x:tril(k) end, ('out = torch.tril(x, %d)'):format(k),
           { x = l[2] })
      case(('triu %s %s k=%d'):format(dt, l[1], k), function(t) return t.x:triu(k) end, ('out = torch.triu(x, %d)'):format(k),
           { x = l[2] })
    end
  end
end
do
  local x = torch.randn(3, 5, 4)
  case('tril batched', function(t) return t.x:tril() end, 'out = torch.tril(x)', { x = x })
  case('triu batched, transposed, k=-10', function(t) return t.x:transpose(2, 3):triu(-10) end,
       'out = torch.triu(x.transpose(1, 2), -10)', { x = x })
  case('tril k past the corner', function(t) return t.x:tril(9) end, 'out = torch.tril(x, 9)', { x = x })
  case('tril_ in place on a view', function(t)
    local y = t.x:clone()
    y:narrow(3, 2, 3):tril_(1)
    return y
  end, 'y = x.clone(); y[:, :, 1:4].tril_(1); out = y', { x = x })
  case('triu_ in place', function(t) return t.x:clone():triu_() end, 'out = x.clone().triu_()', { x = x })
  case('tril out=', function(t) return torch.tril(t.x, 1, { out = torch.empty(0) }) end, 'out = torch.tril(x, 1)',
       { x = x })
  case('tril large', function(t) return t.x:tril(-3) end, 'out = torch.tril(x, -3)', { x = torch.randn(400, 300) })
end

-- ---- diag, diag_embed, trace ----
for _, dt in ipairs(DTYPES) do
  local l = layouts(dt)
  for _, k in ipairs({ 0, 2, -1 }) do
    case(('diag of a %s matrix %s k=%d'):format(dt, l[2][1], k), function(t) return t.x:diag(k) end,
         ('out = torch.diag(x, %d)'):format(k), { x = l[2][2] })
    case(('diag of a %s vector k=%d'):format(dt, k), function(t) return torch.diag(t.x, k) end,
         ('out = torch.diag(x, %d)'):format(k), { x = l[3][2]:select(1, 2) })
  end
  case(('diag_embed %s batch'):format(dt), function(t) return torch.diag_embed(t.x) end, 'out = torch.diag_embed(x)',
       { x = l[2][2] })
end
do
  local x = torch.randn(2, 3, 4)
  case('diag_embed offset and dims', function(t) return torch.diag_embed(t.x, -1, 1, 3) end,
       'out = torch.diag_embed(x, -1, 0, 2)', { x = x })
  case('diag_embed options table', function(t) return torch.diag_embed(t.x, { offset = 2, dim1 = -1, dim2 = 2 }) end,
       'out = torch.diag_embed(x, offset=2, dim1=-1, dim2=1)', { x = x })
  case('diag_embed of an empty batch', function(t) return torch.diag_embed(t.x) end, 'out = torch.diag_embed(x)',
       { x = torch.randn(0, 3) })
  case('trace of a non-square view', function(t) return torch.tensor(t.x:t():trace(), { dtype = 'float64' }) end,
       'out = torch.trace(x.t())', { x = torch.randn(4, 3):double() })
  case('trace of int64', function(t) return torch.tensor(torch.trace(t.x), { dtype = 'int64' }) end,
       'out = torch.trace(x)', { x = torch.randint(-9, 9, { 5, 5 }) })
  case('triu empty', function(t) return t.x:triu() end, 'out = torch.triu(x)', { x = torch.randn(2, 0, 3) })
end

-- ---- repeat, tile, repeat_interleave ----
for _, dt in ipairs(DTYPES) do
  for _, l in ipairs(layouts(dt)) do
    case(('repeatTensor %s %s'):format(dt, l[1]), function(t) return t.x:repeatTensor(2, 1, 3) end,
         'out = x.repeat(2, 1, 3)', { x = l[2] })
    case(('repeat_interleave %s %s dim 2'):format(dt, l[1]), function(t) return t.x:repeat_interleave(3, 2) end,
         'out = x.repeat_interleave(3, 1)', { x = l[2] })
  end
end
do
  local x = torch.randn(3, 4)
  case('repeatTensor with a table', function(t) return t.x:repeatTensor({ 2, 2 }) end, 'out = x.repeat(2, 2)', { x = x })
  case('repeatTensor zero count', function(t) return t.x:repeatTensor(0, 2) end, 'out = x.repeat(0, 2)', { x = x })
  case('repeatTensor 0-d', function(t) return t.x:repeatTensor(3) end, 'out = x.repeat(3)', { x = torch.tensor(2.5) })
  case('repeatTensor 1-d many times', function(t) return t.x:repeatTensor(1000) end, 'out = x.repeat(1000)',
       { x = torch.randn(3) })
  case('repeatTensor of a 9-d tensor (staged copies)', function(t) return t.x:repeatTensor(2, 1, 2, 2, 1, 2, 2, 2, 2) end,
       'out = x.repeat(2, 1, 2, 2, 1, 2, 2, 2, 2)', { x = torch.randn(2, 1, 2, 2, 3, 2, 2, 2, 2) })
  case('torch.repeatTensor', function(t) return torch.repeatTensor(t.x, 1, 2) end, 'out = x.repeat(1, 2)', { x = x })
  case('tile pads counts', function(t) return t.x:tile(2) end, 'out = torch.tile(x, (2,))', { x = x })
  case('repeat_interleave flattened', function(t) return t.x:repeat_interleave(2) end, 'out = x.repeat_interleave(2)',
       { x = x })
  case('repeat_interleave tensor repeats', function(t) return t.x:repeat_interleave(t.r, 1) end,
       'out = x.repeat_interleave(r, 0)', { x = x, r = torch.tensor({ 2, 0, 3 }) })
  case('repeat_interleave table repeats, dim 2', function(t) return t.x:repeat_interleave({ 1, 2, 0, 1 }, 2) end,
       'out = x.repeat_interleave(torch.tensor([1, 2, 0, 1]), 1)', { x = x })
  case('repeat_interleave one-element tensor', function(t) return t.x:repeat_interleave(t.r, 2) end,
       'out = x.repeat_interleave(r, 1)', { x = x, r = torch.tensor({ 2 }) })
  case('repeat_interleave index form is 1-based', function(t) return torch.repeat_interleave(t.r) end,
       'out = torch.repeat_interleave(r) + 1', { r = torch.tensor({ 1, 0, 3, 2 }) })
  case('repeat_interleave 0-d', function(t) return t.x:repeat_interleave(3) end, 'out = x.repeat_interleave(3)',
       { x = torch.tensor(1.5) })
end

describe('joining ops match PyTorch', function()
  local batch = {}
  for i, cs in ipairs(cases) do batch[i] = { code = cs.python, inputs = cs.inputs } end
  local results = ref.batch(batch)
  for i, cs in ipairs(cases) do
    it(cs.name, function()
      local got = cs.fn(cs.inputs)
      local expected = results[i]
      if type(got) == 'table' and not got._c then
        assert.are.equal(#expected, #got)
        for k = 1, #got do
          local ok, msg = ref.compare(got[k], expected[k])
          assert(ok, msg)
        end
      else
        local ok, msg = ref.compare(got, expected)
        assert(ok, msg)
      end
    end)
  end
end)

describe('joining semantics', function()
  it('split and chunk stay views', function()
    local x = torch.randn(6, 2)
    local parts = x:split(2)
    assert.are.equal(3, #parts)
    assert.is_true(parts[2]:shares_storage(x))
    assert.are.equal(3, #x:chunk(3))
  end)
  it('tril_ returns self and bumps the version', function()
    local x = torch.ones(3, 3)
    local v = x:_version()
    assert.are.equal(x, x:tril_())
    assert.is_true(x:_version() > v)
    assert.are.equal(6, x:sum())
  end)
  it('cat results do not share memory with the inputs', function()
    local a = torch.zeros(2)
    local c = torch.cat({ a })
    c:fill_(1)
    assert.are.same({ 0, 0 }, a:tolist())
  end)
end)

describe('joining errors', function()
  local function message(fn)
    local ok, err = pcall(fn)
    assert.is_false(ok)
    return tostring(err)
  end
  it('cat names the mismatched tensors and sizes', function()
    local m = message(function() return torch.cat({ torch.zeros(2, 3), torch.zeros(2, 4) }) end)
    assert.matches('cat: sizes must match except in dimension 1', m)
    assert.matches('tensor 2 has size %[2 x 4%]', m)
    m = message(function() return torch.cat({ torch.zeros(2, 3), torch.zeros(3) }) end)
    assert.matches('cat: tensors must have the same number of dimensions', m)
    assert.matches('0%-d', message(function() return torch.cat({ torch.tensor(1), torch.tensor(2) }) end))
    assert.matches('cat: dimension 3', message(function() return torch.cat({ torch.zeros(2, 3) }, 3) end))
    assert.matches('non%-empty', message(function() return torch.cat({}) end))
    assert.matches('element 2', message(function() return torch.cat({ torch.zeros(2), 3 }) end))
  end)
  it('cat refuses an out= it cannot convert into or that overlaps an input', function()
    local a = torch.randn(2)
    assert.matches('cannot be written', message(function() return torch.cat({ a, a }, 1, { out = torch.empty(0, { dtype = 'int64' }) }) end))
    assert.matches('shares memory', message(function() return torch.cat({ a, a }, 1, { out = a }) end))
  end)
  it('stack refuses tensors of different sizes', function()
    local m = message(function() return torch.stack({ torch.zeros(2), torch.zeros(3) }) end)
    assert.matches('stack.*%[2%].*%[3%]', m)
  end)
  it('flip refuses repeated and bad dims', function()
    assert.matches('flip: dimension 1 appears more than once', message(function() return torch.zeros(2, 2):flip(1, -2) end))
    assert.matches('flip: dimension 3', message(function() return torch.zeros(2, 2):flip(3) end))
    assert.matches('flip: dimension 2 out of range for a tensor of 1 dimension',
                   message(function() return torch.tensor(1.5):flip(2) end), 1, true)
  end)
  it('roll refuses mismatched shifts and dims', function()
    assert.matches('roll.*same length', message(function() return torch.zeros(2, 2):roll({ 1, 2 }, 1) end))
    assert.matches('roll.*one shift', message(function() return torch.zeros(2, 2):roll({ 1, 2 }) end))
  end)
  it('diag, diag_embed and trace name the bad argument', function()
    assert.matches('diag: expects a 1%-d or 2%-d tensor, got 3 dims', message(function() return torch.zeros(2, 2, 2):diag() end))
    assert.matches('diag_embed: dim1 and dim2 must differ, got 2 and 2',
                   message(function() return torch.diag_embed(torch.zeros(2), 0, 2, -1) end))
    assert.matches('diag_embed: dimension 4 out of range', message(function() return torch.diag_embed(torch.zeros(2), 0, 4) end))
    assert.matches('diag_embed: expected a tensor', message(function() return torch.diag_embed({ 1, 2 }) end))
    assert.matches('trace: expects a matrix %(2%-d%), got 1 dims', message(function() return torch.zeros(3):trace() end))
  end)
  it('tril needs 2 dims', function()
    assert.matches('tril: expects a tensor with at least 2 dimensions', message(function() return torch.zeros(3):tril() end))
  end)
  it('repeat needs a count per dim, none negative', function()
    assert.matches('repeat: 1 repeat counts given for a tensor of 2 dimensions',
                   message(function() return torch.zeros(2, 2):repeatTensor(2) end))
    assert.matches('non%-negative', message(function() return torch.zeros(2):repeatTensor(-1) end))
  end)
  it('repeat refuses sizes that overflow', function()
    assert.matches('too many', message(function() return torch.zeros(3):repeatTensor(2 ^ 62) end))
    assert.matches('too many', message(function() return torch.zeros(3):repeat_interleave(2 ^ 62) end))
  end)
  it('repeat_interleave checks its repeats', function()
    assert.matches('non%-negative', message(function() return torch.zeros(2):repeat_interleave(torch.tensor({ 1, -1 })) end))
    assert.matches('one per slice', message(function() return torch.zeros(2):repeat_interleave(torch.tensor({ 1, 1, 1 })) end))
    assert.matches('int64', message(function() return torch.zeros(2):repeat_interleave(torch.ones(2)) end))
  end)
end)

-- ---- fill_diagonal_ ----
do
  local cases = require('helpers.cases').new()
  cases:add('fill_diagonal_ of square, wide and tall matrices', function()
    return { torch.zeros(3, 3):fill_diagonal_(5), torch.zeros(2, 4):fill_diagonal_(5), torch.zeros(7, 3):fill_diagonal_(5),
             torch.zeros(7, 3):fill_diagonal_(5, true), torch.zeros(8, 2):fill_diagonal_(2, { wrap = true }) }
  end, 'out = [torch.zeros(3, 3).fill_diagonal_(5), torch.zeros(2, 4).fill_diagonal_(5), torch.zeros(7, 3).fill_diagonal_(5), '
    .. 'torch.zeros(7, 3).fill_diagonal_(5, wrap=True), torch.zeros(8, 2).fill_diagonal_(2, wrap=True)]')
  cases:add('fill_diagonal_ of a cube and of a transposed view', function(t)
    local y = t.x:clone()
    y:t():fill_diagonal_(-1)
    return { torch.zeros(3, 3, 3):fill_diagonal_(4), y }
  end, 'y = x.clone(); y.fill_diagonal_(-1); out = [torch.zeros(3, 3, 3).fill_diagonal_(4), y]', { x = torch.randn(3, 5) })
  -- (PyTorch refuses the transposed view itself; the diagonal of y:t() is y's own)
  cases:describe('fill_diagonal_ matches PyTorch')

  it('fill_diagonal_ refuses tensors it has no diagonal for', function()
    local message = require 'helpers.failure'
    assert.matches('fill_diagonal_: expects a tensor of at least 2 dimensions, got 1',
                   message(function() return torch.zeros(3):fill_diagonal_(1) end), 1, true)
    assert.matches('fill_diagonal_: the dimensions of a tensor of more than 2 must all have one size, got 2 x 3 x 2',
                   message(function() return torch.zeros(2, 3, 2):fill_diagonal_(1) end), 1, true)
  end)
end

-- ---- tensor_split, vsplit, hsplit, dsplit (positions 1-based: PyTorch's split indices plus one) ----
do
  local cases = require('helpers.cases').new()
  local x = torch.randn(7, 6, 4)
  cases:add('tensor_split into sections and at positions', function(t)
    local out = {}
    for _, list in ipairs({ t.x:tensor_split(3), t.x:tensor_split(4, 2), torch.tensor_split(t.x, { 2, 5, 9 }),
                            t.x:tensor_split({ 3, 3 }, -1) }) do
      for _, p in ipairs(list) do out[#out + 1] = p end
    end
    return out
  end, 'out = [*x.tensor_split(3), *x.tensor_split(4, 1), *torch.tensor_split(x, [1, 4, 8]), *x.tensor_split([2, 2], -1)]',
            { x = x })
  cases:add('vsplit, hsplit, dsplit', function(t)
    local out = {}
    for _, list in ipairs({ t.x:narrow(1, 1, 6):vsplit(2), t.x:hsplit({ 2, 4 }), t.x:dsplit(2), t.v:hsplit(3) }) do
      for _, p in ipairs(list) do out[#out + 1] = p end
    end
    return out
  end, 'out = [*x[:6].vsplit(2), *x.hsplit([1, 3]), *x.dsplit(2), *v.hsplit(3)]', { x = x, v = torch.randn(6) })
  cases:describe('tensor_split and its kin match PyTorch')

  it('tensor_split and its kin refuse what they cannot split', function()
    local message = require 'helpers.failure'
    assert.matches('vsplit: dimension 1 of size 3 cannot be split into 2 equal sections',
                   message(function() return torch.zeros(3, 3):vsplit(2) end), 1, true)
    assert.matches('dsplit: expects a tensor of at least 3 dimensions, got 2',
                   message(function() return torch.zeros(3, 3):dsplit(1) end), 1, true)
    assert.matches('tensor_split: position 1 must be a positive integer, got 0',
                   message(function() return torch.zeros(3):tensor_split({ 0 }) end), 1, true)
    assert.matches('tensor_split: number of sections must be a positive integer, got 0',
                   message(function() return torch.zeros(3):tensor_split(0) end), 1, true)
  end)
end
