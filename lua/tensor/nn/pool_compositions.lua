-- tensor.nn.pool_compositions: LPPool1d/2d (power-mean pooling) and MaxUnpool1d/2d/3d (max_pool's partial
-- inverse), over nn.functional's compositions of the same names.
local common = require 'tensor.nn.common'
local F = require 'tensor.nn.functional'

return function(nn)
  local Module = nn.Module

  --- nn.LPPool1d(norm_type, kernel_size, stride=kernel_size, ceil_mode=false) -> module
  --- nn.LPPool2d(norm_type, kernel_size, stride=kernel_size, ceil_mode=false) -> module
  -- The p-norm of each window, p = norm_type (F.lp_pool1d / F.lp_pool2d).
  for _, n in ipairs({ 1, 2 }) do
    local name, fname = 'LPPool' .. n .. 'd', 'lp_pool' .. n .. 'd'
    local class = Module:extend(name)
    nn[name] = class
    class.__keeps_no_tensors = true -- (see nn.Sequential)
    function class:init(norm_type, kernel_size, ...)
      local o = common.options(name, { 'stride', 'ceil_mode' }, ...)
      self.norm_type, self.kernel_size, self.stride, self.ceil_mode = norm_type, kernel_size, o.stride, o.ceil_mode == true
    end
    function class:forward(x)
      return F[fname](x, self.norm_type, self.kernel_size, { stride = self.stride, ceil_mode = self.ceil_mode })
    end
    function class:extra_repr()
      return string.format('norm_type=%s, kernel_size=%s, stride=%s, ceil_mode=%s', tostring(self.norm_type),
                           common.tuple(self.kernel_size), common.tuple(self.stride or self.kernel_size),
                           common.bool(self.ceil_mode))
    end
  end

  --- nn.MaxUnpool1d(kernel_size, stride=kernel_size, padding=0) -> module
  --- nn.MaxUnpool2d(kernel_size, stride=kernel_size, padding=0) -> module
  --- nn.MaxUnpool3d(kernel_size, stride=kernel_size, padding=0) -> module
  -- m(x, indices, output_size): the values of a max pool put back where its indices say (F.max_unpool2d ...).
  for _, n in ipairs({ 1, 2, 3 }) do
    local name, fname = 'MaxUnpool' .. n .. 'd', 'max_unpool' .. n .. 'd'
    local class = Module:extend(name)
    nn[name] = class
    class.__keeps_no_tensors = true -- (see nn.Sequential)
    function class:init(kernel_size, ...)
      local o = common.options(name, { 'stride', 'padding' }, ...)
      self.kernel_size, self.stride, self.padding = kernel_size, o.stride or kernel_size, o.padding or 0
    end
    function class:forward(x, indices, output_size)
      return F[fname](x, indices, self.kernel_size, { stride = self.stride, padding = self.padding,
                                                      output_size = output_size })
    end
    function class:extra_repr()
      return string.format('kernel_size=%s, stride=%s, padding=%s', common.tuple(self.kernel_size),
                           common.tuple(self.stride), common.tuple(self.padding))
    end
  end
end
