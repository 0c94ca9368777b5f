-- tensor.nn.functional.sampling: grid_sample and affine_grid (spatial transformers).
--
-- grid_sample reads the input at the positions a grid gives, in [-1, 1] coordinates: each output point is a
-- weighted sum of input elements (the corners around the position, or the nearest one, or a 4 x 4 bicubic
-- neighbourhood), gathered from the flattened input planes. The positions, padding rules and weights are
-- PyTorch's (its GridSampler): gradients then come from the gather and the weights, the input's and the
-- grid's both, as PyTorch computes them.
local torch = require 'tensor'

return function(F, h)
  local fail, check_tensor, options, shape_string = h.fail, h.check_tensor, h.options, h.shape_string

  local MODES = { bilinear = true, nearest = true, bicubic = true }
  local PADDING = { zeros = true, border = true, reflection = true }
  local CUBIC_A = -0.75

  -- a grid coordinate in [-1, 1] to a 0-based input position along a dim of `size`
  local function unnormalize(coord, size, align_corners)
    if align_corners then return (coord + 1) * ((size - 1) / 2) end
    return ((coord + 1) * size - 1) / 2
  end

  -- the position clipped into [0, size - 1]; its gradient is 0 on and beyond the ends, as PyTorch's
  local function clip(coord, size)
    return torch.where(coord:le(0), 0, torch.where(coord:ge(size - 1), size - 1, coord))
  end

  -- the position reflected into [low, high] (given doubled, so that they stay integers), as PyTorch's
  local function reflect(coord, twice_low, twice_high)
    if twice_low == twice_high then return coord * 0 end
    local low, span = twice_low / 2, (twice_high - twice_low) / 2
    local shifted = coord - low
    local distance = torch.where(shifted:lt(0), -shifted, shifted)
    local extra = distance:fmod(span)
    local flips = distance:div(span):floor():detach()
    return torch.where(flips:fmod(2):eq(0), extra + low, (-extra) + (span + low))
  end

  -- The padding mode's rule for a position: border clips, reflection mirrors at the ends then clips, zeros
  -- keeps it (positions outside then read zeros).
  local function pad_position(coord, size, padding_mode, align_corners)
    if padding_mode == 'border' then return clip(coord, size) end
    if padding_mode == 'reflection' then
      if align_corners then return clip(reflect(coord, 0, 2 * (size - 1)), size) end
      return clip(reflect(coord, -1, 2 * size - 1), size)
    end
    return coord
  end

  -- The input values at integer positions (a list of tensors [N x *out], one per spatial dim, x first),
  -- zero where a position falls outside: [N x C x Q], Q the number of output points.
  local function read(planes, sizes, positions)
    local N, C = planes:size(1), planes:size(2)
    local n = #sizes
    local index, inside = nil, nil
    for d = 1, n do -- row-major: the last spatial dim (x, positions[1]) varies fastest
      local p = positions[n - d + 1]
      local ok = p:ge(0):logical_and(p:le(sizes[d] - 1))
      inside = inside and inside:logical_and(ok) or ok
      local clamped = p:clamp(0, sizes[d] - 1)
      index = index and index * sizes[d] + clamped or clamped
    end
    index = index:reshape(N, 1, -1):to('int64'):add(1)
    local values = planes:gather(3, index:expand(N, C, index:size(3)))
    return values, inside:reshape(N, 1, -1)
  end

  local function cubic1(t) return ((t * (CUBIC_A + 2)) - (CUBIC_A + 3)) * t * t + 1 end
  local function cubic2(t) return ((t * CUBIC_A - 5 * CUBIC_A) * t + 8 * CUBIC_A) * t - 4 * CUBIC_A end
  -- the four cubic convolution weights of a fractional offset t in [0, 1)
  local function cubic_weights(t)
    return { cubic2(t + 1), cubic1(t), cubic1(1 - t), cubic2(2 - t) }
  end

  --- F.grid_sample(input, grid, mode='bilinear', padding_mode='zeros', align_corners=false) -> Tensor
  -- Samples input [N x C x H x W] at grid [N x Ho x Wo x 2] (or input [N x C x D x H x W] at grid
  -- [N x Do x Ho x Wo x 3]) giving [N x C x Ho x Wo] (or [N x C x Do x Ho x Wo]). The grid's last dim holds x, y (,
  -- z) in [-1, 1], -1 the first pixel's (centre with align_corners, outer edge without). mode 'bilinear' (trilinear
  -- on 5-d input), 'nearest' (ties to even, as PyTorch) or 'bicubic' (4-d only); padding_mode 'zeros', 'border' or
  -- 'reflection' for positions outside. Differentiable in input and grid, as PyTorch's (with 'nearest' no
  -- gradient reaches the grid, whose gradient PyTorch gives as zeros).
  function F.grid_sample(x, grid, ...)
    check_tensor('grid_sample', x, 'the input')
    check_tensor('grid_sample', grid, 'the grid')
    local o = options('grid_sample', { 'mode', 'padding_mode', 'align_corners' }, ...)
    local mode, padding_mode = o.mode or 'bilinear', o.padding_mode or 'zeros'
    local align_corners = o.align_corners == true
    if not MODES[mode] then fail('grid_sample', "mode must be 'bilinear', 'nearest' or 'bicubic', got %s", tostring(mode)) end
    if not PADDING[padding_mode] then
      fail('grid_sample', "padding_mode must be 'zeros', 'border' or 'reflection', got %s", tostring(padding_mode))
    end
    local nd = x:dim()
    if nd ~= 4 and nd ~= 5 then fail('grid_sample', 'expected a 4-d or 5-d input, got %s', shape_string(x)) end
    local n = nd - 2
    if grid:dim() ~= nd or grid:size(nd) ~= n or grid:size(1) ~= x:size(1) then
      fail('grid_sample', 'expected a grid of [%d x ... x %d] for the input %s, got %s', x:size(1), n, shape_string(x),
           shape_string(grid))
    end
    if not x:is_floating_point() or grid:dtype() ~= x:dtype() then
      fail('grid_sample', 'expected a floating input and a grid of its dtype, got %s and %s', x:dtype(), grid:dtype())
    end
    if mode == 'bicubic' and n ~= 2 then fail('grid_sample', "mode 'bicubic' needs a 4-d input, got %s", shape_string(x)) end
    local N, C = x:size(1), x:size(2)
    local sizes, out_shape = {}, { N, C }
    for d = 1, n do sizes[d] = x:size(d + 2) end
    for d = 2, nd - 1 do out_shape[#out_shape + 1] = grid:size(d) end
    if x:numel() == 0 or grid:numel() == 0 then return torch.zeros(out_shape, { dtype = x:dtype(), device = x:device() }) end
    local planes = x:reshape(N, C, -1)
    -- coords[k]: the k-th grid component (x, y, z) as a 0-based position along spatial dim n - k + 1
    local coords = {}
    for k = 1, n do
      local size = sizes[n - k + 1]
      local c = unnormalize(grid:select(nd, k), size, align_corners)
      coords[k] = mode == 'bicubic' and c or pad_position(c, size, padding_mode, align_corners)
    end
    local dim_sizes = {}
    for k = 1, n do dim_sizes[k] = sizes[n - k + 1] end
    local out
    if mode == 'nearest' then
      local positions = {}
      for k = 1, n do positions[k] = coords[k]:detach():round() end
      local values, inside = read(planes, sizes, positions)
      out = values * inside:to(x:dtype())
    elseif mode == 'bilinear' then
      local low, frac = {}, {}
      for k = 1, n do
        low[k] = coords[k]:detach():floor()
        frac[k] = coords[k] - low[k]
      end
      for corner = 0, 2 ^ n - 1 do
        local positions, weight = {}, nil
        for k = 1, n do
          local up = math.floor(corner / 2 ^ (k - 1)) % 2 == 1
          positions[k] = up and low[k] + 1 or low[k]
          local w = up and frac[k] or (-frac[k]) + 1
          weight = weight and weight * w or w
        end
        local values, inside = read(planes, sizes, positions)
        local term = values * (weight:reshape(N, 1, -1) * inside:to(x:dtype()))
        out = out and out + term or term
      end
    else -- bicubic: 4 x 4 taps around the position, each tap's position padded by the padding mode
      local low = { coords[1]:detach():floor(), coords[2]:detach():floor() }
      local wx, wy = cubic_weights(coords[1] - low[1]), cubic_weights(coords[2] - low[2])
      for j = 1, 4 do
        local row
        local py = pad_position(low[2] + (j - 2), dim_sizes[2], padding_mode, align_corners)
        for i = 1, 4 do
          local px = pad_position(low[1] + (i - 2), dim_sizes[1], padding_mode, align_corners)
          local values, inside = read(planes, sizes, { px:detach(), py:detach() })
          local term = values * (wx[i]:reshape(N, 1, -1) * inside:to(x:dtype()))
          row = row and row + term or term
        end
        local term = row * wy[j]:reshape(N, 1, -1)
        out = out and out + term or term
      end
    end
    return out:reshape(out_shape)
  end

  -- PyTorch's linspace_from_neg_one: positions of num pixel centres in [-1, 1]
  local function centres(num, align_corners, dtype, device)
    if num <= 1 then return torch.zeros(num, { dtype = dtype, device = device }) end
    local r = torch.linspace(-1, 1, num, { dtype = dtype, device = device })
    if not align_corners then r = r * ((num - 1) / num) end
    return r
  end

  --- F.affine_grid(theta, size, align_corners=false) -> Tensor
  -- The sampling grid of an affine transform for grid_sample: theta [N x 2 x 3] and size {N, C, H, W} give
  -- [N x H x W x 2]; theta [N x 3 x 4] and size {N, C, D, H, W} give [N x D x H x W x 3]. Each output pixel's
  -- centre (x, y (, z), 1), in [-1, 1] coordinates, times theta's transpose. Differentiable in theta.
  function F.affine_grid(theta, size, ...)
    check_tensor('affine_grid', theta, 'theta')
    local o = options('affine_grid', { 'align_corners' }, ...)
    local align_corners = o.align_corners == true
    if type(size) ~= 'table' or torch.is_tensor(size) then size = torch.is_tensor(size) and size:totable() or size end
    if type(size) ~= 'table' or (#size ~= 4 and #size ~= 5) then
      fail('affine_grid', 'size must be a table {N, C, H, W} or {N, C, D, H, W}, got %s', tostring(size))
    end
    local n = #size - 2
    if not theta:is_floating_point() or theta:dim() ~= 3 or theta:size(1) ~= size[1] or theta:size(2) ~= n
       or theta:size(3) ~= n + 1 then
      fail('affine_grid', 'expected a floating theta of [%d x %d x %d] for the size {%s}, got %s %s', size[1], n, n + 1,
           table.concat(size, ', '), shape_string(theta), theta:dtype())
    end
    local dtype, device = theta:dtype(), theta:device()
    local spatial = {}
    for d = 1, n do spatial[d] = size[d + 2] end
    -- base [*spatial x (n + 1)]: x along the last dim, then y, (z), and 1
    local count = 1
    for d = 1, n do count = count * spatial[d] end
    local columns = {}
    for k = 1, n do
      local along = n - k + 1 -- x varies along the last spatial dim
      local view = {}
      for d = 1, n do view[d] = d == along and spatial[d] or 1 end
      columns[k] = centres(spatial[along], align_corners, dtype, device):reshape(view):expand(spatial)
    end
    columns[n + 1] = torch.ones(spatial, { dtype = dtype, device = device })
    local base = torch.stack(columns, n + 1):reshape(1, count, n + 1)
    local grid = base:matmul(theta:transpose(2, 3))
    local out_shape = { size[1] }
    for d = 1, n do out_shape[#out_shape + 1] = spatial[d] end
    out_shape[#out_shape + 1] = n
    return grid:reshape(out_shape)
  end
end
