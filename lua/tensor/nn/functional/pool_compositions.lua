-- tensor.nn.functional.pool_compositions: pooling made of other ops: lp_pool (a power mean over avg_pool, as
-- PyTorch composes it), max_unpool (the pooled values scattered back to the positions max_pool's indices name), the
-- *_with_indices spellings of the max pools, and the deprecated upsample names of interpolate.
local torch = require 'tensor'

return function(F, h)
  local fail, check_tensor, options, shape_string = h.fail, h.check_tensor, h.options, h.shape_string

  -- n numbers from a number or a table of n
  local function tuple(fn, what, v, n)
    if type(v) == 'number' then
      local t = {}
      for i = 1, n do t[i] = v end
      return t
    end
    if type(v) ~= 'table' or torch.is_tensor(v) or #v ~= n then
      fail(fn, '%s must be a number or a table of %d numbers, got %s', what, n, tostring(v))
    end
    return v
  end

  local function define_lp_pool(n)
    local name = 'lp_pool' .. n .. 'd'
    local avg_pool = 'avg_pool' .. n .. 'd'
    --- F.lp_pool1d(input, norm_type, kernel_size, stride, ceil_mode=false) -> Tensor
    --- F.lp_pool2d(input, norm_type, kernel_size, stride, ceil_mode=false) -> Tensor
    -- The p-norm of each pooling window, (sum of x^p)^(1/p), with p = norm_type, as PyTorch computes it (through
    -- avg_pool of x^p; a window whose sum of powers is negative gives 0). stride defaults to kernel_size.
    F[name] = function(x, norm_type, kernel_size, ...)
      check_tensor(name, x, 'the input')
      local o = options(name, { 'stride', 'ceil_mode' }, ...)
      if type(norm_type) ~= 'number' or norm_type == 0 then
        fail(name, 'norm_type must be a nonzero number, got %s', tostring(norm_type))
      end
      local k = tuple(name, 'kernel_size', kernel_size, n)
      local area = 1
      for i = 1, n do area = area * k[i] end
      local out = F[avg_pool](x:pow(norm_type), kernel_size, { stride = o.stride, padding = 0, ceil_mode = o.ceil_mode })
      return (out:sign() * out:abs():relu()):mul(area):pow(1 / norm_type)
    end
  end
  define_lp_pool(1)
  define_lp_pool(2)

  local function define_max_unpool(n)
    local name = 'max_unpool' .. n .. 'd'
    --- F.max_unpool1d(input, indices, kernel_size, stride, padding=0, output_size) -> Tensor
    --- F.max_unpool2d(input, indices, kernel_size, stride, padding=0, output_size) -> Tensor
    --- F.max_unpool3d(input, indices, kernel_size, stride, padding=0, output_size) -> Tensor
    -- A partial inverse of max_pool: each input value placed at the position its index names (1-based, in the
    -- flattened output plane or volume, as max_pool's return_indices gives them), zeros elsewhere. The output's
    -- spatial size is (in - 1) * stride - 2 * padding + kernel_size per dim, or output_size (the spatial sizes, or
    -- the whole shape), which may differ from that by less than the stride. Differentiable in input.
    F[name] = function(x, indices, kernel_size, ...)
      check_tensor(name, x, 'the input')
      check_tensor(name, indices, 'the indices')
      local o = options(name, { 'stride', 'padding', 'output_size' }, ...)
      local nd = x:dim()
      if nd ~= n + 1 and nd ~= n + 2 then
        fail(name, 'expected a %d-d or %d-d input, got %s', n + 1, n + 2, shape_string(x))
      end
      if table.concat(indices:shape(), 'x') ~= table.concat(x:shape(), 'x') or indices:dtype() ~= 'int64' then
        fail(name, 'expected int64 indices of the input\'s shape %s, got %s %s', shape_string(x), shape_string(indices),
             indices:dtype())
      end
      local k = tuple(name, 'kernel_size', kernel_size, n)
      local s = tuple(name, 'stride', o.stride or kernel_size, n)
      local p = tuple(name, 'padding', o.padding or 0, n)
      local lead = nd - n
      local spatial = {}
      for i = 1, n do spatial[i] = (x:size(lead + i) - 1) * s[i] - 2 * p[i] + k[i] end
      if o.output_size ~= nil then
        local size = o.output_size
        if type(size) == 'table' and not torch.is_tensor(size) and #size == nd then
          size = { unpack(size, lead + 1) }
        end
        size = tuple(name, 'output_size', size, n)
        for i = 1, n do
          local want = size[i]
          if want <= spatial[i] - s[i] or want >= spatial[i] + s[i] then
            fail(name, 'output_size {%s} must be within a stride of {%s}', table.concat(size, ', '),
                 table.concat(spatial, ', '))
          end
        end
        for i = 1, n do spatial[i] = size[i] end
      end
      local plane = 1
      for i = 1, n do plane = plane * spatial[i] end
      local shape = {}
      for i = 1, lead do shape[i] = x:size(i) end
      for i = 1, n do shape[lead + i] = spatial[i] end
      local flat_shape = { x:size(1), lead == 2 and x:size(2) or nil }
      flat_shape[#flat_shape + 1] = -1
      local flat_indices = indices:reshape(flat_shape)
      if indices:numel() > 0 then
        local lo, hi = indices:min(), indices:max()
        if lo < 1 or hi > plane then
          fail(name, 'an index (%d) is outside the output plane of %d elements (indices are 1-based)',
               lo < 1 and lo or hi, plane)
        end
      end
      local out_flat = { unpack(flat_shape) }
      out_flat[#out_flat] = plane
      local out = torch.zeros(out_flat, { dtype = x:dtype(), device = x:device() })
      return out:scatter(lead + 1, flat_indices, x:reshape(flat_shape)):reshape(shape)
    end
  end
  define_max_unpool(1)
  define_max_unpool(2)
  define_max_unpool(3)

  --- F.max_pool1d_with_indices(input, kernel_size, stride, padding=0, dilation=1, ceil_mode=false) -> Tensor, Tensor
  --- F.max_pool2d_with_indices(input, kernel_size, stride, padding=0, dilation=1, ceil_mode=false) -> Tensor, Tensor
  --- F.adaptive_max_pool1d_with_indices(input, output_size) -> Tensor, Tensor
  --- F.adaptive_max_pool2d_with_indices(input, output_size) -> Tensor, Tensor
  -- The max pools with return_indices=true: the values and their 1-based positions.
  for _, n in ipairs({ 1, 2, 3 }) do
    local pool, adaptive = F['max_pool' .. n .. 'd'], F['adaptive_max_pool' .. n .. 'd']
    if pool then
      F['max_pool' .. n .. 'd_with_indices'] = function(x, kernel_size, ...)
        local o = options('max_pool' .. n .. 'd_with_indices', { 'stride', 'padding', 'dilation', 'ceil_mode' }, ...)
        o.return_indices = true
        return pool(x, kernel_size, o)
      end
    end
    if adaptive then
      F['adaptive_max_pool' .. n .. 'd_with_indices'] = function(x, output_size) return adaptive(x, output_size, true) end
    end
  end

  --- F.upsample(input, size, scale_factor, mode='nearest', align_corners) -> Tensor
  --- F.upsample_nearest(input, size, scale_factor) -> Tensor
  --- F.upsample_bilinear(input, size, scale_factor) -> Tensor
  -- PyTorch's deprecated names of F.interpolate; upsample_bilinear aligns the corners, as there.
  function F.upsample(x, ...)
    return F.interpolate(x, options('upsample', { 'size', 'scale_factor', 'mode', 'align_corners' }, ...))
  end
  function F.upsample_nearest(x, ...)
    local o = options('upsample_nearest', { 'size', 'scale_factor' }, ...)
    o.mode = 'nearest'
    return F.interpolate(x, o)
  end
  function F.upsample_bilinear(x, ...)
    local o = options('upsample_bilinear', { 'size', 'scale_factor' }, ...)
    o.mode, o.align_corners = 'bilinear', true
    return F.interpolate(x, o)
  end
end
