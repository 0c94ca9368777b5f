-- tensor.nn.linear: Identity, Linear, Bilinear, Flatten, Unflatten.
local common = require 'tensor.nn.common'
local F = require 'tensor.nn.functional'
local init = require 'tensor.nn.initializers'

return function(nn)
  local Module = nn.Module

  --- nn.Identity() -> module
  -- Returns its input.
  local Identity = Module:extend('Identity')
  Identity.__keeps_no_tensors = true -- (see nn.Sequential)
  nn.Identity = Identity
  function Identity:forward(x) return x end

  --- nn.Linear(in_features, out_features, bias=true, {dtype=, device=}) -> module
  -- y = x W' + b; W [out x in] and b [out] initialised as in PyTorch (uniform in +-1/sqrt(in)).
  local Linear = Module:extend('Linear')
  nn.Linear = Linear
  Linear.__keeps_no_tensors = true
  function Linear:init(in_features, out_features, bias, opts)
    if common.is_opts(bias) then opts, bias = bias, bias.bias end
    common.check_options('Linear', opts, { 'bias' })
    common.positive_int('Linear', 'in_features', in_features)
    common.positive_int('Linear', 'out_features', out_features)
    self.in_features, self.out_features = in_features, out_features
    self.weight = common.parameter({ out_features, in_features }, opts)
    if bias ~= false then self.bias = common.parameter({ out_features }, opts) end
    self:reset_parameters()
  end
  function Linear:reset_parameters()
    init.kaiming_uniform_(self.weight, math.sqrt(5))
    if self.bias ~= nil then
      local bound = 1 / math.sqrt(self.in_features)
      init.uniform_(self.bias, -bound, bound)
    end
  end
  function Linear:forward(x)
    if x:dim() == 0 or x:size(-1) ~= self.in_features then
      common.fail(self, 'expected an input with %d features in its last dim, got %s', self.in_features,
                  common.shape(x))
    end
    return F.linear(x, self.weight, self.bias)
  end
  function Linear:extra_repr()
    return string.format('in_features=%d, out_features=%d, bias=%s', self.in_features, self.out_features,
                         self.bias ~= nil and 'True' or 'False')
  end

  --- nn.Bilinear(in1_features, in2_features, out_features, bias=true) -> module
  -- y = x1' A x2 + b, with A [out x in1 x in2].
  local Bilinear = Module:extend('Bilinear')
  nn.Bilinear = Bilinear
  function Bilinear:init(in1, in2, out, bias, opts)
    if common.is_opts(bias) then opts, bias = bias, bias.bias end
    common.check_options('Bilinear', opts, { 'bias' })
    self.in1_features, self.in2_features, self.out_features = in1, in2, out
    self.weight = common.parameter({ out, in1, in2 }, opts)
    if bias ~= false then self.bias = common.parameter({ out }, opts) end
    self:reset_parameters()
  end
  function Bilinear:reset_parameters()
    local bound = 1 / math.sqrt(self.weight:size(2))
    init.uniform_(self.weight, -bound, bound)
    if self.bias ~= nil then init.uniform_(self.bias, -bound, bound) end
  end
  function Bilinear:forward(x1, x2)
    if x1:size(-1) ~= self.in1_features or x2:size(-1) ~= self.in2_features then
      common.fail(self, 'expected inputs with %d and %d features, got %s and %s', self.in1_features,
                  self.in2_features, common.shape(x1), common.shape(x2))
    end
    return F.bilinear(x1, x2, self.weight, self.bias)
  end
  function Bilinear:extra_repr()
    return string.format('in1_features=%d, in2_features=%d, out_features=%d, bias=%s', self.in1_features,
                         self.in2_features, self.out_features, self.bias ~= nil and 'True' or 'False')
  end

  --- nn.Flatten(start_dim=2, end_dim=-1) -> module
  -- Flattens dims start_dim..end_dim (1-based: the default keeps the batch dim).
  local Flatten = Module:extend('Flatten')
  nn.Flatten = Flatten
  Flatten.__keeps_no_tensors = true
  function Flatten:init(start_dim, end_dim)
    local o = common.options('Flatten', { 'start_dim', 'end_dim' }, start_dim, end_dim)
    self.start_dim, self.end_dim = o.start_dim or 2, o.end_dim or -1
  end
  function Flatten:forward(x) return x:flatten(self.start_dim, self.end_dim) end
  function Flatten:extra_repr() return string.format('start_dim=%d, end_dim=%d', self.start_dim, self.end_dim) end

  --- nn.Unflatten(dim, sizes) -> module
  local Unflatten = Module:extend('Unflatten')
  nn.Unflatten = Unflatten
  Unflatten.__keeps_no_tensors = true
  function Unflatten:init(dim, sizes) self.dim, self.unflattened_size = dim, sizes end
  function Unflatten:forward(x) return x:unflatten(self.dim, self.unflattened_size) end
  function Unflatten:extra_repr()
    return string.format('dim=%d, unflattened_size=%s', self.dim, common.tuple(self.unflattened_size))
  end

end
