-- tensor.nn.utils: gradient clipping and flat parameter vectors.
local core = require 'tensor.core'
local torch = require 'tensor'

local is_tensor = core.is_tensor
local utils = {}

local function param_list(fn, params)
  if is_tensor(params) then return { params } end
  if type(params) ~= 'table' then error(string.format('nn.utils.%s: expected a list of tensors', fn), 3) end
  return params
end

--- nn.utils.clip_grad_norm_(parameters, max_norm, norm_type=2, {error_if_nonfinite=false}) -> total_norm
-- Scales all gradients together so that their joint norm is at most max_norm; returns the norm before
-- clipping (a number): the norm_type norm (2; any p, 0, math.huge or -math.huge) of the gradients' own norms.
-- A NaN norm makes every gradient NaN (or raises, with error_if_nonfinite), as in PyTorch.
function utils.clip_grad_norm_(params, max_norm, norm_type, opts)
  params = param_list('clip_grad_norm_', params)
  if type(norm_type) == 'table' then opts, norm_type = norm_type, norm_type.norm_type end
  norm_type = norm_type or 2
  if type(max_norm) ~= 'number' then error('nn.utils.clip_grad_norm_: max_norm must be a number', 2) end
  return torch.no_grad(function()
    local grads = {}
    for _, p in ipairs(params) do
      local g = rawget(p, '_grad')
      if g ~= nil then grads[#grads + 1] = g end
    end
    if #grads == 0 then return 0 end
    -- the norm of the gradients' norms, as PyTorch: right for every norm_type (0, inf and -inf too), NaN
    -- propagating
    local norms = torch.empty(#grads, { dtype = 'float64' })
    for i, g in ipairs(grads) do norms[i] = g:norm(norm_type) end
    local total = norms:norm(norm_type)
    if opts and opts.error_if_nonfinite and (total ~= total or total == math.huge or total == -math.huge) then
      require('tensor.core').raise(string.format('nn.utils.clip_grad_norm_: the total norm of the gradients is %s',
                                                 tostring(total)))
    end
    -- at most 1, and NaN for a NaN norm: then every gradient becomes NaN, as in PyTorch
    local coef = max_norm / (total + 1e-6)
    if coef ~= coef or coef < 1 then
      for _, g in ipairs(grads) do g:mul_(coef) end
    end
    return total
  end)
end

--- nn.utils.clip_grad_value_(parameters, clip_value)
-- Clamps every gradient element to [-clip_value, clip_value].
function utils.clip_grad_value_(params, clip_value)
  params = param_list('clip_grad_value_', params)
  torch.no_grad(function()
    for _, p in ipairs(params) do
      local g = rawget(p, '_grad')
      if g ~= nil then g:clamp_(-clip_value, clip_value) end
    end
  end)
end

--- nn.utils.parameters_to_vector(parameters) -> Tensor
-- All parameters flattened and concatenated into one 1-d tensor (a copy).
function utils.parameters_to_vector(params)
  params = param_list('parameters_to_vector', params)
  local views = {}
  for i, p in ipairs(params) do views[i] = p:reshape(-1) end
  return torch.cat(views, 1)
end

--- nn.utils.vector_to_parameters(vector, parameters)
-- Copies consecutive slices of vector into the parameters.
function utils.vector_to_parameters(vec, params)
  params = param_list('vector_to_parameters', params)
  local total = 0
  for _, p in ipairs(params) do total = total + p:numel() end
  if vec:numel() ~= total then
    error(string.format('nn.utils.vector_to_parameters: the vector has %d elements, the parameters %d', vec:numel(), total), 2)
  end
  torch.no_grad(function()
    local offset = 1
    for _, p in ipairs(params) do
      local n = p:numel()
      p:copy_(vec:narrow(1, offset, n):view_as(p))
      offset = offset + n
    end
  end)
end

return utils
