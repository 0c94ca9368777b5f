-- tensor.optim.functional: Torch7's functional optimizers, x, {f} = optim.sgd(feval, x, config, state).
-- feval(x) returns f(x) and df/dx; x (usually a flat parameter tensor) is updated in place. config holds
-- the hyper-parameters under Torch7's names; state (config when omitted) keeps the optimizer's memory.
local torch = require 'tensor'

local M = {}

--- optim.sgd(feval, x, config, state) -> x, {f}
-- config: learningRate=1e-3, learningRateDecay=0, weightDecay=0, momentum=0, dampening=momentum, nesterov=false
function M.sgd(feval, x, config, state)
  config = config or {}
  state = state or config
  local lr, lrd = config.learningRate or 1e-3, config.learningRateDecay or 0
  local wd, mom = config.weightDecay or 0, config.momentum or 0
  local damp = config.dampening or mom
  local nesterov = config.nesterov or false
  state.evalCounter = state.evalCounter or 0
  if nesterov and (mom <= 0 or damp ~= 0) then error('optim.sgd: nesterov momentum needs momentum > 0 and dampening = 0', 2) end
  local fx, dfdx = feval(x)
  torch.no_grad(function()
    if wd ~= 0 then dfdx:add_(x, wd) end
    if mom ~= 0 then
      if not state.dfdx then
        state.dfdx = dfdx:clone()
      else
        state.dfdx:mul_(mom):add_(dfdx, 1 - damp)
      end
      if nesterov then dfdx:add_(state.dfdx, mom) else dfdx = state.dfdx end
    end
    local clr = lr / (1 + state.evalCounter * lrd)
    x:add_(dfdx, -clr)
  end)
  state.evalCounter = state.evalCounter + 1
  return x, { fx }
end

--- optim.adam(feval, x, config, state) -> x, {f}
-- config: learningRate=1e-3, learningRateDecay=0, beta1=0.9, beta2=0.999, epsilon=1e-8, weightDecay=0
function M.adam(feval, x, config, state)
  config = config or {}
  state = state or config
  local lr, lrd = config.learningRate or 1e-3, config.learningRateDecay or 0
  local beta1, beta2 = config.beta1 or 0.9, config.beta2 or 0.999
  local eps, wd = config.epsilon or 1e-8, config.weightDecay or 0
  local fx, dfdx = feval(x)
  torch.no_grad(function()
    if wd ~= 0 then dfdx:add_(x, wd) end
    state.t = (state.t or 0) + 1
    state.m = state.m or torch.zeros_like(dfdx)
    state.v = state.v or torch.zeros_like(dfdx)
    local clr = lr / (1 + (state.t - 1) * lrd)
    state.m:mul_(beta1):add_(dfdx, 1 - beta1)
    state.v:mul_(beta2):addcmul_(dfdx, dfdx, 1 - beta2)
    local denom = state.v:sqrt():add_(eps)
    local bias1, bias2 = 1 - beta1 ^ state.t, 1 - beta2 ^ state.t
    x:addcdiv_(state.m, denom, -clr * math.sqrt(bias2) / bias1)
  end)
  return x, { fx }
end

--- optim.adagrad(feval, x, config, state) -> x, {f}
-- config: learningRate=1e-3, learningRateDecay=0, weightDecay=0
function M.adagrad(feval, x, config, state)
  config = config or {}
  state = state or config
  local lr, lrd, wd = config.learningRate or 1e-3, config.learningRateDecay or 0, config.weightDecay or 0
  state.evalCounter = state.evalCounter or 0
  local fx, dfdx = feval(x)
  torch.no_grad(function()
    if wd ~= 0 then dfdx:add_(x, wd) end
    local clr = lr / (1 + state.evalCounter * lrd)
    state.paramVariance = state.paramVariance or torch.zeros_like(dfdx)
    state.paramVariance:addcmul_(dfdx, dfdx, 1)
    x:addcdiv_(dfdx, state.paramVariance:sqrt():add_(1e-10), -clr)
  end)
  state.evalCounter = state.evalCounter + 1
  return x, { fx }
end

--- optim.rmsprop(feval, x, config, state) -> x, {f}
-- config: learningRate=1e-2, alpha=0.99, epsilon=1e-8, weightDecay=0
function M.rmsprop(feval, x, config, state)
  config = config or {}
  state = state or config
  local lr, alpha = config.learningRate or 1e-2, config.alpha or 0.99
  local eps, wd = config.epsilon or 1e-8, config.weightDecay or 0
  local fx, dfdx = feval(x)
  torch.no_grad(function()
    if wd ~= 0 then dfdx:add_(x, wd) end
    state.m = state.m or torch.zeros_like(dfdx)
    state.m:mul_(alpha):addcmul_(dfdx, dfdx, 1 - alpha)
    x:addcdiv_(dfdx, state.m:sqrt():add_(eps), -lr)
  end)
  return x, { fx }
end

return M
