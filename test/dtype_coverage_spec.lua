-- Which dtypes each op takes, against PyTorch 1.13 on the CPU: every (op, dtype) pair that PyTorch accepts we
-- accept too, with PyTorch's result dtype and values (indices shifted by one). Ops over ten dtypes on small
-- integral data (exact in every dtype), then the kernel-backed nn functions over the float dtypes. Where we accept
-- more than PyTorch (float16 kernels it lacks on the CPU, integer inputs of hypot or logaddexp, which promote as
-- their float forms do) nothing is asserted; the few pairs where we deliberately differ are listed in EXCEPTIONS
-- with the reason.
local torch = require 'tensor'
local F = require('tensor.nn').F
local ref = require 'helpers.torchref'

local DTYPES = { 'float16', 'bfloat16', 'float32', 'float64', 'int8', 'uint8', 'int16', 'int32', 'int64', 'bool' }

-- (op name, dtype) -> why we differ from PyTorch 1.13 there
local EXCEPTIONS = {
  ['all uint8'] = 'all/any return bool for every dtype (1.13 returns uint8 for uint8 input)',
  ['any uint8'] = 'as all',
  ['all dim uint8'] = 'as all',
  ['any dim uint8'] = 'as all',
  ['clamp uint8'] = 'a bound outside uint8 clamps (1.13 wraps -1 to 255 first)',
  ['square bool'] = 'arithmetic refuses bool (1.13 squares it as int64)',
  ['clamp bool'] = 'arithmetic refuses bool (1.13 clamps it as int64)',
  ['outer bool'] = 'products refuse bool (1.13 gives the logical and)',
  ['addr bool'] = 'as outer',
  ['remainder by number uint8'] = 'a number outside the dtype\'s range is refused, naming it (1.13 wraps -3 to 253)',
  ['floor_divide by number uint8'] = 'as remainder',
  ['nextafter bfloat16'] = 'nextafter steps in float32 and float64 only (1.13 steps in bfloat16 too)',
}

local function data(dt, which)
  local v
  if which == 1 then v = { { -3, -2, -1, 0 }, { 1, 2, 3, 4 } } else v = { { 2, 1, 3, 1 }, { 4, 2, 1, 3 } } end
  if dt == 'uint8' and which == 1 then v = { { 0, 1, 2, 3 }, { 4, 5, 6, 7 } } end
  if dt == 'bool' then
    v = which == 1 and { { 1, 0, 1, 0 }, { 0, 1, 1, 0 } } or { { 1, 1, 0, 0 }, { 0, 1, 0, 1 } }
    return torch.tensor(v):ne(0)
  end
  return torch.tensor(v):to(dt)
end

-- name, our call, PyTorch's expression (of x and y), and which results are 1-based indices (a position, or
-- 'all' where every result is one)
local ops = {}
local function add(name, lua, py, idx) ops[#ops + 1] = { name = name, lua = lua, py = py, idx = idx } end
for n in ([[abs neg sign sgn exp exp2 expm1 log log2 log10 log1p sqrt rsqrt sin cos tan asin acos atan sinh cosh tanh
  asinh acosh atanh sigmoid relu erf erfc erfinv floor ceil round trunc frac reciprocal square lgamma digamma i0 sinc
  logit isnan isinf isfinite isneginf isposinf signbit logical_not bitwise_not nan_to_num deg2rad rad2deg positive
  fix absolute negative]]):gmatch('%S+') do
  add(n, function(x) return x[n](x) end, 'x.' .. n .. '()')
end
for n in ([[add sub mul div true_divide floor_divide remainder fmod pow atan2 maximum minimum fmax fmin eq ne lt le gt ge
  logical_and logical_or logical_xor bitwise_and bitwise_or bitwise_xor bitwise_left_shift bitwise_right_shift hypot
  copysign nextafter xlogy logaddexp logaddexp2 gcd lcm heaviside float_power]]):gmatch('%S+') do
  add(n, function(x, y) return x[n](x, y) end, 'x.' .. n .. '(y)')
  add(n .. ' number', function(x) return x[n](x, 2) end, 'x.' .. n .. '(2)')
end
add('ldexp', function(x, y) return x:ldexp(y:to('int64')) end, 'x.ldexp(y.long())')
for n in ([[sum prod mean nansum nanmean amax amin std var norm count_nonzero all any]]):gmatch('%S+') do
  add(n, function(x) return x[n](x) end, 'x.' .. n .. '()')
  if n ~= 'norm' then add(n .. ' dim', function(x) return x[n](x, 2) end, 'x.' .. n .. '(1)') end
end
add('max all', function(x) return x:max() end, 'x.max()')
add('min all', function(x) return x:min() end, 'x.min()')
add('max dim', function(x) return x:max(2) end, 'list(x.max(1))', 2)
add('min dim', function(x) return x:min(2) end, 'list(x.min(1))', 2)
add('argmax', function(x) return x:argmax() end, 'x.argmax()', 1)
add('argmin dim', function(x) return x:argmin(2) end, 'x.argmin(1)', 1)
add('median', function(x) return x:median() end, 'x.median()')
add('median dim', function(x) return x:median(2) end, 'list(x.median(1))', 2)
add('mode dim', function(x) return x:mode(2) end, 'list(x.mode(1))', 2)
add('logsumexp', function(x) return x:logsumexp(2) end, 'x.logsumexp(1)')
add('cumsum', function(x) return x:cumsum(2) end, 'x.cumsum(1)')
add('cumprod', function(x) return x:cumprod(2) end, 'x.cumprod(1)')
add('cummax', function(x) return x:cummax(2) end, 'list(x.cummax(1))', 2)
add('cummin', function(x) return x:cummin(2) end, 'list(x.cummin(1))', 2)
add('logcumsumexp', function(x) return x:logcumsumexp(2) end, 'x.logcumsumexp(1)')
add('sort', function(x) return x:sort(2, { stable = true }) end, 'list(x.sort(dim=1, stable=True))', 2)
add('argsort', function(x) return x:argsort(2, { stable = true }) end, 'x.argsort(dim=1, stable=True)', 1)
add('topk', function(x) return x:topk(2, 2) end, 'list(x.topk(2, 1))', 2)
add('kthvalue', function(x) return x:kthvalue(2, 2) end, 'list(x.kthvalue(2, 1))', 2)
add('unique', function(x) return x:unique() end, 'x.unique()')
add('nonzero', function(x) return x:nonzero() end, 'x.nonzero()', 1)
add('flip', function(x) return x:flip(1) end, 'x.flip(0)')
add('roll', function(x) return x:roll(1, 2) end, 'x.roll(1, 1)')
add('tril', function(x) return x:tril() end, 'x.tril()')
add('triu', function(x) return x:triu(1) end, 'x.triu(1)')
add('clamp', function(x) return x:clamp(-1, 2) end, 'x.clamp(-1, 2)')
add('where', function(x, y) return torch.where(x:gt(y), x, y) end, 'torch.where(x > y, x, y)')
add('masked_fill', function(x, y) return x:masked_fill(y:ne(y:flip(1)), 1) end, 'x.masked_fill(y != y.flip(0), 1)')
add('gather', function(x) return x:gather(2, torch.tensor({ { 1, 2 }, { 4, 3 } })) end, 'x.gather(1, torch.tensor([[0, 1], [3, 2]]))')
add('index_select', function(x) return x:index_select(2, torch.tensor({ 4, 1 })) end, 'x.index_select(1, torch.tensor([3, 0]))')
add('cat', function(x, y) return torch.cat({ x, y }, 2) end, 'torch.cat([x, y], 1)')
add('mm', function(x, y) return x:mm(y:t()) end, 'x.mm(y.t())')
add('matmul', function(x, y) return x:matmul(y:t()) end, 'x.matmul(y.t())')
add('dot', function(x, y) return x[1]:dot(y[1]) end, 'x[0].dot(y[0])')
add('mv', function(x, y) return x:mv(y[1]) end, 'x.mv(y[0])')
add('outer', function(x, y) return x[1]:outer(y[2]) end, 'x[0].outer(y[1])')
add('bmm', function(x, y) return x:unsqueeze(1):bmm(y:t():unsqueeze(1)) end, 'x.unsqueeze(0).bmm(y.t().unsqueeze(0))')
add('addmm', function(x, y) return torch.addmm(x:mm(y:t()), x, y:t()) end, 'torch.addmm(x.mm(y.t()), x, y.t())')
add('kron', function(x, y) return torch.kron(x, y) end, 'torch.kron(x, y)')
add('diag', function(x) return x:diag() end, 'x.diag()')
add('trace', function(x) return x:narrow(2, 1, 2):trace() end, 'x[:, :2].trace()')
add('histc', function(x) return x:histc(4, -4, 4) end, 'x.histc(4, -4, 4)')
add('searchsorted', function(x, y) return torch.searchsorted(y[1]:sort(), x) end, 'torch.searchsorted(y[0].sort().values, x)', 'all')
add('lerp', function(x, y) return x:lerp(y, 0.5) end, 'x.lerp(y, 0.5)')
add('addcmul', function(x, y) return x:addcmul(y, y) end, 'x.addcmul(y, y)')
add('addcdiv', function(x, y) return x:addcdiv(y, y) end, 'x.addcdiv(y, y)')
add('renorm', function(x) return x:renorm(2, 1, 1) end, 'x.renorm(2, 0, 1)')
add('quantile', function(x) return x:quantile(0.5) end, 'x.quantile(0.5)')
add('cross', function(x, y) return x:narrow(2, 1, 3):cross(y:narrow(2, 1, 3), 2) end, 'x[:, :3].cross(y[:, :3], 1)')
add('diff', function(x) return x:diff() end, 'x.diff()')
add('softmax', function(x) return x:softmax(2) end, 'x.softmax(1)')
add('log_softmax', function(x) return x:log_softmax(2) end, 'x.log_softmax(1)')
add('cov', function(x) return x:cov() end, 'x.cov()')
add('rot90', function(x) return x:rot90() end, 'x.rot90()')
add('repeat_interleave', function(x) return x:repeat_interleave(2, 2) end, 'x.repeat_interleave(2, 1)')
add('isin', function(x, y) return torch.isin(x, y) end, 'torch.isin(x, y)')
add('bucketize', function(x, y) return torch.bucketize(x, y[1]:sort()) end, 'torch.bucketize(x, y[0].sort().values)', 'all')

add('norm p=1', function(x) return x:norm(1) end, 'x.norm(1)')
local idx = torch.tensor({ { 2, 1, 4, 3 }, { 1, 1, 2, 2 } })
add('scatter', function(x, y) return x:scatter(2, idx, y) end, 'x.scatter(1, idx - 1, y)')
add('scatter_add', function(x, y) return x:scatter_add(2, idx, y) end, 'x.scatter_add(1, idx - 1, y)')
add('scatter_reduce amax', function(x, y) return x:scatter_reduce(2, idx, y, 'amax') end,
    "x.scatter_reduce(1, idx - 1, y, 'amax')")
add('index_add', function(x, y) return x:index_add(1, torch.tensor({ 2, 1 }), y) end, 'x.index_add(0, torch.tensor([1, 0]), y)')
add('index_copy', function(x, y) return x:index_copy(1, torch.tensor({ 2, 1 }), y) end, 'x.index_copy(0, torch.tensor([1, 0]), y)')
add('index_fill', function(x) return x:index_fill(2, torch.tensor({ 2 }), 1) end, 'x.index_fill(1, torch.tensor([1]), 1)')
add('masked_scatter', function(x, y) return x:masked_scatter(y:ne(y:flip(1)), y) end, 'x.masked_scatter(y != y.flip(0), y)')
add('take', function(x) return x:take(torch.tensor({ 8, 1, 3 })) end, 'x.take(torch.tensor([7, 0, 2]))')
add('put', function(x, y) return x:put(torch.tensor({ 8, 1 }), y[1]:narrow(1, 1, 2)) end, 'x.put(torch.tensor([7, 0]), y[0][:2])')
add('diagonal', function(x) return x:diagonal(1) end, 'x.diagonal(1)')
add('diag_embed', function(x) return x:diag_embed() end, 'x.diag_embed()')
add('einsum', function(x, y) return torch.einsum('ij,kj->ik', x, y) end, "torch.einsum('ij,kj->ik', x, y)")
add('tensordot', function(x, y) return torch.tensordot(x, y, { { 2 }, { 2 } }) end, 'torch.tensordot(x, y, ([1], [1]))')
add('inner', function(x, y) return torch.inner(x, y) end, 'torch.inner(x, y)')
add('addmv', function(x, y) return torch.addmv(x[1]:narrow(1, 1, 2), x, y[1]) end, 'torch.addmv(x[0][:2], x, y[0])')
add('addr', function(x, y) return torch.addr(x, x[1]:narrow(1, 1, 2), y[1]) end, 'torch.addr(x, x[0][:2], y[0])')
add('baddbmm', function(x, y) return torch.baddbmm(x:mm(y:t()):unsqueeze(1), x:unsqueeze(1), y:t():unsqueeze(1)) end,
    'torch.baddbmm(x.mm(y.t()).unsqueeze(0), x.unsqueeze(0), y.t().unsqueeze(0))')
add('matrix_power', function(x, y) return x:narrow(2, 1, 2):matrix_power(3) end, 'x[:, :2].matrix_power(3)')
add('det', function(x, y) return x:narrow(2, 1, 2):det() end, 'x[:, :2].det()')
add('inverse', function(x, y) return (x:narrow(2, 3, 2) + y:narrow(2, 1, 2)):inverse() end, '(x[:, 2:] + y[:, :2]).inverse()')
add('cumulative_trapezoid', function(x) return torch.cumulative_trapezoid(x) end, 'torch.cumulative_trapezoid(x)')
add('trapezoid', function(x) return torch.trapezoid(x) end, 'torch.trapezoid(x)')
add('vander', function(x) return torch.vander(x[1], 3) end, 'torch.vander(x[0], 3)')
add('block_diag', function(x, y) return torch.block_diag(x, y) end, 'torch.block_diag(x, y)')
add('cartesian_prod', function(x, y) return torch.cartesian_prod(x[1], y[1]) end, 'torch.cartesian_prod(x[0], y[0])')
add('zeros_like', function(x) return torch.zeros_like(x) end, 'torch.zeros_like(x)')
add('full_like', function(x) return torch.full_like(x, 1) end, 'torch.full_like(x, 1)')
add('arange of the dtype', function(x) return torch.arange(1, 5, { dtype = x:dtype() }) end, 'torch.arange(1, 5, dtype=x.dtype)')
add('linspace of the dtype', function(x) return torch.linspace(0, 6, 4, { dtype = x:dtype() }) end,
    'torch.linspace(0, 6, 4, dtype=x.dtype)')
add('eye of the dtype', function(x) return torch.eye(3, { dtype = x:dtype() }) end, 'torch.eye(3, dtype=x.dtype)')
add('where scalar', function(x, y) return torch.where(x:gt(y), x, 1) end, 'torch.where(x > y, x, 1)')
add('bincount-free: histc', function(x) return x:histc(3, 0, 3) end, 'x.histc(3, 0, 3)')
add('count_nonzero dim', function(x) return x:count_nonzero(2) end, 'x.count_nonzero(1)')
add('std_mean', function(x) return torch.std_mean(x, 2) end, 'list(torch.std_mean(x, 1))')
add('aminmax', function(x) return torch.aminmax(x) end, 'list(torch.aminmax(x))')
add('unique_consecutive', function(x) return x:reshape(-1):unique_consecutive() end, 'x.reshape(-1).unique_consecutive()')
add('nan_to_num', function(x) return x:nan_to_num(0) end, 'x.nan_to_num(0)')
add('clamp tensor bounds', function(x, y) return x:clamp(y:neg(), y) end, 'x.clamp(-y, y)')
add('sign of unsigned', function(x) return x:sign() end, 'x.sign()')
add('remainder by number', function(x) return x:remainder(-3) end, 'x.remainder(-3)')
add('floor_divide by number', function(x) return x:floor_divide(-3) end, 'x.floor_divide(-3)')
add('pow by tensor', function(x, y) return x:pow(y) end, 'x.pow(y)')
add('number pow tensor', function(x, y) return torch.pow(2, y) end, 'torch.pow(2, y)')
add('rsub', function(x, y) return torch.rsub(x, y) end, 'torch.rsub(x, y)')
add('true_divide by number', function(x) return x:true_divide(4) end, 'x.true_divide(4)')

-- The kernel-backed nn functions over the float dtypes (x: a batch of images, or rows of classes)
local NN_DTYPES = { 'float16', 'bfloat16', 'float32', 'float64' }
local nn_ops = {}
local function nn_add(name, inputs, lua, py) nn_ops[#nn_ops + 1] = { name = name, inputs = inputs, lua = lua, py = py } end
torch.manual_seed(3)
local images = { torch.randn(2, 3, 6, 6, { dtype = 'float64' }), torch.randn(4, 3, 3, 3, { dtype = 'float64' }) }
local rows = { torch.randn(4, 5, { dtype = 'float64' }), torch.randn(3, 5, { dtype = 'float64' }) }
local targets = torch.tensor({ 1, 3, 2, 3 })
nn_add('conv2d', images, function(x, w) return F.conv2d(x, w, nil, 1, 1) end, 'F.conv2d(x, w, None, 1, 1)')
nn_add('conv_transpose2d', images, function(x, w) return F.conv_transpose2d(x, w:transpose(1, 2)) end,
       'F.conv_transpose2d(x, w.transpose(0, 1))')
nn_add('max_pool2d', images, function(x) return F.max_pool2d(x, 2) end, 'F.max_pool2d(x, 2)')
nn_add('avg_pool2d', images, function(x) return F.avg_pool2d(x, 2) end, 'F.avg_pool2d(x, 2)')
nn_add('adaptive_avg_pool2d', images, function(x) return F.adaptive_avg_pool2d(x, 2) end, 'F.adaptive_avg_pool2d(x, 2)')
nn_add('batch_norm', images, function(x) return F.batch_norm(x, nil, nil, nil, nil, true) end,
       'F.batch_norm(x, None, None, training=True)')
nn_add('layer_norm', images, function(x) return F.layer_norm(x, { 6 }) end, 'F.layer_norm(x, [6])')
nn_add('group_norm', images, function(x) return F.group_norm(x, 3) end, 'F.group_norm(x, 3)')
nn_add('interpolate bilinear', images, function(x) return F.interpolate(x, { scale_factor = 2, mode = 'bilinear' }) end,
       "F.interpolate(x, scale_factor=2, mode='bilinear')")
nn_add('pad reflect', images, function(x) return F.pad(x, { 1, 1, 1, 1 }, 'reflect') end, "F.pad(x, [1, 1, 1, 1], 'reflect')")
for _, name in ipairs({ 'gelu', 'silu', 'softplus', 'elu', 'leaky_relu', 'hardtanh', 'logsigmoid', 'mish' }) do
  nn_add(name, images, function(x) return F[name](x) end, 'F.' .. name .. '(x)')
end
nn_add('linear', rows, function(x, w) return F.linear(x, w) end, 'F.linear(x, w)')
nn_add('softmax', rows, function(x) return F.softmax(x, 2) end, 'F.softmax(x, 1)')
nn_add('log_softmax', rows, function(x) return F.log_softmax(x, 2) end, 'F.log_softmax(x, 1)')
nn_add('cross_entropy', rows, function(x) return F.cross_entropy(x:narrow(2, 1, 3), targets) end,
       'F.cross_entropy(x[:, :3], t - 1)')
nn_add('nll_loss', rows, function(x) return F.nll_loss(x:narrow(2, 1, 3), targets) end, 'F.nll_loss(x[:, :3], t - 1)')
nn_add('mse_loss', rows, function(x, w) return F.mse_loss(x:narrow(1, 1, 3), w) end, 'F.mse_loss(x[:3], w)')
nn_add('binary_cross_entropy_with_logits', rows, function(x, w)
  return F.binary_cross_entropy_with_logits(x:narrow(1, 1, 3), w:sigmoid()) end,
  'F.binary_cross_entropy_with_logits(x[:3], w.sigmoid())')
nn_add('embedding', rows, function(x, w) return F.embedding(targets, w) end, 'F.embedding(t - 1, w)')
nn_add('normalize', rows, function(x) return F.normalize(x) end, 'F.normalize(x)')

local function snippet(py)
  return ([[
import torch.nn.functional as F, warnings
warnings.filterwarnings('ignore')
try:
    out = {'ok': True, 'r': %s}
except Exception as e:
    out = {'ok': False, 'err': str(e).split('\n')[0][:100]}
]]):format(py)
end

-- the PyTorch side of every pair, in one process
local batch, pairs_list = {}, {}
for _, op in ipairs(ops) do
  for _, dt in ipairs(DTYPES) do
    local x, y = data(dt, 1), data(dt, 2)
    batch[#batch + 1] = { snippet(op.py), { x = x, y = y } }
    pairs_list[#pairs_list + 1] = { op = op, dt = dt, call = function() return op.lua(x, y) end }
  end
end
for _, op in ipairs(nn_ops) do
  for _, dt in ipairs(NN_DTYPES) do
    local x, w = op.inputs[1]:to(dt), op.inputs[2]:to(dt)
    batch[#batch + 1] = { snippet(op.py), { x = x, w = w, t = targets } }
    pairs_list[#pairs_list + 1] = { op = op, dt = dt, nn = true, call = function() return op.lua(x, w) end }
  end
end
local results = ref.batch(batch)

-- the mismatches of one pair: nil when it holds
local function check(pair, want)
  local tag = pair.op.name .. ' ' .. pair.dt
  if not want.ok or EXCEPTIONS[tag] then return nil end
  local ok, got = pcall(function() return { pair.call() } end)
  if not ok then return tag .. ': refused (PyTorch accepts): ' .. tostring(got) end
  local w = want.r
  if type(w) ~= 'table' or w.values then w = { w } end
  for i = 1, #w do
    local g, wi = got[i], w[i]
    local index = pair.op.idx == i or pair.op.idx == 'all'
    if torch.is_tensor(g) then
      if index then g = g - 1 end
      if g:dtype() ~= wi.dtype then return ('%s: result %d is %s, PyTorch %s'):format(tag, i, g:dtype(), wi.dtype) end
      local tol = ref.tolerance(wi.dtype)
      if pair.nn and (pair.dt == 'float16' or pair.dt == 'bfloat16') then tol = { atol = 5e-2, rtol = 5e-2 } end
      local same, msg = ref.compare(g, wi, tol)
      if not same then return ('%s: result %d: %s'):format(tag, i, msg) end
    else
      -- a Lua number or boolean where PyTorch gives a 0-d tensor
      local v, wv = g, wi.values[1]
      if index then v = v - 1 end
      local close = v == wv or (v ~= v and wv ~= wv)
        or (type(v) == 'number' and type(wv) == 'number' and math.abs(v - wv) <= 1e-2 * (1 + math.abs(wv)))
      if not close then return ('%s: result %d is %s, PyTorch %s'):format(tag, i, tostring(v), tostring(wv)) end
    end
  end
  return nil
end

describe('every dtype PyTorch takes', function()
  local by_op, order = {}, {}
  for k, pair in ipairs(pairs_list) do
    local name = (pair.nn and 'F.' or '') .. pair.op.name
    if not by_op[name] then by_op[name] = {} order[#order + 1] = name end
    table.insert(by_op[name], { pair = pair, want = results[k] })
  end
  for _, name in ipairs(order) do
    it(name .. ' takes, with PyTorch\'s results', function()
      local problems = {}
      for _, entry in ipairs(by_op[name]) do problems[#problems + 1] = check(entry.pair, entry.want) end
      assert(#problems == 0, table.concat(problems, '\n'))
    end)
  end
  it('lists only exceptions that PyTorch accepts', function()
    local accepted = {}
    for k, pair in ipairs(pairs_list) do
      if results[k].ok then accepted[pair.op.name .. ' ' .. pair.dt] = true end
    end
    for tag in pairs(EXCEPTIONS) do assert(accepted[tag], tag .. ' is listed, yet PyTorch refuses it') end
  end)
end)
