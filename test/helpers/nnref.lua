-- helpers.nnref: runs an nn module here and the same module in PyTorch (same weights, same inputs) and
-- compares outputs and gradients. Used by the nn specs.
--
--   local cases = nnref.new()
--   cases:add{ name = 'Linear', build = function() return nn.Linear(5, 3) end, py = 'nn.Linear(5, 3)',
--              inputs = { torch.randn(4, 5) } }
--   cases:run()   -- inside a describe(): one Python process for all cases, one it() per case
--
-- A case: build() makes our module; py is the PyTorch constructor (evaluated with torch, nn, F in scope, after
-- the optional py_setup, e.g. a class definition);
-- inputs is a list of tensors (x1, x2, ... in Python); call(m, x1, ...) runs ours (default m(x1, ...)) and
-- py_call the PyTorch one (default 'm(x1, ...)'); py_pre is Python run before the call (e.g. 'x2 = x2 - 1'
-- to make 1-based ids 0-based). grad_inputs lists the inputs that get gradients (default: every floating
-- one). dtype (default float64) converts the module and floating inputs; train (default true) picks the
-- mode. Every output tensor (nested tables/tuples flattened, nils skipped) gets a random weight; the loss
-- sum_j <out_j, w_j> is backpropagated on both sides and the outputs, the input gradients, every
-- parameter's gradient and the buffers afterwards are compared. Our state dict is loaded into PyTorch's
-- module with strict=True and the key lists (in order) must be equal: PyTorch's names are ours.
local torch = require 'tensor'
local ref = require 'helpers.torchref'
local assert = require 'luassert'

local M = {}

local PRELUDE = [[
import warnings, collections
warnings.filterwarnings('ignore')
import torch.nn as nn
import torch.nn.functional as F
def _flat(r):
    if r is None: return []
    if isinstance(r, torch.Tensor): return [r]
    out = []
    for v in r: out += _flat(v)
    return out
]]

-- Tolerances for a dtype, widened by scale.
function M.tol(dtype, scale)
  scale = scale or 1
  if dtype == 'float64' then return { atol = 1e-11 * scale, rtol = 1e-9 * scale } end
  return { atol = 2e-5 * scale, rtol = 2e-4 * scale }
end

-- Flattens nested lists of tensors (multiple results, LSTM's {h, c}) into one list; skips nils.
function M.flatten(list, n, out)
  out = out or {}
  for i = 1, n or table.maxn(list) do
    local v = list[i]
    if torch.is_tensor(v) then
      out[#out + 1] = v
    elseif type(v) == 'table' then
      M.flatten(v, nil, out)
    end
  end
  return out
end

local Cases = {}
Cases.__index = Cases

function M.new() return setmetatable({ list = {} }, Cases) end

local function py_names(prefix, n)
  local names = {}
  for i = 1, n do names[i] = prefix .. i end
  return table.concat(names, ', ')
end

-- Runs our side of a case: returns a table of results, and adds the Python snippet to `batch`.
local function prepare(c)
  local dtype = c.dtype or 'float64'
  local m = c.build()
  m:to(dtype)
  if c.train == false then m:eval() else m:train() end
  local inputs, grad_set = {}, {}
  for i, x in ipairs(c.inputs) do
    if x:is_floating_point() and x:dtype() ~= dtype then x = x:to(dtype) end
    inputs[i] = x
  end
  local grad_list = c.grad_inputs
  if not grad_list then
    grad_list = {}
    for i, x in ipairs(inputs) do
      if x:is_floating_point() then grad_list[#grad_list + 1] = i end
    end
  end
  for _, i in ipairs(grad_list) do
    inputs[i] = inputs[i]:detach():clone():requires_grad_()
    grad_set[i] = true
  end
  -- the state before the call goes to PyTorch
  local state = m:state_dict_keys()
  local py_inputs, sd_parts = {}, {}
  for k, entry in ipairs(state) do
    py_inputs['s' .. k] = entry[2]:clone()
    sd_parts[k] = string.format('(%q, s%d)', entry[1], k)
  end
  for i, x in ipairs(inputs) do py_inputs['x' .. i] = x:detach() end
  -- our forward and backward
  local results = { n = 0 }
  local call = c.call or function(mod, ...) return mod(...) end
  local outs = M.flatten({ call(m, unpack(inputs, 1, #c.inputs)) }, nil)
  local loss
  for j, y in ipairs(outs) do
    local w = torch.randn(y:shape(), { dtype = y:dtype() })
    py_inputs['w' .. j] = w
    local term = (y * w):sum()
    loss = loss and loss + term or term
  end
  if loss and loss.requires_grad then loss:backward() end
  local ours = { outs = outs, gin = {}, gp = {}, buf = {}, keys = {} }
  for _, i in ipairs(grad_list) do ours.gin[#ours.gin + 1] = inputs[i].grad or false end
  for name, p in m:named_parameters() do ours.gp[name] = p.grad or false end
  for name, b in m:named_buffers() do ours.buf[name] = b end
  for k, entry in ipairs(state) do ours.keys[k] = entry[1] end
  -- PyTorch's side
  local grads_py = {}
  for _, i in ipairs(grad_list) do grads_py[#grads_py + 1] = 'x' .. i end
  local py_call = c.py_call or string.format('m(%s)', py_names('x', #inputs))
  local code = table.concat({
    PRELUDE,
    'torch.manual_seed(0)',
    c.py_setup or '',
    'm = ' .. c.py,
    string.format('m = m.to(torch.%s)', dtype),
    'keys_pt = list(m.state_dict().keys())',
    'sd = collections.OrderedDict([' .. table.concat(sd_parts, ', ') .. '])',
    'try:',
    '    m.load_state_dict(sd, strict=True)',
    'except Exception as e:',
    "    return {'error': str(e), 'keys': keys_pt}",
    c.train == false and 'm.eval()' or 'm.train()',
    c.py_pre or '',
    'for _x in [' .. table.concat(grads_py, ', ') .. ']: _x.requires_grad_()',
    'outs = _flat(' .. py_call .. ')',
    string.format('ws = [%s]', py_names('w', #outs)),
    'if len(outs) != len(ws):',
    "    return {'error': 'PyTorch gave %d outputs, ours %d' % (len(outs), len(ws)), 'keys': keys_pt}",
    'loss = sum((o * w).sum() for o, w in zip(outs, ws)) if outs else None',
    'if loss is not None and loss.requires_grad: loss.backward()',
    "gin = [x.grad if x.grad is not None else False for x in [" .. table.concat(grads_py, ', ') .. ']]',
    "gp = {n: (p.grad if p.grad is not None else False) for n, p in m.named_parameters()}",
    "buf = {n: b for n, b in m.named_buffers()}",
    "out = {'outs': outs, 'gin': gin, 'gp': gp, 'buf': buf, 'keys': keys_pt}",
  }, '\n')
  return ours, { code = code, inputs = py_inputs }
end

function Cases:add(c) self.list[#self.list + 1] = c end

-- Compares our results with PyTorch's; raises an assertion error naming the first mismatch.
function M.check(c, ours, theirs)
  assert(theirs.error == nil, 'PyTorch: ' .. tostring(theirs.error))
  local dtype = c.dtype or 'float64'
  local tol = c.tol or M.tol(dtype, c.scale)
  assert.are.same(theirs.keys, ours.keys)
  assert.are.equal(#theirs.outs, #ours.outs)
  local function cmp(what, t, e)
    if e == false or t == false then
      local zero = (e == false and t ~= false and t:abs():max() == 0) or
        (t == false and e ~= false and ref.compare(torch.zeros(e.shape, { dtype = e.dtype }), e))
      assert(e == t or zero, what .. (e == false and ': PyTorch has no gradient' or ': we have no gradient'))
      return
    end
    local ok, msg = ref.compare(t, e, tol)
    assert(ok, what .. ': ' .. tostring(msg))
  end
  for j = 1, #ours.outs do cmp('output ' .. j, ours.outs[j], theirs.outs[j]) end
  assert.are.equal(#theirs.gin, #ours.gin)
  for j = 1, #ours.gin do cmp('gradient of input ' .. j, ours.gin[j], theirs.gin[j]) end
  local n = 0
  for name, g in pairs(ours.gp) do
    n = n + 1
    assert(theirs.gp[name] ~= nil, 'PyTorch has no parameter ' .. name)
    cmp('gradient of ' .. name, g, theirs.gp[name])
  end
  for _ in pairs(theirs.gp) do n = n - 1 end
  assert.are.equal(0, n, 'parameter lists differ')
  for name, b in pairs(ours.buf) do
    assert(theirs.buf[name] ~= nil, 'PyTorch has no buffer ' .. name)
    cmp('buffer ' .. name, b, theirs.buf[name])
  end
end

-- Runs every case here, PyTorch once for all of them, and defines one it() per case. `extra` (optional) is a list
-- of further ref.batch snippets to run in the same Python process; their results are returned in order.
function Cases:run(extra)
  local it = getfenv(2).it
  local prepared, batch = {}, {}
  for i, c in ipairs(self.list) do
    local ok, ours, snippet = xpcall(function() return prepare(c) end, debug.traceback)
    if ok then
      prepared[i] = ours
      batch[#batch + 1] = snippet
      c._slot = #batch
    else
      prepared[i] = { error = ours }
    end
  end
  local n_cases = #batch
  for _, snippet in ipairs(extra or {}) do batch[#batch + 1] = snippet end
  local results = ref.batch(batch)
  for i, c in ipairs(self.list) do
    it(c.name, function()
      assert(prepared[i].error == nil, 'ours failed: ' .. tostring(prepared[i].error))
      M.check(c, prepared[i], results[c._slot])
    end)
  end
  local extra_results = {}
  for k = 1, #(extra or {}) do extra_results[k] = results[n_cases + k] end
  return extra_results
end

-- nn.functional calls wrapped in a module on both sides: nnref.Fn(f) here, PY_FN's Fn(f) in the Python setup.
M.PY_FN = [[
class Fn(nn.Module):
    def __init__(self, f):
        super().__init__()
        self.f = f
    def forward(self, *args):
        return self.f(*args)
]]
local FnClass
function M.Fn(f)
  if not FnClass then
    FnClass = require('tensor.nn').Module:extend('Fn')
    function FnClass:init(fn) self.f = fn end
    function FnClass:forward(...) return self.f(...) end
  end
  return FnClass(f)
end

return M
