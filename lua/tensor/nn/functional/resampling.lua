-- tensor.nn.functional.resampling: interpolate (nearest, nearest-exact, linear, bilinear, bicubic, trilinear,
-- area), pixel_shuffle, pixel_unshuffle and channel_shuffle.
--
-- interpolate works one spatial dim at a time (the modes are separable, and PyTorch's kernels also interpolate the
-- last dim first): output = sum over taps of input:index_select(dim, index_tap) * weight_tap, with the source
-- positions and weights PyTorch's CPU kernels compute. Its gradient is then index_add's, which is PyTorch's.
local ffi = require 'ffi'
local torch = require 'tensor'

return function(F, h)
  local fail, check_tensor, options, shape_string = h.fail, h.check_tensor, h.options, h.shape_string

  -- PyTorch computes source positions in the input's floating type: float32 arithmetic for float32 (and the
  -- half types), so that the same output positions fall on the same input elements.
  local f32 = ffi.new('float[1]')
  local function single(v) f32[0] = v return f32[0] end
  local function double(v) return v end

  -- spatial dims each mode takes (nil: any of 1, 2)
  local MODES = { nearest = false, ['nearest-exact'] = false, area = false, linear = 1, bilinear = 2, bicubic = 2,
                  trilinear = 3 }
  local LINEAR = { linear = true, bilinear = true, bicubic = true, trilinear = true }

  -- area_pixel_compute_scale: the input step per output step
  local function step_of(rnd, input, output, align_corners, scale)
    if align_corners then return output > 1 and rnd((input - 1) / (output - 1)) or 0 end
    if scale and scale > 0 then return rnd(1 / scale) end
    return rnd(input / output)
  end

  -- area_pixel_compute_source_index
  local function source_of(rnd, step, i, align_corners, cubic)
    if align_corners then return rnd(step * i) end
    local src = rnd(step * (i + 0.5) - 0.5)
    if not cubic and src < 0 then return 0 end
    return src
  end

  local function cubic1(x, A) return ((A + 2) * x - (A + 3)) * x * x + 1 end
  local function cubic2(x, A) return ((A * x - 5 * A) * x + 8 * A) * x - 4 * A end

  -- The taps of one dim: a list of { index = {1-based input positions}, weight = {weights} or nil } per tap, or
  -- nil when the output is the input (PyTorch's copy for equal sizes in the nearest and linear modes). In the
  -- nearest mode PyTorch 1.13 takes that copy, and the halving shortcut for twice the size, only in its
  -- channels-last kernel (a 4-d or 5-d input whose strides are channels-last contiguous, as every contiguous one
  -- with a single channel is); its other kernels (`plain`) use floor(i / scale_factor) even then.
  local function taps_of(mode, input, output, align_corners, scale, rnd, plain)
    if (mode == 'linear' or mode == 'bilinear' or mode == 'trilinear' or (mode == 'nearest' and not plain))
       and input == output then
      return nil
    end
    if mode == 'nearest' or mode == 'nearest-exact' then
      local index = {}
      local step = scale and scale > 0 and single(1 / scale) or single(input / output)
      for i = 0, output - 1 do
        local src
        if mode == 'nearest' then
          src = (output == 2 * input and not plain) and math.floor(i / 2) or math.floor(single(i * step))
        else
          src = math.floor(single((i + 0.5) * step))
        end
        index[i + 1] = math.min(src, input - 1) + 1
      end
      return { { index = index } }
    end
    local step = step_of(rnd, input, output, align_corners, scale)
    if mode == 'bicubic' then
      local taps = {}
      for j = 1, 4 do taps[j] = { index = {}, weight = {} } end
      local A = -0.75
      for i = 0, output - 1 do
        local real = source_of(rnd, step, i, align_corners, true)
        local base = math.floor(single(real))
        local t = rnd(real - base)
        local w = { cubic2(t + 1, A), cubic1(t, A), cubic1(1 - t, A), cubic2(2 - t, A) }
        for j = 1, 4 do
          taps[j].index[i + 1] = math.max(math.min(base - 2 + j, input - 1), 0) + 1
          taps[j].weight[i + 1] = w[j]
        end
      end
      return taps
    end
    local i0s, i1s, w0s, w1s = {}, {}, {}, {}
    for i = 0, output - 1 do
      local real = source_of(rnd, step, i, align_corners, false)
      local i0 = math.min(math.floor(real), input - 1)
      local l1 = math.min(math.max(rnd(real - i0), 0), 1)
      i0s[i + 1], i1s[i + 1] = i0 + 1, (i0 < input - 1 and i0 + 1 or i0) + 1
      w0s[i + 1], w1s[i + 1] = rnd(1 - l1), l1
    end
    return { { index = i0s, weight = w0s }, { index = i1s, weight = w1s } }
  end

  -- x resampled along dim by the taps
  local function resample(x, dim, taps)
    local opts = { dtype = 'int64', device = x:device() }
    local y
    for _, tap in ipairs(taps) do
      local part = x:index_select(dim, torch.tensor(tap.index, opts))
      if tap.weight then
        local shape = { #tap.weight }
        for d = dim + 1, x:dim() do shape[#shape + 1] = 1 end
        part = part * torch.tensor(tap.weight, { dtype = x:dtype(), device = x:device() }):view(shape)
      end
      y = y and y + part or part
    end
    return y
  end

  local function list_of(fn, what, v, n, check)
    local list = {}
    if type(v) == 'number' then
      for i = 1, n do list[i] = v end
    elseif type(v) == 'table' and not torch.is_tensor(v) then
      if #v ~= n then
        fail(fn, '%s must have one entry per spatial dim (%d), got %d', what, n, #v)
      end
      for i = 1, n do list[i] = v[i] end
    else
      fail(fn, '%s must be a number or a table of %d numbers, got %s', what, n, type(v))
    end
    for i = 1, n do check(list[i]) end
    return list
  end

  -- PyTorch's x.is_contiguous(memory_format=channels_last(_3d)): the strides of dims C, W, H (, D), N, those of
  -- size 1 skipped, are those of a contiguous tensor in that order
  local function channels_last(x)
    local shape, stride = x:shape(), x:stride()
    local order = #shape == 4 and { 2, 4, 3, 1 } or { 2, 5, 4, 3, 1 }
    local expected = 1
    for _, d in ipairs(order) do
      if shape[d] ~= 1 then
        if stride[d] ~= expected then return false end
        expected = expected * shape[d]
      end
    end
    return true
  end

  --- F.interpolate(input, size, scale_factor, mode='nearest', align_corners=false, recompute_scale_factor=false) -> Tensor
  -- Resizes the spatial dims (3 and after) of a 3-d [N x C x L], 4-d [N x C x H x W] or 5-d input to size (a
  -- number or one per spatial dim) or by scale_factor (the output size is floor(size * scale_factor)), as
  -- PyTorch. Modes: 'nearest' (PyTorch's legacy rounding down), 'nearest-exact' (rounding to the nearest),
  -- 'linear' (3-d), 'bilinear' and 'bicubic' (4-d), 'trilinear' (5-d), 'area' (adaptive average pooling, 3-d to
  -- 5-d). align_corners (linear modes only) maps the corner pixels' centres onto each other. With a
  -- scale_factor the source positions use it unless recompute_scale_factor is true. antialias is not supported.
  -- Example: F.interpolate(x, {scale_factor=2, mode='bilinear'})
  function F.interpolate(x, ...)
    check_tensor('interpolate', x, 'the input')
    local o = options('interpolate', { 'size', 'scale_factor', 'mode', 'align_corners', 'recompute_scale_factor',
                                       'antialias' }, ...)
    local mode = o.mode or 'nearest'
    local mode_dims = MODES[mode]
    if mode_dims == nil then
      fail('interpolate', "mode must be 'nearest', 'nearest-exact', 'linear', 'bilinear', 'bicubic', 'trilinear' or " ..
           "'area', got %s", tostring(mode))
    end
    local nd = x:dim()
    if nd < 3 or nd > 5 then
      fail('interpolate', 'expected a 3-d, 4-d or 5-d input [N x C x spatial...], got %s', shape_string(x))
    end
    local spatial = nd - 2
    if mode_dims and mode_dims ~= spatial then
      fail('interpolate', "mode '%s' needs a %d-d input, got %s", mode, mode_dims + 2, shape_string(x))
    end
    if o.align_corners ~= nil and not LINEAR[mode] then
      fail('interpolate', "align_corners can only be set in the modes 'linear', 'bilinear', 'bicubic' and 'trilinear'")
    end
    if o.antialias then fail('interpolate', 'antialias is not supported') end
    if (o.size == nil) == (o.scale_factor == nil) then
      fail('interpolate', 'give exactly one of size and scale_factor')
    end
    if o.recompute_scale_factor and o.size ~= nil then
      fail('interpolate', 'recompute_scale_factor is only meaningful with a scale_factor')
    end
    if LINEAR[mode] and not x:is_floating_point() then
      fail('interpolate', "mode '%s' needs a floating point input, got %s", mode, x:dtype())
    end
    local sizes, scales = {}, {}
    if o.size ~= nil then
      sizes = list_of('interpolate', 'size', o.size, spatial, function(v)
        if type(v) ~= 'number' or v < 1 or v ~= math.floor(v) then
          fail('interpolate', 'size must hold positive integers, got %s', tostring(v))
        end
      end)
    else
      local factors = list_of('interpolate', 'scale_factor', o.scale_factor, spatial, function(v)
        if type(v) ~= 'number' or not (v > 0) or v == math.huge then
          fail('interpolate', 'scale_factor must hold positive numbers, got %s', tostring(v))
        end
      end)
      for k = 1, spatial do
        sizes[k] = math.floor(x:size(k + 2) * factors[k])
        if sizes[k] < 1 then
          fail('interpolate', 'the output size %d (input size %d times scale_factor %s) must be positive', sizes[k],
               x:size(k + 2), tostring(factors[k]))
        end
        -- area mode resizes to the sizes alone, as PyTorch
        if not o.recompute_scale_factor and mode ~= 'area' then scales[k] = factors[k] end
      end
    end
    for k = 1, spatial do
      if x:size(k + 2) == 0 then
        fail('interpolate', 'cannot resize the empty spatial dim %d of %s', k + 2, shape_string(x))
      end
    end
    if mode == 'area' then
      if spatial == 1 then return F.adaptive_avg_pool1d(x, sizes[1]) end
      if spatial == 3 then return F.adaptive_avg_pool3d(x, sizes) end
      return F.adaptive_avg_pool2d(x, sizes)
    end
    local rnd = x:dtype() == 'float64' and double or single
    local plain = spatial == 1 or not channels_last(x)
    local y = x
    for k = spatial, 1, -1 do -- the last dim first, as PyTorch's kernels
      local taps = taps_of(mode, x:size(k + 2), sizes[k], o.align_corners == true, scales[k], rnd, plain)
      if taps then y = resample(y, k + 2, taps) end
    end
    if y == x then y = x:clone() end -- (a new tensor, as PyTorch's)
    return y
  end

  local function factor(fn, what, r)
    if type(r) ~= 'number' or r < 1 or r ~= math.floor(r) then
      fail(fn, '%s must be a positive integer, got %s', what, tostring(r))
    end
    return r
  end

  -- the leading (batch) sizes of x before its last `n` dims
  local function batch_of(x, n)
    local shape, batch = x:shape(), {}
    for d = 1, #shape - n do batch[d] = shape[d] end
    return batch
  end
  local function leading(b) -- the dims 1..b, which stay in place
    local dims = {}
    for d = 1, b do dims[d] = d end
    return dims
  end
  local function with(batch, ...)
    local list = {}
    for i, v in ipairs(batch) do list[i] = v end
    for _, v in ipairs({ ... }) do list[#list + 1] = v end
    return list
  end

  --- F.pixel_shuffle(input, upscale_factor) -> Tensor
  -- [..., C*r*r, H, W] to [..., C, H*r, W*r]: each group of r*r channels becomes an r x r block of pixels.
  function F.pixel_shuffle(x, r)
    check_tensor('pixel_shuffle', x, 'the input')
    if h.is_opts(r) then r = h.checked('pixel_shuffle', r, { 'upscale_factor' }).upscale_factor end
    factor('pixel_shuffle', 'upscale_factor', r)
    if x:dim() < 3 then fail('pixel_shuffle', 'expected an input of at least 3 dims, got %s', shape_string(x)) end
    local C, H, W = x:size(-3), x:size(-2), x:size(-1)
    if C % (r * r) ~= 0 then
      fail('pixel_shuffle', 'the channels (dim -3) of %s must be divisible by upscale_factor^2 = %d', shape_string(x), r * r)
    end
    local batch, b = batch_of(x, 3), x:dim() - 3
    local c = C / (r * r)
    return x:reshape(with(batch, c, r, r, H, W))
            :permute(with(leading(b), b + 1, b + 4, b + 2, b + 5, b + 3))
            :reshape(with(batch, c, H * r, W * r))
  end

  --- F.pixel_unshuffle(input, downscale_factor) -> Tensor
  -- The inverse of pixel_shuffle: [..., C, H*r, W*r] to [..., C*r*r, H, W].
  function F.pixel_unshuffle(x, r)
    check_tensor('pixel_unshuffle', x, 'the input')
    if h.is_opts(r) then r = h.checked('pixel_unshuffle', r, { 'downscale_factor' }).downscale_factor end
    factor('pixel_unshuffle', 'downscale_factor', r)
    if x:dim() < 3 then fail('pixel_unshuffle', 'expected an input of at least 3 dims, got %s', shape_string(x)) end
    local C, H, W = x:size(-3), x:size(-2), x:size(-1)
    if H % r ~= 0 or W % r ~= 0 then
      fail('pixel_unshuffle', 'the height and width of %s must be divisible by downscale_factor %d', shape_string(x), r)
    end
    local batch, b = batch_of(x, 3), x:dim() - 3
    return x:reshape(with(batch, C, H / r, r, W / r, r))
            :permute(with(leading(b), b + 1, b + 3, b + 5, b + 2, b + 4))
            :reshape(with(batch, C * r * r, H / r, W / r))
  end

  --- F.channel_shuffle(input, groups) -> Tensor
  -- Splits the channels (dim 2) of [N x C x ...] into groups and interleaves them: channel g*(C/groups)+i moves
  -- to position i*groups+g (0-based), as in ShuffleNet.
  function F.channel_shuffle(x, groups)
    check_tensor('channel_shuffle', x, 'the input')
    if h.is_opts(groups) then groups = h.checked('channel_shuffle', groups, { 'groups' }).groups end
    factor('channel_shuffle', 'groups', groups)
    if x:dim() < 3 then fail('channel_shuffle', 'expected an input of at least 3 dims, got %s', shape_string(x)) end
    local shape = x:shape()
    if shape[2] % groups ~= 0 then
      fail('channel_shuffle', 'the %d channels (dim 2) of %s are not divisible by groups %d', shape[2], shape_string(x),
           groups)
    end
    local split = { shape[1], groups, shape[2] / groups }
    for d = 3, #shape do split[#split + 1] = shape[d] end
    return x:reshape(split):transpose(2, 3):reshape(shape)
  end
end
