-- tensor.random: the random generator (Philox4x32-10, see lib/cpu/random.c) and random tensors.
--
-- One default generator serves every function; torch.manual_seed(n) makes a run reproducible, on any
-- number of threads. torch.Generator() makes an independent one, passed as {generator=g}.
local ffi = require 'ffi'
local core = require 'tensor.core'
local args = require 'tensor.args'
local dtype = require 'tensor.dtype'
local creation = require 'tensor.creation'

local C, check, torch, Tensor = core.C, core.check, core.torch, core.Tensor
local argerror, is_opts = args.argerror, args.is_opts
local alias = core.alias

local Generator = {}
Generator.__index = Generator
local generator_ct = ffi.metatype('tn_generator', Generator)

local function seed_value(fn, seed)
  if type(seed) == 'cdata' then return ffi.cast('uint64_t', seed) end
  if not args.is_integer(seed) then argerror(fn, 'seed must be an integer, got %s', tostring(seed)) end
  return seed < 0 and ffi.cast('uint64_t', ffi.cast('int64_t', seed)) or ffi.cast('uint64_t', seed)
end

--- Generator:manual_seed(seed) -> Generator
-- Restarts the generator's stream from seed (an integer, or an int64/uint64 cdata). Returns g.
function Generator:manual_seed(seed)
  C.tn_generator_seed(self, seed_value('manual_seed', seed))
  return self
end
--- Generator:initial_seed() -> number
-- The seed the generator was last seeded with.
function Generator:initial_seed() return tonumber(self.seed) end
--- Generator:seed() -> number
-- Seeds the generator from the clock and returns the seed.
function Generator:seed()
  local s = os.time() * 1000003 + math.floor(os.clock() * 1e6) % 1000003
  self:manual_seed(s)
  return s
end
--- Generator:get_state() -> table
-- The generator's state ({seed=, offset=}), for g:set_state later.
function Generator:get_state() return { seed = self.seed, offset = self.offset } end
--- Generator:set_state(state) -> Generator
-- Restores a state from g:get_state(): the following draws repeat those made after it was taken.
function Generator:set_state(state)
  self.seed, self.offset = state.seed, state.offset
  return self
end
Generator.__tostring = function(self)
  return string.format('torch.Generator(seed=%s, offset=%s)', tostring(self.seed):gsub('ULL', ''),
                       tostring(self.offset):gsub('ULL', ''))
end

--- torch.Generator() -> Generator
-- A new random generator (Philox4x32-10) with the default seed, independent of the default generator.
-- Pass it to random functions as {generator=g}.
-- Example: local g = torch.Generator():manual_seed(1); torch.rand(3, {generator=g})
function torch.Generator()
  local g = generator_ct()
  C.tn_generator_seed(g, 67280421310721ULL)
  return g
end
torch.default_generator = C.tn_default_generator()

--- torch.manual_seed(seed) -> Generator
-- Seeds the default generator (and the GPUs', when CUDA is in use). The random numbers that follow are
-- the same on every run and for any number of threads. Returns the default generator.
function torch.manual_seed(seed)
  torch.default_generator:manual_seed(seed)
  C.tn_cuda_manual_seed(torch.default_generator.seed)
  return torch.default_generator
end
--- torch.seed() -> number
-- Seeds the default generator from the clock and returns the seed.
function torch.seed() return torch.default_generator:seed() end
--- torch.initial_seed() -> number
-- The seed the default generator was last seeded with.
function torch.initial_seed() return torch.default_generator:initial_seed() end
--- torch.get_rng_state() -> table
-- The state of the default generator, for torch.set_rng_state.
function torch.get_rng_state() return torch.default_generator:get_state() end
--- torch.set_rng_state(state)
-- Restores the default generator to a state from torch.get_rng_state().
function torch.set_rng_state(state) torch.default_generator:set_state(state) end

local function generator_of(fn, opts)
  local g = opts and opts.generator
  if g == nil then return nil end
  if not ffi.istype(generator_ct, g) and not ffi.istype('tn_generator *', g) then
    argerror(fn, 'generator must come from torch.Generator(), got %s', type(g))
  end
  return g
end

-- ---- in-place fills ----

--- Tensor:uniform_(from, to, opts) -> Tensor
-- Fills x in place with values drawn uniformly from [from, to) (default [0, 1)); opts: generator.
-- Returns x.
function Tensor:uniform_(a, b, opts)
  if is_opts(a) then a, opts = nil, a elseif is_opts(b) then b, opts = nil, b end
  a, b = args.number('uniform_', 'from', a or 0), args.number('uniform_', 'to', b or 1)
  check(C.tn_uniform_(self._c, a, b, generator_of('uniform_', opts)))
  return self
end

--- Tensor:normal_(mean, std, opts) -> Tensor
-- Fills x in place with normal values of mean (default 0) and standard deviation std (default 1); opts:
-- generator. Returns x.
function Tensor:normal_(mean, std, opts)
  if is_opts(mean) then mean, opts = nil, mean elseif is_opts(std) then std, opts = nil, std end
  mean, std = args.number('normal_', 'mean', mean or 0), args.number('normal_', 'std', std or 1)
  check(C.tn_normal_(self._c, mean, std, generator_of('normal_', opts)))
  return self
end

--- Tensor:bernoulli_(p, opts) -> Tensor
-- Fills x in place with 1 with probability p and 0 otherwise; p is a number (default 0.5) or a tensor of
-- probabilities broadcastable to x. opts: generator. Returns x.
function Tensor:bernoulli_(p, opts)
  if is_opts(p) then p, opts = nil, p end
  if core.is_tensor(p) then
    check(C.tn_bernoulli_tensor_(self._c, p._c, generator_of('bernoulli_', opts)))
  else
    check(C.tn_bernoulli_(self._c, args.number('bernoulli_', 'p', p or 0.5), generator_of('bernoulli_', opts)))
  end
  return self
end

--- Tensor:random_(low, high, opts) -> Tensor
--- Tensor:random_(high, opts) -> Tensor
-- Fills x in place with integers drawn uniformly from [low, high) (low defaults to 0). Unlike Torch7,
-- high is excluded, as in PyTorch. opts: generator. Returns x.
function Tensor:random_(low, high, opts)
  if is_opts(high) then high, opts = nil, high end
  if low == nil or is_opts(low) then argerror('random_', 'expected an upper bound') end
  if high == nil then low, high = 0, low end
  low, high = args.integer('random_', 'low', low), args.integer('random_', 'high', high)
  if C.tn_randint_(self._c, low, high, generator_of('random_', opts)) ~= 0 then
    core.raise((ffi.string(C.tn_last_error()):gsub('^randint:', 'random_:'))) -- (the C check is shared with randint)
  end
  return self
end

-- ---- fills from other distributions, by transforming uniform or normal draws ----

local function floating_self(fn, self)
  if not dtype.floating[tonumber(self._c.dtype)] then argerror(fn, 'expected a floating point tensor, got %s', self:dtype()) end
end
local function positive(fn, what, v)
  args.number(fn, what, v)
  if not (v > 0) or v == math.huge then argerror(fn, '%s must be positive and finite, got %s', what, tostring(v)) end
  return v
end

--- Tensor:exponential_(lambd=1, opts) -> Tensor
-- Fills x in place with draws of the exponential distribution of rate lambd: -log(1 - u) / lambd for uniform u.
-- opts: generator. Returns x.
function Tensor:exponential_(lambd, opts)
  if is_opts(lambd) then lambd, opts = nil, lambd end
  floating_self('exponential_', self)
  lambd = positive('exponential_', 'lambd', lambd or 1)
  self:uniform_(opts)
  return self:neg_():log1p_():div_(-lambd)
end

--- Tensor:cauchy_(median=0, sigma=1, opts) -> Tensor
-- Fills x in place with Cauchy draws: median + sigma * tan(pi * (u - 1/2)) for uniform u. opts: generator.
function Tensor:cauchy_(median, sigma, opts)
  if is_opts(median) then median, opts = nil, median elseif is_opts(sigma) then sigma, opts = nil, sigma end
  floating_self('cauchy_', self)
  median, sigma = args.number('cauchy_', 'median', median or 0), positive('cauchy_', 'sigma', sigma or 1)
  self:uniform_(opts)
  return self:sub_(0.5):mul_(math.pi):tan_():mul_(sigma):add_(median)
end

--- Tensor:log_normal_(mean=1, std=2, opts) -> Tensor
-- Fills x in place with exp of normal draws of the given mean and std (PyTorch's defaults). opts: generator.
function Tensor:log_normal_(mean, std, opts)
  if is_opts(mean) then mean, opts = nil, mean elseif is_opts(std) then std, opts = nil, std end
  floating_self('log_normal_', self)
  mean, std = args.number('log_normal_', 'mean', mean or 1), positive('log_normal_', 'std', std or 2)
  return self:normal_(mean, std, opts):exp_()
end

--- Tensor:geometric_(p, opts) -> Tensor
-- Fills x in place with the number of Bernoulli(p) trials up to the first success (1, 2, ...):
-- ceil(log(1 - u) / log(1 - p)) for uniform u, with 0 < p <= 1. opts: generator.
function Tensor:geometric_(p, opts)
  args.number('geometric_', 'p', p)
  if not (p > 0 and p <= 1) then argerror('geometric_', 'p must be in (0, 1], got %s', tostring(p)) end
  local draws = torch.empty(self:shape(), { dtype = 'float64', device = self:device() }):uniform_(opts)
  if p == 1 then return self:fill_(1) end
  draws:neg_():log1p_():div_(math.log(1 - p)):ceil_():clamp_(1)
  return self:copy_(draws)
end

-- Torch7's names of the in-place fills (PyTorch has no methods of these names)
alias(Tensor, 'uniform', 'uniform_')
alias(Tensor, 'normal', 'normal_')
alias(Tensor, 'random', 'random_')
alias(Tensor, 'exponential', 'exponential_')
alias(Tensor, 'cauchy', 'cauchy_')
alias(Tensor, 'logNormal', 'log_normal_')
alias(Tensor, 'geometric', 'geometric_')

-- ---- new random tensors ----

local function random_sized(fn, ...)
  local sizes, opts = args.sizes_and_opts(fn, ...)
  local dt, device_type, device_index = args.dtype_device(fn, opts)
  if not dtype.floating[dt] then argerror(fn, 'expected a floating point dtype, got %s', dtype.name[dt]) end
  return creation.empty(sizes, dt, device_type, device_index, fn), opts
end

--- torch.rand(size..., opts) -> Tensor
-- Values drawn uniformly from [0, 1). opts: dtype, device, requires_grad, generator.
-- Example: torch.rand(2, 3)
function torch.rand(...)
  local t, opts = random_sized('rand', ...)
  check(C.tn_uniform_(t._c, 0, 1, generator_of('rand', opts)))
  return creation.apply_requires_grad('rand', t, opts)
end

--- torch.randn(size..., opts) -> Tensor
-- Values drawn from the standard normal distribution. opts: dtype, device, requires_grad, generator.
-- Example: torch.randn(2, 3)
function torch.randn(...)
  local t, opts = random_sized('randn', ...)
  check(C.tn_normal_(t._c, 0, 1, generator_of('randn', opts)))
  return creation.apply_requires_grad('randn', t, opts)
end

--- torch.randint(low, high, size, opts) -> Tensor
--- torch.randint(high, size, opts) -> Tensor
-- Integers drawn uniformly from [low, high) (high excluded; low defaults to 0), int64 unless opts.dtype
-- says otherwise. size is a table or a number. opts: dtype, device, generator.
-- Example: torch.randint(1, 7, {10})   -- ten dice throws
function torch.randint(low, high, size, opts)
  if type(high) == 'table' then low, high, size, opts = 0, low, high, size end
  opts = opts or {}
  if not args.is_integer(low) or not args.is_integer(high) then
    argerror('randint', 'low and high must be integers, got %s and %s', tostring(low), tostring(high))
  end
  if type(size) == 'number' then size = { size } end
  if type(size) ~= 'table' then argerror('randint', 'expected a size table, got %s', type(size)) end
  args.check_sizes('randint', size)
  local dt, device_type, device_index = args.dtype_device('randint', opts, dtype.INT64)
  local t = creation.empty(size, dt, device_type, device_index, 'randint')
  check(C.tn_randint_(t._c, low, high, generator_of('randint', opts)))
  return t
end

--- torch.randperm(n, opts) -> Tensor
-- A random permutation of 1..n (1-based, like every index of this API), int64 unless opts.dtype says
-- otherwise. opts: dtype, device, generator.
function torch.randperm(n, opts)
  opts = opts or {}
  if not args.is_integer(n) or n < 0 then argerror('randperm', 'n must be a non-negative integer, got %s', tostring(n)) end
  local dt = opts.dtype and dtype.parse(opts.dtype, 'randperm') or dtype.INT64
  local t = core.wrap(C.tn_randperm(n, 1, dt, generator_of('randperm', opts)))
  if opts.device then t = t:to({ device = opts.device }) end
  return t
end

--- torch.rand_like(x, opts) -> Tensor
-- torch.rand with the size, dtype and device of x (opts override them; generator too).
function torch.rand_like(x, opts)
  local t, o = creation.like('rand_like', x, opts)
  check(C.tn_uniform_(t._c, 0, 1, generator_of('rand_like', o)))
  return creation.apply_requires_grad('rand_like', t, o)
end

--- torch.randn_like(x, opts) -> Tensor
-- torch.randn with the size, dtype and device of x (opts override them; generator too).
function torch.randn_like(x, opts)
  local t, o = creation.like('randn_like', x, opts)
  check(C.tn_normal_(t._c, 0, 1, generator_of('randn_like', o)))
  return creation.apply_requires_grad('randn_like', t, o)
end

--- torch.randint_like(x, low, high, opts) -> Tensor
--- torch.randint_like(x, high, opts) -> Tensor
-- Integers from [low, high) with the size, dtype and device of x (opts override them; generator too).
function torch.randint_like(x, low, high, opts)
  if high == nil or is_opts(high) then low, high, opts = 0, low, high end
  args.integer('randint_like', 'low', low)
  args.integer('randint_like', 'high', high)
  local t, o = creation.like('randint_like', x, opts)
  check(C.tn_randint_(t._c, low, high, generator_of('randint_like', o)))
  return t
end

--- torch.bernoulli(x, [p], opts) -> Tensor
--- Tensor:bernoulli([p], opts) -> Tensor
-- A tensor of x's size, dtype and device holding 1 where a uniform draw falls below x's element (x a tensor of
-- probabilities) or below the number p when given, and 0 elsewhere. opts: generator.
function Tensor:bernoulli(p, opts)
  if args.is_opts(p) then p, opts = nil, p end
  return torch.empty_like(self):bernoulli_(p == nil and self or p, opts)
end
function torch.bernoulli(x, p, opts)
  core.c_of(x, 'bernoulli', 'the input')
  return Tensor.bernoulli(x, p, opts)
end

--- torch.multinomial(input, num_samples, [replacement], {replacement=false, generator=}) -> Tensor
--- Tensor:multinomial(num_samples, [replacement], opts) -> Tensor
-- num_samples 1-based category indices (int64) drawn from each row of input (1-d, or 2-d: one distribution per
-- row) with probabilities proportional to its weights, which must be finite and non-negative but need not sum
-- to 1. Without replacement (the default) a category is drawn at most once per row, in the order of drawing, so
-- num_samples cannot exceed the row's categories of nonzero weight; with replacement=true the draws are
-- independent. A category of weight zero is never drawn. opts: generator.
-- Example: torch.multinomial(torch.tensor({0.2, 0, 0.8}), 4, true)   -- e.g. {3, 3, 1, 3}
function torch.multinomial(input, n, replacement, opts)
  local fn = 'multinomial'
  core.c_of(input, fn, 'the input')
  if is_opts(replacement) then replacement, opts = replacement.replacement, replacement end
  args.integer(fn, 'num_samples', n)
  if n < 1 then argerror(fn, 'num_samples must be positive, got %d', n) end
  local nd = input:dim()
  if nd < 1 or nd > 2 then argerror(fn, 'expects a 1-d or 2-d tensor of weights, got %d dims', nd) end
  if not dtype.floating[tonumber(input._c.dtype)] then
    argerror(fn, 'expects floating point weights, got %s', input:dtype())
  end
  -- (the draw works in float64 on the CPU: the cumulative sums of many small weights stay exact enough)
  local w = (nd == 1 and input:unsqueeze(1) or input):detach():cpu():double()
  local rows, k = w:size(1), w:size(2)
  if k == 0 then argerror(fn, 'the distribution has no categories') end
  if not w:isfinite():all() or w:lt(0):any() then
    argerror(fn, 'weights must be finite and non-negative (got %s)', w:isfinite():all() and 'a negative one' or 'inf or NaN')
  end
  local positive = w:gt(0)
  local counts = positive:sum(2)
  local fewest = counts:min()
  if fewest == 0 then argerror(fn, 'row %d of the weights sums to zero', counts:eq(0):to('uint8'):argmax()) end
  local random_opts = { dtype = 'float64', generator = generator_of(fn, opts) }
  local drawn
  if replacement then
    -- the first category whose running sum exceeds a uniform draw scaled to the row's total; a draw that rounds
    -- up to the total goes to the last category of nonzero weight
    local running = w:cumsum(2)
    local draws = torch.rand(rows, n, random_opts) * running:narrow(2, k, 1)
    local last = (positive:to('int64') * torch.arange(1, k + 1)):amax(2, true)
    drawn = torch.minimum(torch.searchsorted(running, draws, { right = true }), last)
  else
    if n > fewest then
      argerror(fn, 'cannot draw %d samples without replacement from %d categories of nonzero weight', n, fewest)
    end
    -- weighted sampling without replacement (Efraimidis and Spirakis): the categories of the n largest u^(1/w),
    -- as log(u) / w (weight zero: -inf), largest first
    local keys = torch.rand(rows, k, random_opts):log():div_(w)
    drawn = select(2, keys:topk(n, 2))
  end
  if nd == 1 then drawn = drawn:squeeze(1) end
  return drawn:to(input:device())
end
function Tensor:multinomial(n, replacement, opts) return torch.multinomial(self, n, replacement, opts) end

--- torch.normal(mean, std, size, opts) -> Tensor
-- Normal values of the given mean and standard deviation (numbers); size is a table or a number.
-- opts: dtype, device, generator.
function torch.normal(mean, std, size, opts)
  if type(size) == 'number' then size = { size } end
  local t = opts and torch.empty(size or {}, opts) or torch.empty(size or {})
  return t:normal_(mean, std, opts)
end

-- ---- counts: Poisson and binomial ----

-- A float32 or float64 tensor parameter of poisson/binomial.
local function count_parameter(fn, what, t)
  core.c_of(t, fn, what)
  local dt = t:dtype()
  if dt ~= 'float32' and dt ~= 'float64' then
    argerror(fn, 'expects %s of dtype float32 or float64, got %s', what, dt)
  end
  return t
end

local function count_options(fn, opts)
  if opts == nil then return nil end
  if not is_opts(opts) then argerror(fn, 'expected an options table, got %s', type(opts)) end
  args.check_option_keys(fn, opts, { 'generator' })
  return generator_of(fn, opts)
end

--- torch.poisson(rates, opts) -> Tensor
-- Counts drawn from the Poisson distribution of each element of rates (float32 or float64, finite, >= 0; a rate
-- of 0 gives 0), with rates' shape, dtype and device. Negative, NaN or infinite rates raise, naming the first
-- (PyTorch 1.13 returns garbage for infinite ones). Exact draws, computed in float64: inversion below a rate of
-- 10, Hormann's PTRS transformed rejection from 10 on (see lib/random_draw.h); counts beyond 2^24 (float32) or
-- 2^53 are rounded to the dtype. Each element takes one counter of the generator whatever its number of
-- rejections, so a seed gives the same counts for any number of threads, and on CUDA the CPU's counts (unless a
-- device log or exp differs from the host's in the last bit right at an acceptance bound). The gradient in rates
-- is zero, as in PyTorch. opts: generator.
-- Example: torch.poisson(torch.tensor({0.5, 4, 1e4}))   -- e.g. {1, 3, 9961}
function torch.poisson(rates, opts)
  local fn = 'poisson'
  count_parameter(fn, 'the rates', rates)
  local g = count_options(fn, opts)
  local t = torch.empty(rates:shape(), { dtype = rates:dtype(), device = rates:device() })
  check(C.tn_poisson_(t._c, rates._c, g))
  return t
end

--- torch.binomial(count, prob, opts) -> Tensor
-- The number of successes in count trials of success probability prob: count and prob are float tensors of one
-- dtype (float32 or float64) and device that broadcast together; counts must be integers >= 0, probabilities in
-- [0, 1], or the call raises naming the first bad value (PyTorch 1.13 draws from them anyway, or hangs on NaN).
-- The result has the broadcast shape and their dtype. Exact draws, computed in float64: inversion when
-- count * min(p, 1 - p) < 10, Hormann's BTRS transformed rejection above (see lib/random_draw.h); a counter of the
-- generator per element, as torch.poisson. Not differentiable: backward through it raises, as in PyTorch.
-- opts: generator.
-- Example: torch.binomial(torch.tensor({10, 1000}):float(), torch.tensor({0.5, 0.01}))   -- e.g. {6, 12}
function torch.binomial(count, prob, opts)
  local fn = 'binomial'
  count_parameter(fn, 'the counts', count)
  count_parameter(fn, 'the probabilities', prob)
  if count:dtype() ~= prob:dtype() then
    argerror(fn, 'count and prob must have one dtype, got %s and %s', count:dtype(), prob:dtype())
  end
  if count:device() ~= prob:device() then
    argerror(fn, 'count is on %s, prob on %s', count:device(), prob:device())
  end
  local g = count_options(fn, opts)
  local shape = require('tensor.shape_ops').broadcast_shape(fn, { count:shape(), prob:shape() })
  local t = torch.empty(shape, { dtype = count:dtype(), device = count:device() })
  check(C.tn_binomial_(t._c, count._c, prob._c, g))
  return t
end

core.function_forms({ 'uniform_', 'normal_', 'bernoulli_', 'random_', 'exponential_', 'cauchy_', 'log_normal_', 'geometric_' })

return { Generator = Generator }
