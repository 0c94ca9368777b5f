-- tensor.nn.conv: Conv1d, Conv2d, Conv3d, ConvTranspose1d, ConvTranspose2d, ConvTranspose3d.
local common = require 'tensor.nn.common'
local F = require 'tensor.nn.functional'
local init = require 'tensor.nn.initializers'

local function per_dim(v, n)
  if type(v) == 'table' then return v end
  local t = {}
  for i = 1, n do t[i] = v end
  return t
end

local PADDING_MODES = { reflect = true, replicate = true, circular = true }
local LAYOUTS = { '[N x C x W]', '[N x C x H x W]', '[N x C x D x H x W]' }

-- F.pad's amounts (last dim first, before and after) for a convolution's padding: numbers, 'valid' or 'same'
-- (the odd one of a total goes after, as PyTorch).
local function pad_amounts(conv, nsp)
  local amounts = {}
  for i = nsp, 1, -1 do
    local before, after
    if conv.padding == 'valid' then
      before, after = 0, 0
    elseif conv.padding == 'same' then
      local total = conv.dilation[i] * (conv.kernel_size[i] - 1)
      before = math.floor(total / 2)
      after = total - before
    else
      before, after = conv.padding[i], conv.padding[i]
    end
    amounts[#amounts + 1], amounts[#amounts + 2] = before, after
  end
  return amounts
end

return function(nn)
  local Module = nn.Module

  local function define(name, nsp, transposed)
    local class = Module:extend(name)
    nn[name] = class
    class.__keeps_no_tensors = true -- (see nn.Sequential)
    local fname = (transposed and 'conv_transpose' or 'conv') .. nsp .. 'd'
    local names = transposed and { 'stride', 'padding', 'output_padding', 'groups', 'bias', 'dilation' }
      or { 'stride', 'padding', 'dilation', 'groups', 'bias', 'padding_mode' }

    function class:init(in_channels, out_channels, kernel_size, ...)
      local opts = common.options(name, names, ...)
      local owner = name
      common.positive_int(owner, 'in_channels', in_channels)
      common.positive_int(owner, 'out_channels', out_channels)
      local groups = opts.groups or 1
      common.positive_int(owner, 'groups', groups)
      if in_channels % groups ~= 0 or out_channels % groups ~= 0 then
        error(string.format('%s: in_channels (%d) and out_channels (%d) must both be divisible by groups (%d)',
                            owner, in_channels, out_channels, groups), 3)
      end
      local padding_mode = opts.padding_mode or 'zeros'
      if padding_mode ~= 'zeros' and (transposed or not PADDING_MODES[padding_mode]) then
        error(string.format("%s: padding_mode must be %s, got %s", owner,
                            transposed and "'zeros'" or "'zeros', 'reflect', 'replicate' or 'circular'",
                            tostring(padding_mode)), 3)
      end
      self.padding_mode = padding_mode
      self.in_channels, self.out_channels, self.groups = in_channels, out_channels, groups
      self.kernel_size = per_dim(kernel_size, nsp)
      self.stride = per_dim(opts.stride or 1, nsp)
      self.padding = type(opts.padding) == 'string' and opts.padding or per_dim(opts.padding or 0, nsp)
      self.dilation = per_dim(opts.dilation or 1, nsp)
      if transposed then self.output_padding = per_dim(opts.output_padding or 0, nsp) end
      local shape = transposed and { in_channels, out_channels / groups } or { out_channels, in_channels / groups }
      for _, k in ipairs(self.kernel_size) do shape[#shape + 1] = k end
      self.weight = common.parameter(shape, opts)
      if opts.bias ~= false then self.bias = common.parameter({ out_channels }, opts) end
      self:reset_parameters()
    end

    function class:reset_parameters()
      init.kaiming_uniform_(self.weight, math.sqrt(5))
      if self.bias ~= nil then
        local fan_in = init.calculate_fan_in_and_fan_out(self.weight)
        if fan_in > 0 then
          local bound = 1 / math.sqrt(fan_in)
          init.uniform_(self.bias, -bound, bound)
        end
      end
    end

    function class:forward(x, output_size)
      local nd = x:dim()
      if nd ~= nsp + 1 and nd ~= nsp + 2 then
        common.fail(self, 'expected a %d-d or %d-d input (%s), got %s', nsp + 1, nsp + 2, LAYOUTS[nsp],
                    common.shape(x))
      end
      local channels = x:size(nd - nsp)
      if channels ~= self.in_channels then
        common.fail(self, 'expected %d input channels (dim %d), got %d in %s', self.in_channels, nd - nsp, channels,
                    common.shape(x))
      end
      -- an unbatched input [C x ...] runs as a batch of one, as in PyTorch
      local unbatched = nd == nsp + 1
      if unbatched then x, nd = x:unsqueeze(1), nd + 1 end
      local padding = self.padding
      if self.padding_mode ~= 'zeros' then
        -- padded by F.pad in that mode first, then convolved without padding (PyTorch's way)
        x, padding = F.pad(x, pad_amounts(self, nsp), self.padding_mode), 0
      end
      local opts = { stride = self.stride, padding = padding, dilation = self.dilation, groups = self.groups }
      if transposed then
        opts.output_padding = self.output_padding
        if output_size then
          -- the output_padding that gives the requested size
          local op = {}
          for i = 1, nsp do
            local size = output_size[#output_size - nsp + i]
            local inp = x:size(nd - nsp + i)
            local base = (inp - 1) * self.stride[i] - 2 * self.padding[i] + self.dilation[i] * (self.kernel_size[i] - 1) + 1
            op[i] = size - base
            if op[i] < 0 or op[i] >= math.max(self.stride[i], self.dilation[i]) then
              common.fail(self, 'output_size %d is not reachable at dim %d (sizes %d..%d are)', size, i, base,
                          base + math.max(self.stride[i], self.dilation[i]) - 1)
            end
          end
          opts.output_padding = op
        end
      end
      local y = F[fname](x, self.weight, self.bias, opts)
      if unbatched then y = y:squeeze(1) end
      return y
    end

    function class:extra_repr()
      local parts = { string.format('%d, %d, kernel_size=%s, stride=%s', self.in_channels, self.out_channels,
                                    common.tuple(self.kernel_size), common.tuple(self.stride)) }
      local function all(list, v)
        for _, x in ipairs(list) do if x ~= v then return false end end
        return true
      end
      if type(self.padding) == 'string' or not all(self.padding, 0) then
        parts[#parts + 1] = 'padding=' .. common.tuple(self.padding)
      end
      if not all(self.dilation, 1) then parts[#parts + 1] = 'dilation=' .. common.tuple(self.dilation) end
      if transposed and not all(self.output_padding, 0) then
        parts[#parts + 1] = 'output_padding=' .. common.tuple(self.output_padding)
      end
      if self.groups ~= 1 then parts[#parts + 1] = 'groups=' .. self.groups end
      if self.bias == nil then parts[#parts + 1] = 'bias=False' end
      if self.padding_mode ~= 'zeros' then parts[#parts + 1] = "padding_mode='" .. self.padding_mode .. "'" end
      return table.concat(parts, ', ')
    end
  end

  --- nn.Conv1d(in_channels, out_channels, kernel_size, stride=1, padding=0, dilation=1, groups=1, bias=true, padding_mode='zeros')
  --- nn.Conv2d(in_channels, out_channels, kernel_size, stride=1, padding=0, dilation=1, groups=1, bias=true, padding_mode='zeros')
  --- nn.Conv3d(in_channels, out_channels, kernel_size, stride=1, padding=0, dilation=1, groups=1, bias=true, padding_mode='zeros')
  -- Convolution over [N x C x W] / [N x C x H x W] / [N x C x D x H x W] inputs (or unbatched, without N);
  -- options positional or as a table
  -- (nn.Conv2d(3, 16, 3, {padding=1})); padding may be 'same' or 'valid'; padding_mode 'zeros', 'reflect',
  -- 'replicate' or 'circular' (F.pad's modes); options dtype and device. Weights initialised as in PyTorch.
  define('Conv1d', 1)
  define('Conv2d', 2)
  define('Conv3d', 3)
  --- nn.ConvTranspose1d(in_channels, out_channels, kernel_size, stride=1, padding=0, output_padding=0, groups=1, bias=true, dilation=1)
  --- nn.ConvTranspose2d(in_channels, out_channels, kernel_size, stride=1, padding=0, output_padding=0, groups=1, bias=true, dilation=1)
  --- nn.ConvTranspose3d(in_channels, out_channels, kernel_size, stride=1, padding=0, output_padding=0, groups=1, bias=true, dilation=1)
  -- Transposed convolution; forward(x, output_size) may ask for a specific output size.
  define('ConvTranspose1d', 1, true)
  define('ConvTranspose2d', 2, true)
  define('ConvTranspose3d', 3, true)
end
