-- tensor.nn.activation: ReLU, LeakyReLU, ELU, GELU, SiLU, Sigmoid, Tanh, Softmax, LogSoftmax, Softmin,
-- Softplus, Hardtanh, ReLU6, Mish, Softsign, Hardsigmoid, Hardswish, LogSigmoid, PReLU.
local common = require 'tensor.nn.common'
local F = require 'tensor.nn.functional'
local init = require 'tensor.nn.initializers'

return function(nn)
  local Module = nn.Module

  -- An activation with no parameters: forward applies F[fname] with the module's options.
  local function define(name, fname, init_fn, args_of, repr)
    local class = Module:extend(name)
    nn[name] = class
    class.__keeps_no_tensors = true -- (see nn.Sequential)
    if init_fn then class.init = init_fn end
    function class:forward(x)
      if args_of then return F[fname](x, args_of(self)) end
      return F[fname](x)
    end
    if repr then class.extra_repr = repr end
    return class
  end

  local function inplace_init(self, inplace)
    self.inplace = common.options(self:typename(), { 'inplace' }, inplace).inplace == true
  end
  local function inplace_repr(self) return self.inplace and 'inplace=True' or '' end

  --- nn.ReLU(inplace=false) -> module
  define('ReLU', 'relu', inplace_init, function(self) return self.inplace end, inplace_repr)
  --- nn.LeakyReLU(negative_slope=0.01, inplace=false) -> module
  define('LeakyReLU', 'leaky_relu', function(self, slope, inplace)
    local o = common.options('LeakyReLU', { 'negative_slope', 'inplace' }, slope, inplace)
    self.negative_slope, self.inplace = o.negative_slope or 0.01, o.inplace == true
  end, function(self) return self.negative_slope, self.inplace end,
  function(self) return 'negative_slope=' .. self.negative_slope .. (self.inplace and ', inplace=True' or '') end)
  --- nn.ELU(alpha=1, inplace=false) -> module
  define('ELU', 'elu', function(self, alpha, inplace)
    local o = common.options('ELU', { 'alpha', 'inplace' }, alpha, inplace)
    self.alpha, self.inplace = o.alpha or 1, o.inplace == true
  end, function(self) return self.alpha, self.inplace end,
  function(self) return 'alpha=' .. common.float(self.alpha) .. (self.inplace and ', inplace=True' or '') end)
  --- nn.GELU(approximate='none') -> module
  define('GELU', 'gelu', function(self, approximate)
    self.approximate = common.options('GELU', { 'approximate' }, approximate).approximate or 'none'
  end, function(self) return self.approximate end, function(self) return "approximate='" .. self.approximate .. "'" end)
  --- nn.SiLU() -> module
  define('SiLU', 'silu')
  --- nn.Sigmoid() -> module
  define('Sigmoid', 'sigmoid')
  --- nn.Tanh() -> module
  define('Tanh', 'tanh')
  --- nn.LogSigmoid() -> module
  define('LogSigmoid', 'logsigmoid')
  --- nn.Mish() -> module
  define('Mish', 'mish')
  --- nn.Softsign() -> module
  define('Softsign', 'softsign')
  --- nn.Hardsigmoid() -> module
  define('Hardsigmoid', 'hardsigmoid')
  --- nn.Hardswish() -> module
  define('Hardswish', 'hardswish')
  --- nn.ReLU6() -> module
  define('ReLU6', 'relu6')
  --- nn.Softplus(beta=1, threshold=20) -> module
  define('Softplus', 'softplus', function(self, beta, threshold)
    local o = common.options('Softplus', { 'beta', 'threshold' }, beta, threshold)
    self.beta, self.threshold = o.beta or 1, o.threshold or 20
  end, function(self) return self.beta, self.threshold end,
  function(self) return string.format('beta=%s, threshold=%s', self.beta, self.threshold) end)
  --- nn.Hardtanh(min_val=-1, max_val=1) -> module
  define('Hardtanh', 'hardtanh', function(self, lo, hi)
    local o = common.options('Hardtanh', { 'min_val', 'max_val' }, lo, hi)
    self.min_val, self.max_val = o.min_val or -1, o.max_val or 1
  end, function(self) return self.min_val, self.max_val end,
  function(self) return string.format('min_val=%s, max_val=%s', common.float(self.min_val), common.float(self.max_val)) end)

  local function dim_init(self, dim)
    self.dim = common.options(self:typename(), { 'dim' }, dim).dim
  end
  local function dim_args(self) return self.dim or -1 end
  local function dim_repr(self) return 'dim=' .. tostring(self.dim) end
  --- nn.Softmax(dim=-1) -> module
  -- Softmax along dim (1-based; PyTorch requires a dim, here the last one is the default).
  define('Softmax', 'softmax', dim_init, dim_args, dim_repr)
  --- nn.LogSoftmax(dim=-1) -> module
  define('LogSoftmax', 'log_softmax', dim_init, dim_args, dim_repr)
  --- nn.Softmin(dim=-1) -> module
  define('Softmin', 'softmin', dim_init, dim_args, dim_repr)

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
