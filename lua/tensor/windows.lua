-- tensor.windows: the signal windows of torch.*_window (Hann, Hamming, Blackman, Bartlett, Kaiser), computed in
-- float64 and returned in the dtype asked for. periodic = true (the default, as PyTorch) gives the first N points
-- of a symmetric window of N + 1, the form spectral analysis wants.
local core = require 'tensor.core'
local args = require 'tensor.args'

local torch = core.torch
local argerror, is_opts = args.argerror, args.is_opts
local pi = math.pi

-- (N, periodic, opts) from a window function's arguments: periodic positional or in opts.
local function window_args(fn, n, periodic, opts)
  if is_opts(periodic) then periodic, opts = nil, periodic end
  opts = opts or {}
  if periodic == nil then periodic = opts.periodic end
  if not args.is_integer(n) or n < 0 then argerror(fn, 'window_length must be a non-negative integer, got %s', tostring(n)) end
  if periodic ~= nil and type(periodic) ~= 'boolean' then
    argerror(fn, 'periodic must be a boolean, got %s', type(periodic))
  end
  local dt = opts.dtype or torch.get_default_dtype()
  if dt ~= 'float32' and dt ~= 'float64' and dt ~= 'float16' and dt ~= 'bfloat16' then
    argerror(fn, 'expects a floating dtype, got %s', tostring(dt))
  end
  return n, periodic ~= false, { dtype = dt, device = opts.device, requires_grad = opts.requires_grad,
                                 alpha = opts.alpha, beta = opts.beta }
end

-- A window of n points from f(k, m) for k = 0 .. n-1, m the denominator (n for a periodic window, n - 1 for a
-- symmetric one); a window of one point is {1}.
local function window(n, periodic, opts, f)
  local o = { dtype = opts.dtype, device = opts.device, requires_grad = opts.requires_grad }
  if n == 0 then return torch.empty(0, o) end
  if n == 1 then return torch.ones(1, o) end
  local m = periodic and n or n - 1
  local k = torch.arange(n, { dtype = 'float64' })
  local w = f(k, m)
  return torch.tensor(w, o)
end

-- The generalised cosine windows: a - b cos(2 pi k / m) (+ c cos(4 pi k / m)).
local function cosine_sum(k, m, a, b, c)
  local w = k * (2 * pi / m)
  local r = w:cos() * -b + a
  if c then r = r + (w * 2):cos() * c end
  return r
end

--- torch.hann_window(N, [periodic=true], {dtype=, device=, requires_grad=}) -> Tensor
-- 0.5 - 0.5 cos(2 pi k / M), k = 0 .. N-1, with M = N (periodic) or N - 1.
function torch.hann_window(n, periodic, opts)
  n, periodic, opts = window_args('hann_window', n, periodic, opts)
  return window(n, periodic, opts, function(k, m) return cosine_sum(k, m, 0.5, 0.5) end)
end

--- torch.hamming_window(N, [periodic=true, [alpha=0.54, [beta=0.46]]], {dtype=, device=}) -> Tensor
-- alpha - beta cos(2 pi k / M).
function torch.hamming_window(n, periodic, alpha, beta, opts)
  if is_opts(alpha) then alpha, opts = nil, alpha end
  if is_opts(beta) then beta, opts = nil, beta end
  n, periodic, opts = window_args('hamming_window', n, periodic, opts)
  alpha, beta = alpha or opts.alpha or 0.54, beta or opts.beta or 0.46
  if type(alpha) ~= 'number' or type(beta) ~= 'number' then
    argerror('hamming_window', 'alpha and beta must be numbers, got %s and %s', type(alpha), type(beta))
  end
  return window(n, periodic, opts, function(k, m) return cosine_sum(k, m, alpha, beta) end)
end

--- torch.blackman_window(N, [periodic=true], {dtype=, device=}) -> Tensor
-- 0.42 - 0.5 cos(2 pi k / M) + 0.08 cos(4 pi k / M).
function torch.blackman_window(n, periodic, opts)
  n, periodic, opts = window_args('blackman_window', n, periodic, opts)
  return window(n, periodic, opts, function(k, m) return cosine_sum(k, m, 0.42, 0.5, 0.08) end)
end

--- torch.bartlett_window(N, [periodic=true], {dtype=, device=}) -> Tensor
-- The triangle 1 - |2k / M - 1|.
function torch.bartlett_window(n, periodic, opts)
  n, periodic, opts = window_args('bartlett_window', n, periodic, opts)
  return window(n, periodic, opts, function(k, m) return 1 - (k * (2 / m) - 1):abs() end)
end

--- torch.kaiser_window(N, [periodic=true, [beta=12]], {dtype=, device=}) -> Tensor
-- I0(beta sqrt(1 - (2k / M - 1)^2)) / I0(beta), I0 the modified Bessel function of order 0.
function torch.kaiser_window(n, periodic, beta, opts)
  if is_opts(beta) then beta, opts = nil, beta end
  n, periodic, opts = window_args('kaiser_window', n, periodic, opts)
  beta = beta or opts.beta or 12
  if type(beta) ~= 'number' then argerror('kaiser_window', 'beta must be a number, got %s', type(beta)) end
  return window(n, periodic, opts, function(k, m)
    local r = k * (2 / m) - 1
    return ((1 - r * r):clamp(0):sqrt() * beta):i0() / torch.tensor(beta, { dtype = 'float64' }):i0():item()
  end)
end

return {}
