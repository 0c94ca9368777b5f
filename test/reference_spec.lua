-- Views, conversions, copies, creation functions, tolist and item compared with PyTorch (test/helpers/torchref.lua).
-- Our API is 1-based where PyTorch is 0-based: each case pairs the Lua call with its PyTorch spelling.
local torch = require 'tensor'
local ref = require 'helpers.torchref'

-- Shape, strides, storage offset, contiguity and values of a tensor (the same fields the Python side sends).
local function info(t)
  return { shape = t:shape(), stride = t:stride(), offset = t:storage_offset(), contig = t:is_contiguous(), values = t }
end

local python_info = [[
import warnings
warnings.filterwarnings('ignore')
def info(t):
    return {'shape': list(t.shape), 'stride': list(t.stride()), 'offset': t.storage_offset(),
            'contig': t.is_contiguous(), 'values': t}
def ev(expr, env):
    try:
        r = eval(expr, globals(), env)
    except Exception as e:
        return {'error': str(e).split('\n')[0]}
    if isinstance(r, (list, tuple)): return [info(p) for p in r]
    return info(r)
]]

-- ---- views ----

local bases_lua = function()
  return {
    A = torch.arange(24):float():view(2, 3, 4),
    M = torch.arange(12):float():view(3, 4),
    B = torch.arange(6):float():view(2, 1, 3, 1),
    V = torch.arange(10):float(),
    Col = torch.arange(3):float():view(3, 1),
  }
end
local bases_python = [[
env = dict(A=torch.arange(24.).reshape(2, 3, 4), M=torch.arange(12.).reshape(3, 4),
           B=torch.arange(6.).reshape(2, 1, 3, 1), V=torch.arange(10.), Col=torch.arange(3.).reshape(3, 1))
]]

-- { Lua expression (bases in scope), PyTorch expression }
local view_cases = {
  { 'A:view(4, 6)', 'A.view(4, 6)' },
  { 'A:view(-1)', 'A.view(-1)' },
  { 'A:view(2, -1, 2)', 'A.view(2, -1, 2)' },
  { 'A:view({24, 1})', 'A.view(24, 1)' },
  { 'A:view(1, 24, 1)', 'A.view(1, 24, 1)' },
  { 'A:view(5, 5)', 'A.view(5, 5)' },
  { 'A:view(-1, -1)', 'A.view(-1, -1)' },
  { 'A:transpose(1, 2):view(-1)', 'A.transpose(0, 1).view(-1)' },
  { 'A:transpose(1, 2):reshape(-1)', 'A.transpose(0, 1).reshape(-1)' },
  { 'A:narrow(3, 1, 2):view(6, 2)', 'A.narrow(2, 0, 2).view(6, 2)' },
  { 'A:narrow(3, 1, 2):view(12)', 'A.narrow(2, 0, 2).view(12)' },
  { 'A:narrow(3, 1, 2):reshape(12)', 'A.narrow(2, 0, 2).reshape(12)' },
  { 'A:select(3, 1):view(6)', 'A.select(2, 0).view(6)' },
  { 'A:transpose(2, 3):view(2, 1, 4, 3)', 'A.transpose(1, 2).view(2, 1, 4, 3)' },
  { 'A:transpose(2, 3):view(2, 4, 3, 1)', 'A.transpose(1, 2).view(2, 4, 3, 1)' },
  { 'A:permute(3, 1, 2):reshape(4, 6)', 'A.permute(2, 0, 1).reshape(4, 6)' },
  { 'A:reshape(4, -1)', 'A.reshape(4, -1)' },
  { 'A:reshape(7, -1)', 'A.reshape(7, -1)' },
  { 'A:narrow(1, 2, 1)', 'A.narrow(0, 1, 1)' },
  { 'A:narrow(2, 2, 2)', 'A.narrow(1, 1, 2)' },
  { 'A:narrow(3, -2, 2)', 'A.narrow(2, -2, 2)' },
  { 'A:narrow(3, 5, 0)', 'A.narrow(2, 4, 0)' },
  { 'A:narrow(3, 4, 2)', 'A.narrow(2, 3, 2)' },
  { 'A:select(1, 2)', 'A.select(0, 1)' },
  { 'A:select(2, -1)', 'A.select(1, -1)' },
  { 'A:select(3, 3)', 'A.select(2, 2)' },
  { 'A:select(3, 5)', 'A.select(2, 4)' },
  { 'A:transpose(1, 3)', 'A.transpose(0, 2)' },
  { 'A:transpose(-1, 2)', 'A.transpose(-1, 1)' },
  { 'M:t()', 'M.t()' },
  { 'V:t()', 'V.t()' },
  { 'M:t():t()', 'M.t().t()' },
  { 'A:permute(3, 1, 2)', 'A.permute(2, 0, 1)' },
  { 'A:permute({2, 3, 1})', 'A.permute(1, 2, 0)' },
  { 'A:permute(1, 1, 2)', 'A.permute(0, 0, 1)' },
  { 'B:squeeze()', 'B.squeeze()' },
  { 'B:squeeze(2)', 'B.squeeze(1)' },
  { 'B:squeeze(1)', 'B.squeeze(0)' },
  { 'B:squeeze(-1)', 'B.squeeze(-1)' },
  { 'A:unsqueeze(1)', 'A.unsqueeze(0)' },
  { 'A:unsqueeze(3)', 'A.unsqueeze(2)' },
  { 'A:unsqueeze(-1)', 'A.unsqueeze(-1)' },
  { 'A:unsqueeze(4)', 'A.unsqueeze(3)' },
  { 'A:transpose(1, 3):unsqueeze(2)', 'A.transpose(0, 2).unsqueeze(1)' },
  { 'B:squeeze(2):unsqueeze(2)', 'B.squeeze(1).unsqueeze(1)' },
  { 'Col:expand(3, 4)', 'Col.expand(3, 4)' },
  { 'Col:expand(2, 3, 4)', 'Col.expand(2, 3, 4)' },
  { 'Col:expand(-1, 5)', 'Col.expand(-1, 5)' },
  { 'Col:expand_as(M)', 'Col.expand_as(M)' },
  { 'Col:expand(3, 1)', 'Col.expand(3, 1)' },
  { 'Col:expand(4, 4)', 'Col.expand(4, 4)' },
  { 'Col:t():expand(2, 3)', 'Col.t().expand(2, 3)' },
  { 'A:flatten()', 'A.flatten()' },
  { 'A:flatten(2)', 'A.flatten(1)' },
  { 'A:flatten(1, 2)', 'A.flatten(0, 1)' },
  { 'A:flatten(-2, -1)', 'A.flatten(-2, -1)' },
  { 'A:transpose(1, 2):flatten(2)', 'A.transpose(0, 1).flatten(1)' },
  { 'A:transpose(1, 2):flatten(1, 2)', 'A.transpose(0, 1).flatten(0, 1)' },
  { 'V:unfold(1, 3, 2)', 'V.unfold(0, 3, 2)' },
  { 'V:unfold(1, 10, 1)', 'V.unfold(0, 10, 1)' },
  { 'V:unfold(1, 11, 1)', 'V.unfold(0, 11, 1)' },
  { 'A:unfold(3, 2, 1)', 'A.unfold(2, 2, 1)' },
  { 'A:unfold(2, 3, 3)', 'A.unfold(1, 3, 3)' },
  { 'M:t():unfold(1, 2, 2)', 'M.t().unfold(0, 2, 2)' },
  { 'M:diagonal()', 'M.diagonal()' },
  { 'M:diagonal(1)', 'M.diagonal(1)' },
  { 'M:diagonal(-1)', 'M.diagonal(-1)' },
  { 'M:diagonal(3)', 'M.diagonal(3)' },
  { 'M:diagonal(4)', 'M.diagonal(4)' },
  { 'M:diagonal(-2)', 'M.diagonal(-2)' },
  { 'M:diagonal(-3)', 'M.diagonal(-3)' },
  { 'M:t():diagonal(1)', 'M.t().diagonal(1)' },
  { 'A:diagonal(0, 2, 3)', 'A.diagonal(0, 1, 2)' },
  { 'A:diagonal(1, 1, 3)', 'A.diagonal(1, 0, 2)' },
  { 'A:diagonal(-1, 3, 2)', 'A.diagonal(-1, 2, 1)' },
  { 'A:diagonal({offset = 1, dim1 = 2, dim2 = 3})', 'A.diagonal(1, 1, 2)' },
  { 'A:split(2, 3)', 'A.split(2, 2)' },
  { 'A:split({1, 2}, 2)', 'A.split([1, 2], 1)' },
  { 'A:split(3)', 'A.split(3)' },
  { 'A:split({1, 1, 1}, 3)', 'A.split([1, 1, 1], 2)' },
  { 'A:chunk(3, 3)', 'A.chunk(3, 2)' },
  { 'V:chunk(4)', 'V.chunk(4)' },
  { 'V:chunk(3)', 'V.chunk(3)' },
  { 'V:narrow(1, 1, 0):chunk(3)', 'V.narrow(0, 0, 0).chunk(3)' },
  { 'A:as_strided({3, 3}, {1, 3}, 2)', 'A.as_strided((3, 3), (1, 3), 2)' },
  { 'A:as_strided({2, 2}, {0, 1})', 'A.as_strided((2, 2), (0, 1))' },
  { 'A:narrow(3, 2, 2):as_strided({2}, {4})', 'A.narrow(2, 1, 2).as_strided((2,), (4,))' },
  { 'V:as_strided({20}, {1})', 'V.as_strided((20,), (1,))' },
  { 'V:as_strided({5}, {2}, 1)', 'V.as_strided((5,), (2,), 1)' },
  { 'A:select(2, 2):t():contiguous()', 'A.select(1, 1).t().contiguous()' },
  { 'A:transpose(1, 3):contiguous()', 'A.transpose(0, 2).contiguous()' },
  { 'A:narrow(3, 2, 2):contiguous()', 'A.narrow(2, 1, 2).contiguous()' },
}

local function lua_eval(expr, bases)
  local chunk = assert(loadstring('local A, M, B, V, Col = ... return ' .. expr))
  return pcall(chunk, bases.A, bases.M, bases.B, bases.V, bases.Col)
end

local view_reference
local function view_refs()
  if not view_reference then
    local exprs = {}
    for i, c in ipairs(view_cases) do exprs[i] = string.format('%q', c[2]) end
    view_reference = ref.run(python_info .. bases_python .. 'out = [ev(e, env) for e in [' ..
                             table.concat(exprs, ', ') .. ']]')
  end
  return view_reference
end

local function assert_info(label, t, expected)
  local got = info(t)
  assert.are.same(expected.shape, got.shape, label .. ': shape')
  assert.are.same(expected.stride, got.stride, label .. ': strides')
  assert.are.equal(expected.offset, got.offset, label .. ': storage offset')
  assert.are.equal(expected.contig, got.contig, label .. ': is_contiguous')
  local ok, message = ref.compare(t, expected.values)
  assert(ok, label .. ': values: ' .. tostring(message))
end

describe('views compared with PyTorch', function()
  for i, c in ipairs(view_cases) do
    it(c[1] .. '  ~  ' .. c[2], function()
      local expected = view_refs()[i]
      local ok, result = lua_eval(c[1], bases_lua())
      if expected.error then
        assert.is_false(ok, 'PyTorch raised "' .. expected.error .. '" but we returned a result')
        local fn = c[1]:match('.*:([%w_]+)%(')
        assert.matches(fn, tostring(result), 1, true)
        return
      end
      assert(ok, tostring(result))
      if expected[1] ~= nil or (type(result) == 'table' and result._c == nil) then
        assert.are.equal(#expected, #result, 'number of pieces')
        for k = 1, #expected do assert_info(c[1] .. ' piece ' .. k, result[k], expected[k]) end
      else
        assert_info(c[1], result, expected)
      end
    end)
  end

  it('views share storage with their base; reshape of a non-viewable tensor copies', function()
    local b = bases_lua()
    for _, v in ipairs({ b.A:view(4, 6), b.A:transpose(1, 3), b.A:narrow(2, 2, 1), b.A:select(1, 2), b.A:unfold(3, 2, 2),
                         b.A:diagonal(0, 2, 3), b.A:permute(2, 3, 1), b.A:flatten(), b.A:unsqueeze(2), b.A:expand(2, 2, 3, 4),
                         b.A:split(1, 2)[2], b.A:as_strided({ 2 }, { 5 }, 3) }) do
      assert.is_true(v:shares_storage(b.A))
    end
    assert.is_false(b.A:transpose(1, 2):reshape(-1):shares_storage(b.A))
    assert.is_true(b.A:reshape(6, 4):shares_storage(b.A))
    assert.is_false(b.A:clone():shares_storage(b.A))
    assert.is_false(b.A:transpose(1, 2):contiguous():shares_storage(b.A))
    assert.is_true(b.A:contiguous():shares_storage(b.A))
  end)
end)

describe('view semantics', function()
  it('a write through a view is visible in the base and vice versa', function()
    local x = torch.zeros(3, 4)
    local col = x:select(2, 3)
    col:fill_(7)
    assert.are.same({ { 0, 0, 7, 0 }, { 0, 0, 7, 0 }, { 0, 0, 7, 0 } }, x:tolist())
    x[2][3] = 5
    assert.equals(5, col[2])
    local t = x:t()
    t[{ 4, 1 }] = -1
    assert.equals(-1, x[1][4])
    local d = x:diagonal()
    d:copy_(torch.tensor({ 10, 20, 30 }))
    assert.are.same({ { 10, 0, 7, -1 }, { 0, 20, 5, 0 }, { 0, 0, 30, 0 } }, x:tolist())
    local u = x:view(12):unfold(1, 4, 4)
    u[{ 3, 2 }] = 99
    assert.equals(99, x[3][2])
    local n = x:narrow(1, 2, 2):narrow(2, 2, 2)
    n:zero_()
    assert.are.same({ { 10, 0, 7, -1 }, { 0, 0, 0, 0 }, { 0, 0, 0, 0 } }, x:tolist())
  end)

  it('views keep their storage alive after the base is dropped', function()
    local v
    do
      local base = torch.arange(10):float()
      v = base:narrow(1, 4, 3)
    end
    collectgarbage()
    collectgarbage()
    assert.are.same({ 3, 4, 5 }, v:tolist())
  end)

  it('every write through any view bumps the shared version counter', function()
    local x = torch.zeros(4)
    local v = x:narrow(1, 2, 2)
    local before = x:_version()
    v:fill_(1)
    assert.is_true(x:_version() > before)
    before = x:_version()
    v[1] = 3
    assert.is_true(x:_version() > before)
    before = x:_version()
    v:copy_(torch.ones(2))
    assert.is_true(x:_version() > before)
    before = x:_version()
    x:uniform_()
    assert.is_true(v:_version() > before)
  end)

  it('copy_ between overlapping views of one storage reads the source before writing', function()
    local x = torch.arange(9):view(3, 3)
    x:copy_(x:t())
    assert.are.same({ { 0, 3, 6 }, { 1, 4, 7 }, { 2, 5, 8 } }, x:tolist())
    local y = torch.arange(6)
    y:narrow(1, 2, 5):copy_(y:narrow(1, 1, 5))
    assert.are.same({ 0, 0, 1, 2, 3, 4 }, y:tolist())
    local z = torch.arange(6)
    z:narrow(1, 1, 5):copy_(z:narrow(1, 2, 5))
    assert.are.same({ 1, 2, 3, 4, 5, 5 }, z:tolist())
    local big = torch.arange(100000)
    big:narrow(1, 2, 99999):copy_(big:narrow(1, 1, 99999))
    assert.are.same({ 0, 0, 1, 2 }, big:narrow(1, 1, 4):tolist())
    assert.equals(99998, big[100000])
  end)

  it('copy_ into an expanded tensor is an error, not a race', function()
    local x = torch.zeros(3, 1):expand(3, 4)
    local ok, msg = pcall(function() x:copy_(torch.ones(3, 4)) end)
    assert.is_false(ok)
    assert.matches('copy_: the destination of size %[3 x 4%] has stride 0 at dimension 2', msg)
  end)
end)

-- ---- conversions between all ten dtypes ----

local dtypes = { 'float32', 'float64', 'float16', 'bfloat16', 'int64', 'int32', 'int16', 'int8', 'uint8', 'bool' }
-- Values that probe rounding (ties to even in float16/bfloat16, subnormals, overflow), truncation, wrapping of
-- integers, negative floats to unsigned, NaN and infinities. Written as Lua and Python expressions alike.
local conversion_values = {
  '0', '-0.0', '1', '-1', '0.5', '-0.5', '1.5', '2.5', '-2.5', '0.1', '1/3', '3.14159265358979', '100.7', '-100.7',
  '127.5', '128', '200', '255.9', '256', '300', '-129', '-300.5', '1000.25', '2049', '2051', '4097', '65504', '65519',
  '65520', '1e5', '70000', '1e-8', '2.98e-8', '2.99e-8', '6e-8', '3e-5', '6.1e-5', '1 + 2^-11', '1 + 3 * 2^-11',
  '1 + 2^-8', '1 + 3 * 2^-8', '1 + 2^-11 + 2^-40', '1 + 2^-8 + 2^-40', '2^24 + 1', '2^31', '-2^31', '2^31 - 1',
  '2^32 + 5', '1e10', '-1e10', '3.3895e38', '3.4e38', '1e39', '-1e39', '1e-40', '1e-46', '1e300', '2^63', '-2^63',
  'nan', 'inf', '-inf',
}

local function lua_values()
  local list = {}
  for i, e in ipairs(conversion_values) do
    list[i] = assert(loadstring('local nan, inf = 0/0, math.huge return ' .. e))()
  end
  return list
end

local conversion_reference
local function conversion_refs()
  if not conversion_reference then
    local py = {}
    for i, e in ipairs(conversion_values) do py[i] = (e:gsub('%^', '**'):gsub('nan', "float('nan')"):gsub('inf', "float('inf')")) end
    local names = {}
    for i, d in ipairs(dtypes) do names[i] = string.format('%q', d) end
    conversion_reference = ref.run(
      'vals = torch.tensor([' .. table.concat(py, ', ') .. '], dtype=torch.float64)\n' ..
      'names = [' .. table.concat(names, ', ') .. ']\n' ..
      'out = {}\n' ..
      'for s in names:\n' ..
      '    src = vals.to(getattr(torch, s))\n' ..
      '    out[s] = {d: src.to(getattr(torch, d)) for d in names}\n' ..
      "    out[s]['strided'] = vals.reshape(2, -1)[:, ::2].t().to(getattr(torch, s)).to(torch.float64)\n")
  end
  return conversion_reference
end

describe('conversions between all dtypes compared with PyTorch', function()
  for _, s in ipairs(dtypes) do
    it('from ' .. s .. ' to every dtype', function()
      local expected = conversion_refs()[s]
      local src = torch.tensor(lua_values(), { dtype = 'float64' }):to(s)
      assert.equals(s, src:dtype())
      for _, d in ipairs(dtypes) do
        local ok, message = ref.compare(src:to(d), expected[d])
        assert(ok, s .. ' -> ' .. d .. ': ' .. tostring(message))
      end
    end)
  end

  it('converts non-contiguous sources element by element', function()
    for _, s in ipairs(dtypes) do
      local v = torch.tensor(lua_values(), { dtype = 'float64' })
      local strided = v:view(2, -1):narrow(2, 1, v:numel() / 2):unfold(2, 1, 2):select(3, 1):t()
      local ok, message = ref.compare(strided:to(s):double(), conversion_refs()[s].strided)
      assert(ok, s .. ': ' .. tostring(message))
    end
  end)

  it('float16 and bfloat16 round to nearest even (hand-computed)', function()
    local h = torch.tensor({ 2049, 2051, 1 + 2 ^ -11, 1 + 3 * 2 ^ -11, 65519, 65520, 2 ^ -25, 2 ^ -25 * 1.5 },
                           { dtype = 'float32' }):half():float():tolist()
    assert.are.same({ 2048, 2052, 1, 1 + 2 ^ -9, 65504, math.huge, 0, 2 ^ -24 }, h)
    local b = torch.tensor({ 1 + 2 ^ -8, 1 + 3 * 2 ^ -8, 257, 259 }, { dtype = 'float32' }):bfloat16():float():tolist()
    assert.are.same({ 1, 1 + 2 ^ -6, 256, 260 }, b)
  end)

  it('same-dtype conversion returns the tensor itself; copy=true copies', function()
    local x = torch.ones(3)
    assert.equals(x, x:to('float32'))
    assert.equals(x, x:float())
    local y = x:to({ dtype = 'float32', copy = true })
    assert.are_not.equal(x, y)
    assert.is_false(y:shares_storage(x))
  end)
end)

-- ---- copy_, contiguous and clone with broadcasting and dtype conversion ----

describe('copy_ / contiguous / clone compared with PyTorch', function()
  local cases = {
    { function() return torch.zeros(2, 3):copy_(torch.arange(3)) end,
      'torch.zeros(2, 3).copy_(torch.arange(3))' },
    { function() return torch.zeros(4, 3, { dtype = 'float64' }):t():copy_(torch.tensor({ 1.5, 2.5, 3.5, 4.5 }, { dtype = 'float16' }):view(1, 4)) end,
      'torch.zeros(4, 3, dtype=torch.float64).t().copy_(torch.tensor([1.5, 2.5, 3.5, 4.5], dtype=torch.float16).view(1, 4))' },
    { function() return torch.zeros(3, 4, { dtype = 'int8' }):narrow(2, 2, 2):copy_(torch.tensor({ { -1.5, 300 }, { 127.9, -128.9 }, { 0.5, 255 } })) end,
      'torch.zeros(3, 4, dtype=torch.int8).narrow(1, 1, 2).copy_(torch.tensor([[-1.5, 300], [127.9, -128.9], [0.5, 255]]))' },
    { function() return torch.zeros(2, 2, 3, { dtype = 'bool' }):copy_(torch.tensor({ 0, 0.5, -2 })) end,
      'torch.zeros(2, 2, 3, dtype=torch.bool).copy_(torch.tensor([0, 0.5, -2]))' },
    { function() return torch.zeros(2, 3, { dtype = 'uint8' }):copy_(torch.tensor(-3.7)) end,
      'torch.zeros(2, 3, dtype=torch.uint8).copy_(torch.tensor(-3.7))' },
    { function() return torch.zeros(3, 5, { dtype = 'bfloat16' }):t():copy_(torch.arange(15):view(5, 3)) end,
      'torch.zeros(3, 5, dtype=torch.bfloat16).t().copy_(torch.arange(15).view(5, 3))' },
    { function() return torch.arange(24):view(2, 3, 4):permute(3, 1, 2):contiguous() end,
      'torch.arange(24).view(2, 3, 4).permute(2, 0, 1).contiguous()' },
    { function() return torch.arange(24):view(2, 3, 4):permute(3, 1, 2):clone():view(-1) end,
      'torch.arange(24).view(2, 3, 4).permute(2, 0, 1).clone().reshape(-1)' },
    { function() return torch.arange(3):view(3, 1):expand(3, 4):contiguous() end,
      'torch.arange(3).view(3, 1).expand(3, 4).contiguous()' },
  }

  local reference
  local function refs()
    if not reference then
      local snippets = {}
      for i, c in ipairs(cases) do snippets[i] = { code = python_info .. 'out = info(' .. c[2] .. ')' } end
      reference = ref.batch(snippets)
    end
    return reference
  end

  for i, c in ipairs(cases) do
    it(c[2], function()
      local t = c[1]()
      local expected = refs()[i]
      assert.are.same(expected.shape, t:shape())
      local ok, message = ref.compare(t, expected.values)
      assert(ok, message)
    end)
  end

  it('clone and contiguous results are contiguous, with fresh storage when the source is not', function()
    local x = torch.arange(24):view(2, 3, 4):transpose(1, 3)
    local c = x:clone()
    assert.is_true(c:is_contiguous())
    assert.are.same({ 6, 2, 1 }, c:stride())
    assert.are.same(x:tolist(), c:tolist())
    local k = x:contiguous()
    assert.is_true(k:is_contiguous())
    assert.are.same(x:tolist(), k:tolist())
    local y = torch.ones(3)
    assert.equals(y, y:contiguous())
  end)

  it('copy_ refuses shapes that do not broadcast, naming both sizes', function()
    local ok, msg = pcall(function() torch.zeros(2, 3):copy_(torch.zeros(3, 2)) end)
    assert.is_false(ok)
    assert.matches('copy_: cannot copy a tensor of size %[3 x 2%] into one of size %[2 x 3%]', msg)
    ok, msg = pcall(function() torch.zeros(3):copy_(torch.zeros(2, 3)) end)
    assert.is_false(ok)
    assert.matches('copy_: cannot copy a tensor of size %[2 x 3%] into one of size %[3%]', msg)
    ok, msg = pcall(function() torch.zeros(3):copy_({ 1, 2, 3 }) end)
    assert.is_false(ok)
    assert.matches('copy_: expected a tensor for src, got table', msg)
  end)
end)

-- ---- creation ----

describe('creation functions compared with PyTorch', function()
  local cases = {
    { 'torch.zeros(2, 3)', 'torch.zeros(2, 3)' },
    { 'torch.zeros({2, 3})', 'torch.zeros(2, 3)' },
    { 'torch.zeros({})', 'torch.zeros(())' },
    { 'torch.zeros(0, 3)', 'torch.zeros(0, 3)' },
    { "torch.ones(2, 3, {dtype = 'int32'})", 'torch.ones(2, 3, dtype=torch.int32)' },
    { "torch.ones(4, {dtype = 'bool'})", 'torch.ones(4, dtype=torch.bool)' },
    { 'torch.full({2, 2}, 7)', 'torch.full((2, 2), 7)' },
    { 'torch.full({2}, 2.5)', 'torch.full((2,), 2.5)' },
    { 'torch.full({2}, true)', 'torch.full((2,), True)' },
    { 'torch.full(3, -1.5)', 'torch.full((3,), -1.5)' },
    { "torch.full({3}, 2.5, {dtype = 'int64'})", 'torch.full((3,), 2.5, dtype=torch.int64)' },
    { "torch.full({3}, 1/3, {dtype = 'float16'})", 'torch.full((3,), 1/3, dtype=torch.float16)' },
    { 'torch.zeros_like(torch.ones(2, 3, {dtype = "int16"}))', 'torch.zeros_like(torch.ones(2, 3, dtype=torch.int16))' },
    { 'torch.ones_like(torch.ones(2, 3), {dtype = "float64"})', 'torch.ones_like(torch.ones(2, 3), dtype=torch.float64)' },
    { 'torch.full_like(torch.ones(2, 3, {dtype = "int64"}), 4)', 'torch.full_like(torch.ones(2, 3, dtype=torch.int64), 4)' },
    { 'torch.arange(5)', 'torch.arange(5)' },
    { 'torch.arange(1, 4)', 'torch.arange(1, 4)' },
    { 'torch.arange(0, 1, 0.1)', 'torch.arange(0, 1, 0.1)' },
    { 'torch.arange(1, 2.5, 0.5)', 'torch.arange(1, 2.5, 0.5)' },
    { 'torch.arange(10, 0, -3)', 'torch.arange(10, 0, -3)' },
    { 'torch.arange(0, 1, 0.3)', 'torch.arange(0, 1, 0.3)' },
    { 'torch.arange(-1, 1, 0.25)', 'torch.arange(-1, 1, 0.25)' },
    { 'torch.arange(0.5, 3)', 'torch.arange(0.5, 3)' },
    { 'torch.arange(5, 5)', 'torch.arange(5, 5)' },
    { "torch.arange(5, {dtype = 'float64'})", 'torch.arange(5, dtype=torch.float64)' },
    { "torch.arange(0, 10, 3, {dtype = 'int32'})", 'torch.arange(0, 10, 3, dtype=torch.int32)' },
    { "torch.arange(0, 2, 0.1, {dtype = 'float64'})", 'torch.arange(0, 2, 0.1, dtype=torch.float64)' },
    { 'torch.arange(-5, -20, -2.5)', 'torch.arange(-5, -20, -2.5)' },
    { 'torch.range(1, 4)', 'torch.range(1, 4)' },
    { 'torch.range(0, 1, 0.25)', 'torch.range(0, 1, 0.25)' },
    { 'torch.range(5, 1, -2)', 'torch.range(5, 1, -2)' },
    { 'torch.linspace(0, 1, 5)', 'torch.linspace(0, 1, 5)' },
    { 'torch.linspace(-1, 1, 7)', 'torch.linspace(-1, 1, 7)' },
    { 'torch.linspace(0, 1, 1)', 'torch.linspace(0, 1, 1)' },
    { 'torch.linspace(0, 1, 0)', 'torch.linspace(0, 1, 0)' },
    { 'torch.linspace(3, -3, 4)', 'torch.linspace(3, -3, 4)' },
    { 'torch.linspace(0, 1, 100)', 'torch.linspace(0, 1, 100)' },
    { "torch.linspace(0, 1, 11, {dtype = 'float64'})", 'torch.linspace(0, 1, 11, dtype=torch.float64)' },
    { 'torch.eye(3)', 'torch.eye(3)' },
    { 'torch.eye(2, 4)', 'torch.eye(2, 4)' },
    { 'torch.eye(4, 2)', 'torch.eye(4, 2)' },
    { 'torch.eye(0)', 'torch.eye(0)' },
    { "torch.eye(3, {dtype = 'int64'})", 'torch.eye(3, dtype=torch.int64)' },
    { 'torch.tensor({1, 2, 3})', 'torch.tensor([1, 2, 3])' },
    { 'torch.tensor({1.5, 2})', 'torch.tensor([1.5, 2])' },
    { 'torch.tensor({true, false})', 'torch.tensor([True, False])' },
    { 'torch.tensor({{1, 2}, {3, 4.5}})', 'torch.tensor([[1, 2], [3, 4.5]])' },
    { 'torch.tensor({1, true})', 'torch.tensor([1, True])' },
    { 'torch.tensor({1.5, true})', 'torch.tensor([1.5, True])' },
    { 'torch.tensor(3)', 'torch.tensor(3)' },
    { 'torch.tensor(2.5)', 'torch.tensor(2.5)' },
    { 'torch.tensor(true)', 'torch.tensor(True)' },
    { 'torch.tensor({})', 'torch.tensor([])' },
    { 'torch.tensor({{}})', 'torch.tensor([[]])' },
    { "torch.tensor({{1}, {2}}, {dtype = 'float16'})", 'torch.tensor([[1], [2]], dtype=torch.float16)' },
    { "torch.tensor({1e10, -1}, {dtype = 'int64'})", 'torch.tensor([10000000000, -1], dtype=torch.int64)' },
    { 'torch.tensor({{{1, 2}}, {{3, 4}}})', 'torch.tensor([[[1, 2]], [[3, 4]]])' },
    { 'torch.tensor({0/0, math.huge, -math.huge})', "torch.tensor([float('nan'), float('inf'), -float('inf')])" },
  }

  local reference
  local function refs()
    if not reference then
      local exprs = {}
      for i, c in ipairs(cases) do exprs[i] = string.format('%q', c[2]) end
      reference = ref.run(python_info .. 'out = [ev(e, {}) for e in [' .. table.concat(exprs, ', ') .. ']]')
    end
    return reference
  end

  for i, c in ipairs(cases) do
    it(c[1] .. '  ~  ' .. c[2], function()
      local expected = refs()[i]
      assert.is_nil(expected.error, expected.error)
      local t = assert(loadstring('local torch = ... return ' .. c[1]))(torch)
      assert.are.same(expected.shape, t:shape())
      assert.are.same(expected.stride, t:stride())
      local ok, message = ref.compare(t, expected.values, { atol = 0, rtol = 0 })
      if not ok and t:is_floating_point() then
        -- ranges computed in float64 then rounded may differ from PyTorch's float32 arithmetic by one unit
        ok, message = ref.compare(t, expected.values, ref.tolerance(t:dtype()))
      end
      assert(ok, message)
    end)
  end

  it('empty has the requested shape, dtype and contiguous strides', function()
    local x = torch.empty(2, 3, 4, { dtype = 'int16' })
    assert.are.same({ 2, 3, 4 }, x:shape())
    assert.are.same({ 12, 4, 1 }, x:stride())
    assert.equals('int16', x:dtype())
    assert.equals('float32', torch.empty(0):dtype())
  end)

  it('arange excludes stop and range includes it (hand-computed)', function()
    assert.are.same({ 0, 1, 2, 3 }, torch.arange(4):tolist())
    assert.are.same({ 1, 2, 3, 4 }, torch.range(1, 4):tolist())
    assert.are.same({ 2, 4 }, torch.arange(2, 6, 2):tolist())
    assert.are.same({ 2, 4, 6 }, torch.range(2, 6, 2):tolist())
    assert.equals('int64', torch.arange(4):dtype())
    assert.equals('float32', torch.range(1, 4):dtype())
    assert.equals('float32', torch.arange(0, 1, 0.5):dtype())
  end)
end)

-- ---- tolist and item ----

describe('tolist and item compared with PyTorch', function()
  local cases = {
    { 'torch.arange(6):view(2, 3)', 'torch.arange(6).view(2, 3)' },
    { 'torch.arange(24):view(2, 3, 4):transpose(1, 3)', 'torch.arange(24).view(2, 3, 4).transpose(0, 2)' },
    { "torch.tensor({0.1, 1/3, -2.5}, {dtype = 'float32'})", 'torch.tensor([0.1, 1/3, -2.5], dtype=torch.float32)' },
    { "torch.tensor({0.1, 1/3}, {dtype = 'float16'})", 'torch.tensor([0.1, 1/3], dtype=torch.float16)' },
    { "torch.tensor({0.1, 1/3}, {dtype = 'bfloat16'})", 'torch.tensor([0.1, 1/3], dtype=torch.bfloat16)' },
    { 'torch.tensor({{true, false}, {false, true}})', 'torch.tensor([[True, False], [False, True]])' },
    { "torch.tensor({-1, 200}, {dtype = 'uint8'})", 'torch.tensor([-1, 200]).to(torch.uint8)' },
    { 'torch.zeros(2, 0)', 'torch.zeros(2, 0)' },
    { 'torch.tensor(2.5)', 'torch.tensor(2.5)' },
  }
  local reference
  local function refs()
    if not reference then
      local exprs = {}
      for i, c in ipairs(cases) do exprs[i] = c[2] .. '.tolist()' end
      reference = ref.run('out = [' .. table.concat(exprs, ', ') .. ', ' ..
                          'torch.tensor([0.1, 1/3], dtype=torch.float32)[1].item(), ' ..
                          'torch.arange(6).view(2, 3)[1][2].item(), torch.tensor(True).item(), ' ..
                          'torch.tensor([[7.25]], dtype=torch.float16).item()]')
    end
    return reference
  end

  for i, c in ipairs(cases) do
    it(c[1] .. ':tolist()', function()
      local t = assert(loadstring('local torch = ... return ' .. c[1]))(torch)
      assert.are.same(refs()[i], t:tolist())
    end)
  end

  it('item', function()
    local r = refs()
    local n = #cases
    assert.equals(r[n + 1], torch.tensor({ 0.1, 1 / 3 }, { dtype = 'float32' })[2])
    assert.equals(r[n + 1], torch.tensor({ 0.1, 1 / 3 }, { dtype = 'float32' }):narrow(1, 2, 1):item())
    assert.equals(r[n + 2], torch.arange(6):view(2, 3)[2][3])
    assert.equals(r[n + 2], torch.arange(6):view(2, 3):select(1, 2):select(1, 3):item())
    assert.equals(r[n + 3], torch.tensor(true):item())
    assert.equals(r[n + 4], torch.tensor({ { 7.25 } }, { dtype = 'float16' }):item())
    local ok, msg = pcall(function() return torch.zeros(2):item() end)
    assert.is_false(ok)
    assert.matches('item: only a tensor with one element can be converted to a number, this one has 2', msg)
  end)
end)
