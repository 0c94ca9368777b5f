-- tensor.nn.loss: loss modules over nn.functional's losses, with PyTorch's options.
local torch = require 'tensor'
local common = require 'tensor.nn.common'
local F = require 'tensor.nn.functional'

return function(nn)
  local Module = nn.Module

  local function reduction_of(name, opts)
    local r = opts.reduction or 'mean'
    if r ~= 'mean' and r ~= 'sum' and r ~= 'none' and not (name == 'KLDivLoss' and r == 'batchmean') then
      error(string.format("%s: reduction must be 'mean', 'sum' or 'none', got %s", name, tostring(r)), 4)
    end
    return r
  end

  -- A loss module: opts are kept; forward(input, target) calls fn(self, input, target).
  local function define(name, fn, defaults)
    local class = Module:extend(name)
    nn[name] = class
    function class:init(opts)
      if opts ~= nil and not common.is_opts(opts) then
        error(string.format('%s: expected an options table, got %s', name, type(opts)), 3)
      end
      opts = opts or {}
      for k in pairs(opts) do -- (a misspelt option would otherwise be dropped silently)
        if k ~= 'reduction' and (defaults or {})[k] == nil then
          local known = { 'reduction' }
          for option in pairs(defaults or {}) do known[#known + 1] = option end
          table.sort(known)
          error(string.format('%s: unknown option %s (the options are %s)', name, tostring(k), table.concat(known, ', ')), 3)
        end
      end
      self.reduction = reduction_of(name, opts)
      for k, v in pairs(defaults or {}) do
        if opts[k] == nil then self[k] = v elseif not torch.is_tensor(opts[k]) then self[k] = opts[k] end
      end
      -- tensor options are buffers, as in PyTorch: in the state dict, converted by :to()
      for _, k in ipairs({ 'weight', 'pos_weight' }) do
        if torch.is_tensor(opts[k]) then self:register_buffer(k, opts[k]) end
      end
    end
    class.forward = fn
    function class:extra_repr() return self.reduction ~= 'mean' and ("reduction='" .. self.reduction .. "'") or '' end
    return class
  end

  --- nn.MSELoss({reduction='mean'}) -> module
  define('MSELoss', function(self, x, t) return F.mse_loss(x, t, self.reduction) end)
  --- nn.L1Loss({reduction='mean'}) -> module
  define('L1Loss', function(self, x, t) return F.l1_loss(x, t, self.reduction) end)
  --- nn.SmoothL1Loss({reduction='mean', beta=1}) -> module
  define('SmoothL1Loss', function(self, x, t) return F.smooth_l1_loss(x, t, self.reduction, self.beta) end, { beta = 1 })
  --- nn.HuberLoss({reduction='mean', delta=1}) -> module
  define('HuberLoss', function(self, x, t) return F.huber_loss(x, t, self.reduction, self.delta) end, { delta = 1 })
  --- nn.CrossEntropyLoss({weight=, ignore_index=-100, reduction='mean', label_smoothing=0}) -> module
  -- Cross entropy of logits [N x C (x d...)] against 1-based class ids (or class probabilities).
  define('CrossEntropyLoss', function(self, x, t)
    return F.cross_entropy(x, t, { weight = self.weight or nil, ignore_index = self.ignore_index, reduction = self.reduction,
                                   label_smoothing = self.label_smoothing })
  end, { ignore_index = -100, label_smoothing = 0, weight = false })
  --- nn.NLLLoss({weight=, ignore_index=-100, reduction='mean'}) -> module
  define('NLLLoss', function(self, x, t)
    return F.nll_loss(x, t, { weight = self.weight or nil, ignore_index = self.ignore_index, reduction = self.reduction })
  end, { ignore_index = -100, weight = false })
  --- nn.BCELoss({weight=, reduction='mean'}) -> module
  define('BCELoss', function(self, x, t) return F.binary_cross_entropy(x, t, self.weight or nil, self.reduction) end,
         { weight = false })
  --- nn.BCEWithLogitsLoss({weight=, reduction='mean', pos_weight=}) -> module
  define('BCEWithLogitsLoss', function(self, x, t)
    return F.binary_cross_entropy_with_logits(x, t, self.weight or nil, self.reduction, self.pos_weight or nil)
  end, { weight = false, pos_weight = false })
  --- nn.KLDivLoss({reduction='mean', log_target=false}) -> module
  -- The input holds log-probabilities; reduction='batchmean' gives the true mean KL divergence.
  define('KLDivLoss', function(self, x, t) return F.kl_div(x, t, self.reduction, self.log_target) end,
         { log_target = false })
end
