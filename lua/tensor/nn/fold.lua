-- tensor.nn.fold: Fold (col2im) and Unfold (im2col), over F.fold and F.unfold.
local common = require 'tensor.nn.common'
local F = require 'tensor.nn.functional'

return function(nn)
  local Module = nn.Module

  local function repr(self)
    local parts = {}
    for _, k in ipairs({ 'output_size', 'kernel_size', 'dilation', 'padding', 'stride' }) do
      if self[k] ~= nil then parts[#parts + 1] = k .. '=' .. common.tuple(self[k]) end
    end
    return table.concat(parts, ', ')
  end

  --- nn.Unfold(kernel_size, dilation=1, padding=0, stride=1) -> module
  -- The sliding blocks of [N x C x H x W] as columns [N x C*kh*kw x L] (F.unfold); each option a number or
  -- {h, w}.
  local Unfold = Module:extend('Unfold')
  nn.Unfold = Unfold
  Unfold.__keeps_no_tensors = true -- (see nn.Sequential)
  function Unfold:init(kernel_size, ...)
    if common.is_opts(kernel_size) then
      local o = common.options('Unfold', { 'kernel_size', 'dilation', 'padding', 'stride' }, kernel_size)
      return self:init(o.kernel_size, o.dilation, o.padding, o.stride)
    end
    local o = common.options('Unfold', { 'dilation', 'padding', 'stride' }, ...)
    if kernel_size == nil then error('Unfold: kernel_size is required', 3) end
    self.kernel_size, self.dilation, self.padding, self.stride = kernel_size, o.dilation or 1, o.padding or 0,
      o.stride or 1
  end
  function Unfold:forward(x) return F.unfold(x, self.kernel_size, self.dilation, self.padding, self.stride) end
  Unfold.extra_repr = repr

  --- nn.Fold(output_size, kernel_size, dilation=1, padding=0, stride=1) -> module
  -- Sums columns [N x C*kh*kw x L] back into images [N x C x H x W] of output_size (F.fold).
  local Fold = Module:extend('Fold')
  nn.Fold = Fold
  Fold.__keeps_no_tensors = true
  function Fold:init(output_size, kernel_size, ...)
    if common.is_opts(output_size) then
      local o = common.options('Fold', { 'output_size', 'kernel_size', 'dilation', 'padding', 'stride' }, output_size)
      return self:init(o.output_size, o.kernel_size, o.dilation, o.padding, o.stride)
    end
    local o = common.options('Fold', { 'dilation', 'padding', 'stride' }, ...)
    if output_size == nil or kernel_size == nil then error('Fold: output_size and kernel_size are required', 3) end
    self.output_size, self.kernel_size = output_size, kernel_size
    self.dilation, self.padding, self.stride = o.dilation or 1, o.padding or 0, o.stride or 1
  end
  function Fold:forward(x)
    return F.fold(x, self.output_size, self.kernel_size, self.dilation, self.padding, self.stride)
  end
  Fold.extra_repr = repr
end
