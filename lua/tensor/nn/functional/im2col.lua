-- tensor.nn.functional.im2col: unfold (im2col: the sliding blocks of a batch of images as columns) and fold
-- (col2im: the columns summed back into images), each an index_select / index_add over the flattened padded
-- image with one precomputed index, so that each is the other's gradient, as in PyTorch.
local torch = require 'tensor'

return function(F, h)
  local fail, check_tensor, options, shape_string = h.fail, h.check_tensor, h.options, h.shape_string

  -- a pair of integers from a number or a table of two, each at least `min`
  local function pair_of(fn, what, v, min)
    local p = type(v) == 'table' and v or { v, v }
    if #p ~= 2 then fail(fn, '%s must be a number or a table of 2 numbers, got %d entries', what, #p) end
    for i = 1, 2 do
      if type(p[i]) ~= 'number' or p[i] ~= math.floor(p[i]) or p[i] < min then
        fail(fn, '%s must hold integers of at least %d, got %s', what, min, tostring(p[i]))
      end
    end
    return p
  end

  local function geometry(fn, kernel_size, o)
    if kernel_size == nil then fail(fn, 'kernel_size is required') end
    return pair_of(fn, 'kernel_size', kernel_size, 1), pair_of(fn, 'dilation', o.dilation or 1, 1),
           pair_of(fn, 'padding', o.padding or 0, 0), pair_of(fn, 'stride', o.stride or 1, 1)
  end

  -- The number of blocks along each dim of a padded image, and the 1-based positions in the flattened padded
  -- [Hp*Wp] image of every block's elements, in the order [kh x kw x blocks_h x blocks_w].
  local function blocks(fn, H, W, k, d, p, s, device)
    local Hp, Wp = H + 2 * p[1], W + 2 * p[2]
    local bh = math.floor((Hp - d[1] * (k[1] - 1) - 1) / s[1]) + 1
    local bw = math.floor((Wp - d[2] * (k[2] - 1) - 1) / s[2]) + 1
    if bh < 1 or bw < 1 then
      fail(fn, 'an image of %d x %d with kernel_size (%d, %d), dilation (%d, %d), padding (%d, %d) and stride ' ..
           '(%d, %d) holds %d x %d blocks; there must be at least one', H, W, k[1], k[2], d[1], d[2], p[1], p[2],
           s[1], s[2], math.max(bh, 0), math.max(bw, 0))
    end
    local opts = { dtype = 'int64' }
    local rows = torch.arange(0, k[1], opts):mul(d[1]):view(k[1], 1, 1, 1) +
                 torch.arange(0, bh, opts):mul(s[1]):view(1, 1, bh, 1)
    local cols = torch.arange(0, k[2], opts):mul(d[2]):view(1, k[2], 1, 1) +
                 torch.arange(0, bw, opts):mul(s[2]):view(1, 1, 1, bw)
    local index = (rows * Wp + cols + 1):reshape(-1)
    if device ~= 'cpu' then index = index:to(device) end
    return bh, bw, Hp, Wp, index
  end

  --- F.unfold(input, kernel_size, dilation=1, padding=0, stride=1) -> Tensor
  -- im2col: the sliding kernel_size blocks of [N x C x H x W] (or [C x H x W]) as the columns of
  -- [N x C*kh*kw x L], L the number of blocks; each option is a number or {h, w}.
  function F.unfold(x, kernel_size, ...)
    check_tensor('unfold', x, 'the input')
    local o = options('unfold', { 'dilation', 'padding', 'stride' }, ...)
    local k, d, p, s = geometry('unfold', kernel_size, o)
    local batched = x:dim() == 4
    if x:dim() ~= 3 and not batched then
      fail('unfold', 'expected a 3-d [C x H x W] or 4-d [N x C x H x W] input, got %s', shape_string(x))
    end
    if not batched then x = x:unsqueeze(1) end
    local N, C, H, W = x:size(1), x:size(2), x:size(3), x:size(4)
    local bh, bw, Hp, Wp, index = blocks('unfold', H, W, k, d, p, s, x:device())
    if p[1] > 0 or p[2] > 0 then x = F.pad(x, { p[2], p[2], p[1], p[1] }) end
    local y = x:reshape(N, C, Hp * Wp):index_select(3, index):view(N, C * k[1] * k[2], bh * bw)
    if not batched then y = y:squeeze(1) end
    return y
  end

  --- F.fold(input, output_size, kernel_size, dilation=1, padding=0, stride=1) -> Tensor
  -- col2im: sums the columns of [N x C*kh*kw x L] (or [C*kh*kw x L]) back into images of output_size
  -- ({H, W} or a number), overlapping blocks adding up; the adjoint of F.unfold.
  function F.fold(x, output_size, kernel_size, ...)
    check_tensor('fold', x, 'the input')
    local o = options('fold', { 'dilation', 'padding', 'stride' }, ...)
    if output_size == nil then fail('fold', 'output_size is required') end
    local size = pair_of('fold', 'output_size', output_size, 1)
    local k, d, p, s = geometry('fold', kernel_size, o)
    local batched = x:dim() == 3
    if x:dim() ~= 2 and not batched then
      fail('fold', 'expected a 2-d [C*kh*kw x L] or 3-d [N x C*kh*kw x L] input, got %s', shape_string(x))
    end
    if not batched then x = x:unsqueeze(1) end
    local N, CK, L = x:size(1), x:size(2), x:size(3)
    local K = k[1] * k[2]
    if CK % K ~= 0 then
      fail('fold', 'dim %d of the input %s (%d) must be divisible by the kernel size %d x %d', batched and 2 or 1,
           shape_string(x), CK, k[1], k[2])
    end
    local bh, bw, Hp, Wp, index = blocks('fold', size[1], size[2], k, d, p, s, x:device())
    if L ~= bh * bw then
      fail('fold', 'output_size (%d, %d) with kernel_size (%d, %d), dilation (%d, %d), padding (%d, %d) and stride ' ..
           '(%d, %d) has %d x %d = %d blocks, but the input %s has %d', size[1], size[2], k[1], k[2], d[1], d[2], p[1],
           p[2], s[1], s[2], bh, bw, bh * bw, shape_string(batched and x or x:squeeze(1)), L)
    end
    local C = CK / K
    local y = torch.zeros(N, C, Hp * Wp, { dtype = x:dtype(), device = x:device() })
                   :index_add(3, index, x:reshape(N, C, K * L)):view(N, C, Hp, Wp)
    if p[1] > 0 or p[2] > 0 then y = y:narrow(3, p[1] + 1, size[1]):narrow(4, p[2] + 1, size[2]) end
    if not batched then y = y:squeeze(1) end
    return y
  end
end
