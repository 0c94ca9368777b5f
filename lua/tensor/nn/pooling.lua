-- tensor.nn.pooling: MaxPool1d/2d/3d, AvgPool1d/2d/3d, AdaptiveAvgPool1d/2d/3d, AdaptiveMaxPool1d/2d/3d.
local common = require 'tensor.nn.common'
local F = require 'tensor.nn.functional'

return function(nn)
  local Module = nn.Module

  local function check_input(self, x, nsp)
    local nd = x:dim()
    if nd ~= nsp + 1 and nd ~= nsp + 2 then
      common.fail(self, 'expected a %d-d or %d-d input, got %s', nsp + 1, nsp + 2, common.shape(x))
    end
  end

  --- nn.MaxPool1d(kernel_size, stride=kernel_size, padding=0, dilation=1, return_indices=false, ceil_mode=false)
  --- nn.MaxPool2d(kernel_size, stride=kernel_size, padding=0, dilation=1, return_indices=false, ceil_mode=false)
  --- nn.MaxPool3d(kernel_size, stride=kernel_size, padding=0, dilation=1, return_indices=false, ceil_mode=false)
  -- Max pooling (F.max_pool1d/2d/3d); return_indices: 1-based positions in each flattened input plane (volume).
  local function max_pool(name, nsp)
    local class = Module:extend(name)
    class.__keeps_no_tensors = true -- (see nn.Sequential)
    nn[name] = class
    local fname = 'max_pool' .. nsp .. 'd'
    function class:init(kernel_size, ...)
      local o = common.options(name, { 'stride', 'padding', 'dilation', 'return_indices', 'ceil_mode' }, ...)
      self.kernel_size, self.stride, self.padding, self.dilation = kernel_size, o.stride or kernel_size, o.padding or 0,
        o.dilation or 1
      self.return_indices, self.ceil_mode = o.return_indices == true, o.ceil_mode == true
    end
    function class:forward(x)
      check_input(self, x, nsp)
      return F[fname](x, self.kernel_size, { stride = self.stride, padding = self.padding, dilation = self.dilation,
                                             ceil_mode = self.ceil_mode, return_indices = self.return_indices })
    end
    function class:extra_repr()
      return string.format('kernel_size=%s, stride=%s, padding=%s, dilation=%s, ceil_mode=%s',
                           common.tuple(self.kernel_size), common.tuple(self.stride), common.tuple(self.padding),
                           common.tuple(self.dilation), common.bool(self.ceil_mode))
    end
  end
  max_pool('MaxPool1d', 1)
  max_pool('MaxPool2d', 2)
  max_pool('MaxPool3d', 3)

  --- nn.AvgPool1d(kernel_size, stride=kernel_size, padding=0, ceil_mode=false, count_include_pad=true)
  --- nn.AvgPool2d(kernel_size, stride=kernel_size, padding=0, ceil_mode=false, count_include_pad=true, divisor_override)
  --- nn.AvgPool3d(kernel_size, stride=kernel_size, padding=0, ceil_mode=false, count_include_pad=true, divisor_override)
  -- Average pooling (F.avg_pool1d/2d/3d).
  local function avg_pool(name, nsp)
    local class = Module:extend(name)
    class.__keeps_no_tensors = true -- (see nn.Sequential)
    nn[name] = class
    local fname = 'avg_pool' .. nsp .. 'd'
    function class:init(kernel_size, ...)
      local o = common.options(name, { 'stride', 'padding', 'ceil_mode', 'count_include_pad', 'divisor_override' }, ...)
      self.kernel_size, self.stride, self.padding = kernel_size, o.stride or kernel_size, o.padding or 0
      self.ceil_mode, self.count_include_pad = o.ceil_mode == true, o.count_include_pad ~= false
      self.divisor_override = o.divisor_override
    end
    function class:forward(x)
      check_input(self, x, nsp)
      return F[fname](x, self.kernel_size, { stride = self.stride, padding = self.padding, ceil_mode = self.ceil_mode,
                                             count_include_pad = self.count_include_pad,
                                             divisor_override = self.divisor_override })
    end
    function class:extra_repr()
      -- (PyTorch's AvgPool1d keeps its sizes as 1-tuples)
      local function show(v) return common.tuple(nsp == 1 and type(v) == 'number' and { v } or v) end
      return string.format('kernel_size=%s, stride=%s, padding=%s', show(self.kernel_size), show(self.stride),
                           show(self.padding))
    end
  end
  avg_pool('AvgPool1d', 1)
  avg_pool('AvgPool2d', 2)
  avg_pool('AvgPool3d', 3)

  --- nn.AdaptiveAvgPool1d(output_size) / nn.AdaptiveAvgPool2d(output_size) / nn.AdaptiveAvgPool3d(output_size)
  --- nn.AdaptiveMaxPool1d(output_size, return_indices=false) / nn.AdaptiveMaxPool2d(output_size, return_indices=false)
  --- nn.AdaptiveMaxPool3d(output_size, return_indices=false)
  -- Pooling to a fixed output size: a number, or a table per dim whose entries may be false (PyTorch's None: keep
  -- the input's size).
  local function adaptive(name, nsp, kind)
    local class = Module:extend(name)
    class.__keeps_no_tensors = true -- (see nn.Sequential)
    nn[name] = class
    local fname = 'adaptive_' .. kind .. '_pool' .. nsp .. 'd'
    function class:init(output_size, return_indices)
      if common.is_opts(return_indices) then return_indices = return_indices.return_indices end
      self.output_size, self.return_indices = output_size, return_indices == true
    end
    function class:forward(x)
      check_input(self, x, nsp)
      return F[fname](x, self.output_size, self.return_indices)
    end
    function class:extra_repr() return 'output_size=' .. common.tuple(self.output_size) end
  end
  adaptive('AdaptiveAvgPool1d', 1, 'avg')
  adaptive('AdaptiveAvgPool2d', 2, 'avg')
  adaptive('AdaptiveMaxPool1d', 1, 'max')
  adaptive('AdaptiveMaxPool2d', 2, 'max')
  adaptive('AdaptiveAvgPool3d', 3, 'avg')
  adaptive('AdaptiveMaxPool3d', 3, 'max')
end
