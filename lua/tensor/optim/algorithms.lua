-- tensor.optim.algorithms: SGD, Adam, AdamW, RMSprop, Adagrad and Adadelta with PyTorch's update rules
-- (the single-tensor, non-fused code paths of torch.optim), so 20 steps here match 20 steps there.
local torch = require 'tensor'
local core = require 'tensor.core'
local Optimizer = require 'tensor.optim.optimizer'

local C, check = core.C, core.check

local M = {}

local function define(name, defaults, update, check)
  local class = setmetatable({ name = name }, { __index = Optimizer })
  class.__index = class
  class.update = update
  class.new = function(params, opts)
    if check then check(name, opts or {}) end
    return Optimizer.new(class, params, opts, defaults)
  end
  setmetatable(class, { __index = Optimizer, __call = function(_, params, opts) return class.new(params, opts) end })
  M[name] = class
  return class
end

local function non_negative(name, opts, key)
  local v = opts[key]
  if v ~= nil and (type(v) ~= 'number' or v < 0) then
    error(string.format('optim.%s: %s must be a non-negative number, got %s', name, key, tostring(v)), 4)
  end
end

local function check_common(name, opts)
  for _, key in ipairs({ 'lr', 'weight_decay', 'momentum', 'eps' }) do non_negative(name, opts, key) end
  if opts.betas then
    local b1, b2 = opts.betas[1], opts.betas[2]
    if type(b1) ~= 'number' or b1 < 0 or b1 >= 1 or type(b2) ~= 'number' or b2 < 0 or b2 >= 1 then
      error(string.format('optim.%s: betas must be two numbers in [0, 1), got {%s, %s}', name, tostring(b1), tostring(b2)), 4)
    end
  end
end

local function direction(g, group)
  if group.maximize then return -g end
  return g
end

--- optim.SGD(params, {lr=, momentum=0, dampening=0, weight_decay=0, nesterov=false, maximize=false})
-- Stochastic gradient descent with optional (Nesterov) momentum, as torch.optim.SGD.
define('SGD', { lr = 1e-3, momentum = 0, dampening = 0, weight_decay = 0, nesterov = false, maximize = false },
  function(self, p, g, group, state)
    g = direction(g, group)
    if group.weight_decay ~= 0 then g = g:add(p, group.weight_decay) end
    local momentum = group.momentum
    if momentum ~= 0 then
      local buf = state.momentum_buffer
      if buf == nil then
        buf = g:clone()
        state.momentum_buffer = buf
      elseif group.dampening == 0 and not group.nesterov then
        -- buf = g + momentum * buf and p = p - lr * buf in one pass over the three tensors
        check(C.tn_sgd_momentum_(p._c, g._c, buf._c, group.lr, momentum))
        return
      elseif group.dampening == 0 then
        torch.add(g, buf, { alpha = momentum, out = buf }) -- buf = momentum * buf + g in one pass, not two
      else
        buf:mul_(momentum):add_(g, 1 - group.dampening)
      end
      if group.nesterov then g = g:add(buf, momentum) else g = buf end
    end
    p:add_(g, -group.lr)
  end,
  function(name, opts)
    check_common(name, opts)
    if opts.nesterov and ((opts.momentum or 0) <= 0 or (opts.dampening or 0) ~= 0) then
      error('optim.SGD: nesterov momentum needs momentum > 0 and dampening = 0', 4)
    end
  end)

local function adam_update(decoupled)
  return function(self, p, g, group, state)
    g = direction(g, group)
    local beta1, beta2 = group.betas[1], group.betas[2]
    if state.step == nil then
      state.step = 0
      state.exp_avg = torch.zeros_like(p)
      state.exp_avg_sq = torch.zeros_like(p)
      if group.amsgrad then state.max_exp_avg_sq = torch.zeros_like(p) end
    end
    state.step = state.step + 1
    local step = state.step
    if group.weight_decay ~= 0 then
      if decoupled then p:mul_(1 - group.lr * group.weight_decay) else g = g:add(p, group.weight_decay) end
    end
    state.exp_avg:lerp_(g, 1 - beta1)
    state.exp_avg_sq:mul_(beta2):addcmul_(g, g, 1 - beta2)
    local bias_correction1 = 1 - beta1 ^ step
    local bias_correction2 = 1 - beta2 ^ step
    local step_size = group.lr / bias_correction1
    local bias_correction2_sqrt = math.sqrt(bias_correction2)
    local denom
    if group.amsgrad then
      state.max_exp_avg_sq:maximum_(state.exp_avg_sq)
      denom = (state.max_exp_avg_sq:sqrt() / bias_correction2_sqrt):add_(group.eps)
    else
      denom = (state.exp_avg_sq:sqrt() / bias_correction2_sqrt):add_(group.eps)
    end
    p:addcdiv_(state.exp_avg, denom, -step_size)
  end
end

--- optim.Adam(params, {lr=1e-3, betas={0.9, 0.999}, eps=1e-8, weight_decay=0, amsgrad=false, maximize=false})
-- Adam as torch.optim.Adam (weight decay added to the gradient).
define('Adam', { lr = 1e-3, betas = { 0.9, 0.999 }, eps = 1e-8, weight_decay = 0, amsgrad = false, maximize = false },
  adam_update(false), check_common)

--- optim.AdamW(params, {lr=1e-3, betas={0.9, 0.999}, eps=1e-8, weight_decay=1e-2, amsgrad=false})
-- Adam with decoupled weight decay, as torch.optim.AdamW.
define('AdamW', { lr = 1e-3, betas = { 0.9, 0.999 }, eps = 1e-8, weight_decay = 1e-2, amsgrad = false, maximize = false },
  adam_update(true), check_common)

--- optim.RMSprop(params, {lr=1e-2, alpha=0.99, eps=1e-8, weight_decay=0, momentum=0, centered=false})
define('RMSprop', { lr = 1e-2, alpha = 0.99, eps = 1e-8, weight_decay = 0, momentum = 0, centered = false,
                    maximize = false },
  function(self, p, g, group, state)
    g = direction(g, group)
    if state.step == nil then
      state.step = 0
      state.square_avg = torch.zeros_like(p)
      if group.momentum > 0 then state.momentum_buffer = torch.zeros_like(p) end
      if group.centered then state.grad_avg = torch.zeros_like(p) end
    end
    state.step = state.step + 1
    if group.weight_decay ~= 0 then g = g:add(p, group.weight_decay) end
    local alpha = group.alpha
    state.square_avg:mul_(alpha):addcmul_(g, g, 1 - alpha)
    local avg
    if group.centered then
      state.grad_avg:lerp_(g, 1 - alpha)
      avg = state.square_avg:addcmul(state.grad_avg, state.grad_avg, -1):sqrt_():add_(group.eps)
    else
      avg = state.square_avg:sqrt():add_(group.eps)
    end
    if group.momentum > 0 then
      state.momentum_buffer:mul_(group.momentum):addcdiv_(g, avg)
      p:add_(state.momentum_buffer, -group.lr)
    else
      p:addcdiv_(g, avg, -group.lr)
    end
  end, check_common)

--- optim.Adagrad(params, {lr=1e-2, lr_decay=0, weight_decay=0, initial_accumulator_value=0, eps=1e-10})
local Adagrad = define('Adagrad', { lr = 1e-2, lr_decay = 0, weight_decay = 0, initial_accumulator_value = 0,
                                    eps = 1e-10, maximize = false },
  function(self, p, g, group, state)
    g = direction(g, group)
    state.step = state.step + 1
    if group.weight_decay ~= 0 then g = g:add(p, group.weight_decay) end
    local clr = group.lr / (1 + (state.step - 1) * group.lr_decay)
    state.sum:addcmul_(g, g, 1)
    local std = state.sum:sqrt():add_(group.eps)
    p:addcdiv_(g, std, -clr)
  end, check_common)
-- Adagrad's accumulators exist from construction (initial_accumulator_value), as in PyTorch.
function Adagrad:_init_group(group)
  for _, p in ipairs(group.params) do
    local state = self:state_of(p)
    state.step = 0
    state.sum = torch.full_like(p, group.initial_accumulator_value)
  end
end

--- optim.Adadelta(params, {lr=1.0, rho=0.9, eps=1e-6, weight_decay=0})
define('Adadelta', { lr = 1.0, rho = 0.9, eps = 1e-6, weight_decay = 0, maximize = false },
  function(self, p, g, group, state)
    g = direction(g, group)
    if state.step == nil then
      state.step = 0
      state.square_avg = torch.zeros_like(p)
      state.acc_delta = torch.zeros_like(p)
    end
    state.step = state.step + 1
    if group.weight_decay ~= 0 then g = g:add(p, group.weight_decay) end
    local rho, eps = group.rho, group.eps
    state.square_avg:mul_(rho):addcmul_(g, g, 1 - rho)
    local std = state.square_avg:add(eps):sqrt_()
    local delta = state.acc_delta:add(eps):sqrt_():div_(std):mul_(g)
    state.acc_delta:mul_(rho):addcmul_(delta, delta, 1 - rho)
    p:add_(delta, -group.lr)
  end, check_common)

return M
