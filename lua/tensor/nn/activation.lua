-- tensor.nn.activation: ReLU, LeakyReLU, ELU, GELU, SiLU, Sigmoid, Tanh, Softmax, LogSoftmax, Softmin,
-- Softplus, Hardtanh, ReLU6, Mish, Softsign, Hardsigmoid, Hardswish, LogSigmoid, SELU, CELU, GLU, Hardshrink,
-- Softshrink, Tanhshrink, Threshold, RReLU, Softmax2d, PReLU.
local common = require 'tensor.nn.common'
local F = require 'tensor.nn.functional'
local init = require 'tensor.nn.initializers'

return function(nn)
  local Module = nn.Module

  -- An activation with no parameters. init reads the options `names` (positionally or as a table) into fields,
  -- `defaults` filling the ones not given (REQUIRED: an error if missing); forward calls F[fname](x, the fields in
  -- order). (Up to three options are passed without building a table: forward runs at every step.)
  local REQUIRED = {}
  local function define(name, fname, names, defaults, repr)
    local class = Module:extend(name)
    nn[name] = class
    class.__keeps_no_tensors = true -- (see nn.Sequential)
    function class:init(...)
      local o = common.options(name, names, ...)
      for _, k in ipairs(names) do
        local v = o[k]
        if v == nil then v = defaults[k] end
        if v == REQUIRED then error(string.format('%s: the option %s is required', name, k), 3) end
        self[k] = v
      end
    end
    local n, k1, k2, k3 = #names, names[1], names[2], names[3]
    assert(n <= 3, 'define: at most three options')
    if n == 0 then
      function class:forward(x) return F[fname](x) end
    elseif n == 1 then
      function class:forward(x) return F[fname](x, self[k1]) end
    elseif n == 2 then
      function class:forward(x) return F[fname](x, self[k1], self[k2]) end
    else
      function class:forward(x) return F[fname](x, self[k1], self[k2], self[k3]) end
    end
    if repr then class.extra_repr = repr end
    return class
  end

  local function inplace(self, first) return self.inplace and (first and 'inplace=True' or ', inplace=True') or '' end
  local function inplace_repr(self) return inplace(self, true) end
  local INPLACE, NO_INPLACE = { 'inplace' }, { inplace = false }

  --- nn.ReLU(inplace=false) -> module
  define('ReLU', 'relu', INPLACE, NO_INPLACE, inplace_repr)
  --- nn.LeakyReLU(negative_slope=0.01, inplace=false) -> module
  define('LeakyReLU', 'leaky_relu', { 'negative_slope', 'inplace' }, { negative_slope = 0.01, inplace = false },
         function(self) return 'negative_slope=' .. self.negative_slope .. inplace(self) end)
  --- nn.ELU(alpha=1, inplace=false) -> module
  define('ELU', 'elu', { 'alpha', 'inplace' }, { alpha = 1, inplace = false },
         function(self) return 'alpha=' .. common.float(self.alpha) .. inplace(self) end)
  --- nn.GELU(approximate='none') -> module
  define('GELU', 'gelu', { 'approximate' }, { approximate = 'none' },
         function(self) return "approximate='" .. self.approximate .. "'" end)
  --- nn.SiLU() -> module
  define('SiLU', 'silu', {}, {})
  --- nn.Sigmoid() -> module
  define('Sigmoid', 'sigmoid', {}, {})
  --- nn.Tanh() -> module
  define('Tanh', 'tanh', {}, {})
  --- nn.LogSigmoid() -> module
  define('LogSigmoid', 'logsigmoid', {}, {})
  --- nn.Mish() -> module
  define('Mish', 'mish', {}, {})
  --- nn.Softsign() -> module
  define('Softsign', 'softsign', {}, {})
  --- nn.Hardsigmoid() -> module
  define('Hardsigmoid', 'hardsigmoid', {}, {})
  --- nn.Hardswish() -> module
  define('Hardswish', 'hardswish', {}, {})
  --- nn.ReLU6() -> module
  define('ReLU6', 'relu6', {}, {})
  --- nn.Softplus(beta=1, threshold=20) -> module
  define('Softplus', 'softplus', { 'beta', 'threshold' }, { beta = 1, threshold = 20 },
         function(self) return string.format('beta=%s, threshold=%s', self.beta, self.threshold) end)
  --- nn.Hardtanh(min_val=-1, max_val=1) -> module
  define('Hardtanh', 'hardtanh', { 'min_val', 'max_val' }, { min_val = -1, max_val = 1 }, function(self)
    return string.format('min_val=%s, max_val=%s', common.float(self.min_val), common.float(self.max_val))
  end)

  local function dim_repr(self) return 'dim=' .. tostring(self.dim) end
  --- nn.Softmax(dim=-1) -> module
  -- Softmax along dim (1-based; PyTorch requires a dim, here the last one is the default).
  define('Softmax', 'softmax', { 'dim' }, {}, dim_repr)
  --- nn.LogSoftmax(dim=-1) -> module
  define('LogSoftmax', 'log_softmax', { 'dim' }, {}, dim_repr)
  --- nn.Softmin(dim=-1) -> module
  define('Softmin', 'softmin', { 'dim' }, {}, dim_repr)

  --- nn.SELU(inplace=false) -> module
  define('SELU', 'selu', INPLACE, NO_INPLACE, inplace_repr)
  --- nn.CELU(alpha=1, inplace=false) -> module
  define('CELU', 'celu', { 'alpha', 'inplace' }, { alpha = 1, inplace = false },
         function(self) return 'alpha=' .. common.float(self.alpha) .. inplace(self) end)
  --- nn.GLU(dim=-1) -> module
  -- a * sigmoid(b) for the halves a, b of the input along dim (1-based).
  define('GLU', 'glu', { 'dim' }, { dim = -1 }, function(self) return 'dim=' .. self.dim end)
  --- nn.Hardshrink(lambd=0.5) -> module
  define('Hardshrink', 'hardshrink', { 'lambd' }, { lambd = 0.5 }, function(self) return tostring(self.lambd) end)
  --- nn.Softshrink(lambd=0.5) -> module
  define('Softshrink', 'softshrink', { 'lambd' }, { lambd = 0.5 }, function(self) return tostring(self.lambd) end)
  --- nn.Tanhshrink() -> module
  define('Tanhshrink', 'tanhshrink', {}, {})
  --- nn.Threshold(threshold, value, inplace=false) -> module
  -- value where x <= threshold, else x.
  define('Threshold', 'threshold', { 'threshold', 'value', 'inplace' },
         { threshold = REQUIRED, value = REQUIRED, inplace = false }, function(self)
    return string.format('threshold=%s, value=%s', common.float(self.threshold), common.float(self.value)) .. inplace(self)
  end)

  --- nn.RReLU(lower=1/8, upper=1/3, inplace=false) -> module
  -- Leaky ReLU with a random slope per negative element drawn from [lower, upper] in training, and their mean
  -- (lower + upper) / 2 in evaluation.
  local RReLU = Module:extend('RReLU')
  nn.RReLU = RReLU
  RReLU.__keeps_no_tensors = true
  function RReLU:init(...)
    local o = common.options('RReLU', { 'lower', 'upper', 'inplace' }, ...)
    self.lower, self.upper, self.inplace = o.lower or 1 / 8, o.upper or 1 / 3, o.inplace == true
    if type(self.lower) ~= 'number' or type(self.upper) ~= 'number' or self.lower > self.upper then
      error(string.format('RReLU: lower (%s) and upper (%s) must be numbers with lower <= upper', tostring(self.lower),
                          tostring(self.upper)), 3)
    end
  end
  function RReLU:forward(x) return F.rrelu(x, self.lower, self.upper, self.training, self.inplace) end
  function RReLU:extra_repr() return string.format('lower=%s, upper=%s', self.lower, self.upper) .. inplace(self) end

  --- nn.Softmax2d() -> module
  -- Softmax over the channels (dim -3) of [N x C x H x W] or [C x H x W] inputs, at each location.
  local Softmax2d = Module:extend('Softmax2d')
  nn.Softmax2d = Softmax2d
  Softmax2d.__keeps_no_tensors = true
  function Softmax2d:forward(x)
    if x:dim() ~= 3 and x:dim() ~= 4 then
      common.fail(self, 'expected a 3-d [C x H x W] or 4-d [N x C x H x W] input, got %s', common.shape(x))
    end
    return F.softmax(x, -3)
  end

  --- nn.PReLU(num_parameters=1, init=0.25) -> module
  -- LeakyReLU with a learned slope (one, or one per channel of dim 2).
  local PReLU = Module:extend('PReLU')
  nn.PReLU = PReLU
  PReLU.__keeps_no_tensors = true
  function PReLU:init(num_parameters, value, opts)
    if common.is_opts(num_parameters) then
      opts = common.options('PReLU', { 'num_parameters', 'init' }, num_parameters)
      num_parameters, value = opts.num_parameters, opts.init
    end
    common.check_options('PReLU', opts)
    self.num_parameters = num_parameters or 1
    self.weight = common.parameter({ self.num_parameters }, opts)
    init.constant_(self.weight, value or 0.25)
  end
  function PReLU:forward(x)
    if self.num_parameters > 1 and (x:dim() < 2 or x:size(2) ~= self.num_parameters) then
      common.fail(self, 'expected %d channels in dim 2, got %s', self.num_parameters, common.shape(x))
    end
    return require('tensor.nn.functional').prelu(x, self.weight)
  end
  function PReLU:extra_repr() return 'num_parameters=' .. self.num_parameters end
end
