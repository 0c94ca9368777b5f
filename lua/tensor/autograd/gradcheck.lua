-- tensor.autograd.gradcheck: compares analytic gradients with central finite differences.
--
-- gradcheck(fn, inputs, {eps=1e-6, atol=1e-5, rtol=1e-3, raise=true}): inputs is a list (or one tensor);
-- those that require grad are checked. Use float64: float32 differences are too coarse. Returns true, or
-- raises an error (false and the message with raise=false) naming the input, the output and the element.
local core = require 'tensor.core'
local mode = require 'tensor.autograd.mode'

local torch, is_tensor = core.torch, core.is_tensor

local M = {}

local function as_list(v)
  if is_tensor(v) then return { v } end
  return v
end

-- The outputs of fn as a list of tensors.
local function outputs_of(fn, inputs)
  local out = { fn(unpack(inputs, 1, table.maxn(inputs))) }
  local list = {}
  for _, o in ipairs(out) do
    -- reductions give numbers when they do not record (gradcheck's finite differences run under no_grad)
    if type(o) == 'number' then o = torch.tensor(o, { dtype = 'float64' }) end
    if is_tensor(o) then list[#list + 1] = o elseif type(o) == 'table' then
      for _, t in ipairs(o) do list[#list + 1] = t end
    end
  end
  return list
end

local function flat_values(t)
  local flat = t:detach():contiguous():view(-1):double()
  return flat:numel() > 0 and flat:tolist() or {}
end

local function fail(opts, msg)
  if opts.raise == false then return false, msg end
  error('gradcheck: ' .. msg, 3)
end

function M.gradcheck(fn, inputs, opts)
  opts = opts or {}
  inputs = as_list(inputs)
  local eps, atol, rtol = opts.eps or 1e-6, opts.atol or 1e-5, opts.rtol or 1e-3
  for j, input in ipairs(inputs) do
    if is_tensor(input) and input.requires_grad then
      if input:dtype() ~= 'float64' and not opts.allow_float then
        return fail(opts, string.format('input %d is %s; use float64 for finite differences', j, input:dtype()))
      end
      local n = input:numel()
      -- analytic Jacobian, row by row (grad of output element r), on a fresh graph
      local outputs = outputs_of(fn, inputs)
      local analytic = {}
      for k, out in ipairs(outputs) do
        analytic[k] = {}
        for r = 1, out:numel() do
          local go = torch.zeros_like(out)
          go:view(-1)[r] = 1
          local g = torch.autograd.grad({ out }, { input }, { grad_outputs = { go }, retain_graph = true,
                                                             allow_unused = true })[1]
          analytic[k][r] = g and flat_values(g) or {}
        end
      end
      -- numerical Jacobian, column by column (perturbing input element e, in row-major order; the input may
      -- be non-contiguous, so each element is reached through a 0-d view)
      local base, shape = input:detach(), input:shape()
      for e = 1, n do
        local element, rest = base, e - 1
        for d = 1, #shape do
          local stride = 1
          for k = d + 1, #shape do stride = stride * shape[k] end
          local i = math.floor(rest / stride)
          rest = rest - i * stride
          element = element:select(1, i + 1)
        end
        local saved = element:item()
        local plus, minus
        torch.no_grad(function()
          element:fill_(saved + eps)
          plus = outputs_of(fn, inputs)
          element:fill_(saved - eps)
          minus = outputs_of(fn, inputs)
          element:fill_(saved)
        end)
        for k = 1, #outputs do
          local p, m = flat_values(plus[k]), flat_values(minus[k])
          for r = 1, #p do
            local a, b = analytic[k][r][e] or 0, (p[r] - m[r]) / (2 * eps)
            if not (math.abs(a - b) <= atol + rtol * math.abs(b)) then
              return fail(opts, string.format('input %d element %d, output %d element %d: analytic %.10g, ' ..
                                              'numerical %.10g', j, e, k, r, a, b))
            end
          end
        end
      end
    end
  end
  return true
end

-- Checks second derivatives: gradcheck of (inputs, grad_outputs) -> grad(fn(inputs), inputs, grad_outputs).
function M.gradgradcheck(fn, inputs, opts)
  opts = opts or {}
  inputs = as_list(inputs)
  local outputs = outputs_of(fn, inputs)
  local grad_outputs = {}
  for k, out in ipairs(outputs) do
    grad_outputs[k] = torch.randn(out:shape(), { dtype = out:dtype() }):requires_grad_()
  end
  local n_in = table.maxn(inputs)
  -- grad mode stays on inside, even while gradcheck evaluates it under no_grad for finite differences
  local function first_derivatives(...)
    return mode.with(true, function(...)
      local all = { ... }
      local xs = { unpack(all, 1, n_in) }
      local gos = { unpack(all, n_in + 1, n_in + #grad_outputs) }
      local wrt = {}
      for _, t in ipairs(xs) do
        if is_tensor(t) and t.requires_grad then wrt[#wrt + 1] = t end
      end
      return torch.autograd.grad(outputs_of(fn, xs), wrt, { grad_outputs = gos, create_graph = true, allow_unused = true })
    end, ...)
  end
  local all_inputs = {}
  for i = 1, n_in do all_inputs[i] = inputs[i] end
  for k, g in ipairs(grad_outputs) do all_inputs[n_in + k] = g end
  return M.gradcheck(first_derivatives, all_inputs, opts)
end

return M
