-- tensor.nn.upsampling: Upsample, UpsamplingNearest2d, UpsamplingBilinear2d (over F.interpolate) and the pixel
-- rearrangements PixelShuffle, PixelUnshuffle and ChannelShuffle.
local common = require 'tensor.nn.common'
local F = require 'tensor.nn.functional'

return function(nn)
  local Module = nn.Module

  local function floats(v)
    if type(v) ~= 'table' then return common.float(v) end
    local parts = {}
    for i, x in ipairs(v) do parts[i] = common.float(x) end
    return common.tuple(parts)
  end

  local function define_upsample(name, fixed_mode, fixed_align)
    local class = Module:extend(name)
    nn[name] = class
    class.__keeps_no_tensors = true -- (see nn.Sequential)
    function class:init(...)
      local names = fixed_mode and { 'size', 'scale_factor' }
        or { 'size', 'scale_factor', 'mode', 'align_corners', 'recompute_scale_factor' }
      local o = common.options(name, names, ...)
      self.size, self.scale_factor = o.size, o.scale_factor
      self.mode, self.align_corners = fixed_mode or o.mode or 'nearest', fixed_align or o.align_corners
      self.recompute_scale_factor = o.recompute_scale_factor
    end
    function class:forward(x)
      return F.interpolate(x, { size = self.size, scale_factor = self.scale_factor, mode = self.mode,
                                align_corners = self.align_corners,
                                recompute_scale_factor = self.recompute_scale_factor })
    end
    function class:extra_repr()
      local info = self.scale_factor ~= nil and 'scale_factor=' .. floats(self.scale_factor)
        or 'size=' .. common.tuple(self.size)
      return info .. ', mode=' .. self.mode
    end
  end

  --- nn.Upsample(size, scale_factor, mode='nearest', align_corners, recompute_scale_factor) -> module
  -- Resizes the spatial dims of [N x C x ...] inputs with F.interpolate (one of size and scale_factor; the options
  -- positionally or as a table).
  -- Example: nn.Upsample({scale_factor=2, mode='bilinear', align_corners=false})
  define_upsample('Upsample')
  --- nn.UpsamplingNearest2d(size, scale_factor) -> module
  -- nn.Upsample with mode='nearest', for [N x C x H x W] inputs.
  define_upsample('UpsamplingNearest2d', 'nearest')
  --- nn.UpsamplingBilinear2d(size, scale_factor) -> module
  -- nn.Upsample with mode='bilinear' and align_corners=true, as PyTorch.
  define_upsample('UpsamplingBilinear2d', 'bilinear', true)

  local function define_rearrange(name, fname, option)
    local class = Module:extend(name)
    nn[name] = class
    class.__keeps_no_tensors = true
    function class:init(v)
      self[option] = common.positive_int(name, option, common.options(name, { option }, v)[option])
    end
    function class:forward(x) return F[fname](x, self[option]) end
    function class:extra_repr() return option .. '=' .. self[option] end
  end

  --- nn.PixelShuffle(upscale_factor) -> module
  -- [..., C*r*r, H, W] to [..., C, H*r, W*r] (F.pixel_shuffle).
  define_rearrange('PixelShuffle', 'pixel_shuffle', 'upscale_factor')
  --- nn.PixelUnshuffle(downscale_factor) -> module
  -- [..., C, H*r, W*r] to [..., C*r*r, H, W] (F.pixel_unshuffle).
  define_rearrange('PixelUnshuffle', 'pixel_unshuffle', 'downscale_factor')
  --- nn.ChannelShuffle(groups) -> module
  -- Interleaves the channel groups of [N x C x ...] (F.channel_shuffle).
  define_rearrange('ChannelShuffle', 'channel_shuffle', 'groups')
end
