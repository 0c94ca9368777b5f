-- Random numbers: reproducibility (seeds, threads, strides, processes), generator independence, the
-- distributions' statistics (Poisson and binomial counts against their exact probabilities too), CUDA's draws
-- against the CPU's, and argument errors.
--
-- Statistical bounds: with n = 10^6 samples a sample mean lies within 6 standard errors of its expectation
-- with probability 1 - 2e-9, so the tests are (for practical purposes) deterministic failures of a wrong
-- generator only. For a distribution with variance s2 and fourth central moment m4, the standard error of
-- the mean is sqrt(s2 / n) and that of the sample variance sqrt((m4 - s2^2) / n).
local ffi = require 'ffi'
local torch = require 'tensor'

local N = 1000000
local SIGMAS = 6

local function err(f, ...)
  local ok, msg = pcall(f, ...)
  assert.is_false(ok, 'expected an error')
  return tostring(msg)
end

-- mean, variance, min, max of a tensor's values (computed in float64 over its elements)
local function stats(t)
  local d = t:double():contiguous()
  local p, n = d:data_ptr(), d:numel()
  local sum, lo, hi = 0, math.huge, -math.huge
  for i = 0, n - 1 do
    local v = p[i]
    sum = sum + v
    if v < lo then lo = v end
    if v > hi then hi = v end
  end
  local mean, ss = sum / n, 0
  for i = 0, n - 1 do ss = ss + (p[i] - mean) ^ 2 end
  return mean, ss / (n - 1), lo, hi
end

local function within(value, expected, se, what)
  assert(math.abs(value - expected) <= SIGMAS * se,
         string.format('%s = %.6g, expected %.6g within %d standard errors (%.3g)', what, value, expected, SIGMAS, se))
end

local function same_values(a, b)
  assert.are.same(a:shape(), b:shape())
  local x, y = a:double():contiguous():data_ptr(), b:double():contiguous():data_ptr()
  for i = 0, a:numel() - 1 do
    if x[i] ~= y[i] then return false end
  end
  return true
end

describe('reproducibility', function()
  local draws = {
    rand = function(n, o) return torch.rand(n, o) end,
    randn = function(n, o) return torch.randn(n, o) end,
    rand64 = function(n, o) return torch.rand(n, { dtype = 'float64', generator = o and o.generator }) end,
    randn16 = function(n, o) return torch.randn(n, { dtype = 'float16', generator = o and o.generator }) end,
    randint = function(n, o) return torch.randint(-1000, 1000, { n }, o) end,
    randint8 = function(n, o) return torch.randint(-100, 100, { n }, { dtype = 'int8', generator = o and o.generator }) end,
    bernoulli = function(n, o) return torch.zeros(n):bernoulli_(0.3, o) end,
    uniform = function(n, o) return torch.zeros(n, { dtype = 'bfloat16' }):uniform_(-2, 3, o) end,
    normal = function(n, o) return torch.zeros(n, { dtype = 'float64' }):normal_(1, 2, o) end,
    random = function(n, o) return torch.zeros(n, { dtype = 'int32' }):random_(0, 50, o) end,
    randperm = function(n, o) return torch.randperm(n, o) end,
    -- (rates and probabilities across both of each one's methods)
    poisson = function(n, o) return torch.poisson(torch.linspace(0, 40, n, { dtype = 'float64' }), o) end,
    binomial = function(n, o) return torch.binomial(torch.full({ n }, 60, { dtype = 'float32' }), torch.linspace(0, 1, n), o) end,
  }

  for name, draw in pairs(draws) do
    it(name .. ': the same seed gives the same values, another seed others', function()
      torch.manual_seed(1234)
      local a = draw(1000)
      torch.manual_seed(1234)
      local b = draw(1000)
      torch.manual_seed(1235)
      local c = draw(1000)
      assert.is_true(same_values(a, b))
      assert.is_false(same_values(a, c))
      local d = draw(1000) -- the generator moved on
      assert.is_false(same_values(c, d))
    end)

    it(name .. ': the same values on 1 and 2 threads (large enough to split)', function()
      local threads = torch.get_num_threads()
      torch.set_num_threads(1)
      torch.manual_seed(7)
      local ok1, a = pcall(draw, 200003)
      torch.set_num_threads(2)
      torch.manual_seed(7)
      local ok2, b = pcall(draw, 200003)
      torch.set_num_threads(threads)
      assert(ok1, a)
      assert(ok2, b)
      assert.is_true(same_values(a, b))
    end)
  end

  it('a non-contiguous target gets the values a contiguous one would, in logical order', function()
    for _, dt in ipairs({ 'float32', 'float64', 'float16' }) do
      torch.manual_seed(3)
      local c = torch.empty(50, 80, { dtype = dt }):normal_()
      torch.manual_seed(3)
      local base = torch.empty(80, 50, { dtype = dt })
      local nc = base:t()
      nc:normal_()
      assert.is_false(nc:is_contiguous())
      assert.is_true(same_values(c, nc))
      assert.is_true(same_values(c:t(), base))
    end
    torch.manual_seed(9)
    local c = torch.randint(0, 100, { 30, 40 })
    torch.manual_seed(9)
    local big = torch.zeros(30, 80, { dtype = 'int64' })
    local strided = big:narrow(2, 41, 40)
    strided:random_(0, 100)
    assert.is_true(same_values(c, strided))
    assert.are.same(torch.zeros(30, 40, { dtype = 'int64' }):tolist(), big:narrow(2, 1, 40):tolist())
  end)

  it('a fresh process without manual_seed draws the same values every run', function()
    local lib = os.getenv('TENSOR_LIBRARY') or ''
    local cmd = string.format("TENSOR_LIBRARY='%s' luajit -e \"package.path='./lua/?.lua;./lua/?/init.lua;'..package.path " ..
      "local t = require('tensor') local x = t.rand(4):double() io.write(string.format('%%.17g %%.17g', x[1], x[4]))\"", lib)
    local function run()
      local p = io.popen(cmd)
      local s = p:read('*a')
      p:close()
      return s
    end
    local a, b = run(), run()
    assert.truthy(a:match('^%S+ %S+$'), a)
    assert.equals(a, b)
  end)
end)

describe('torch.Generator', function()
  it('generators with the same seed agree and do not move the default generator', function()
    local g1, g2 = torch.Generator(), torch.Generator()
    g1:manual_seed(5)
    g2:manual_seed(5)
    torch.manual_seed(11)
    local expected = torch.rand(20)
    torch.manual_seed(11)
    local a = torch.rand(100, { generator = g1 })
    local b = torch.rand(100, { generator = g2 })
    local after = torch.rand(20)
    assert.is_true(same_values(a, b))
    assert.is_true(same_values(expected, after))
    assert.is_false(same_values(torch.rand(100, { generator = g1 }), a))
  end)

  it('every random function takes {generator = g}', function()
    local function with(seed, f)
      local g = torch.Generator():manual_seed(seed)
      return f(g)
    end
    local fns = {
      function(g) return torch.rand(10, { generator = g }) end,
      function(g) return torch.randn(2, 5, { generator = g }) end,
      function(g) return torch.randint(0, 9, { 10 }, { generator = g }) end,
      function(g) return torch.randint(9, { 10 }, { generator = g }) end,
      function(g) return torch.randperm(10, { generator = g }) end,
      function(g) return torch.zeros(10):uniform_(0, 2, { generator = g }) end,
      function(g) return torch.zeros(10):uniform_({ generator = g }) end,
      function(g) return torch.zeros(10):normal_(0, 2, { generator = g }) end,
      function(g) return torch.zeros(10):normal_({ generator = g }) end,
      function(g) return torch.zeros(10):bernoulli_(0.5, { generator = g }) end,
      function(g) return torch.zeros(10):bernoulli_({ generator = g }) end,
      function(g) return torch.zeros(10):bernoulli_(torch.full({ 10 }, 0.5), { generator = g }) end,
      function(g) return torch.zeros(10):random_(0, 9, { generator = g }) end,
      function(g) return torch.zeros(10):random_(9, { generator = g }) end,
      function(g) return torch.rand_like(torch.zeros(10), { generator = g }) end,
      function(g) return torch.randn_like(torch.zeros(10), { generator = g }) end,
      function(g) return torch.randint_like(torch.zeros(10), 0, 9, { generator = g }) end,
      function(g) return torch.bernoulli(torch.full({ 10 }, 0.5), { generator = g }) end,
      function(g) return torch.normal(0, 1, { 10 }, { generator = g }) end,
      function(g) return torch.poisson(torch.full({ 10 }, 30, { dtype = 'float32' }), { generator = g }) end,
      function(g) return torch.binomial(torch.full({ 10 }, 30, { dtype = 'float64' }), torch.full({ 10 }, 0.5, { dtype = 'float64' }), { generator = g }) end,
    }
    for i, f in ipairs(fns) do
      torch.manual_seed(100)
      local a = with(42, f)
      local b = with(42, f)
      local c = with(43, f)
      assert.is_true(same_values(a, b), 'function ' .. i .. ': same seed')
      assert.is_false(same_values(a, c), 'function ' .. i .. ': another seed')
    end
  end)

  it('state can be saved and restored; initial_seed reports the seed', function()
    local g = torch.Generator():manual_seed(77)
    assert.equals(77, g:initial_seed())
    torch.rand(5, { generator = g })
    local state = g:get_state()
    local a = torch.rand(5, { generator = g })
    g:set_state(state)
    local b = torch.rand(5, { generator = g })
    assert.is_true(same_values(a, b))
    torch.manual_seed(8)
    assert.equals(8, torch.initial_seed())
    local s = torch.get_rng_state()
    local c = torch.randn(4)
    torch.set_rng_state(s)
    assert.is_true(same_values(c, torch.randn(4)))
    assert.matches('torch.Generator%(seed=77, offset=%d+%)', tostring(g))
  end)

  it('negative and large seeds are accepted', function()
    torch.manual_seed(-1)
    local a = torch.rand(3)
    torch.manual_seed(-1)
    assert.is_true(same_values(a, torch.rand(3)))
    torch.manual_seed(2 ^ 62)
    local b = torch.rand(3)
    assert.is_false(same_values(a, b))
  end)
end)

describe('distributions', function()
  setup(function() torch.manual_seed(2024) end)

  it('rand: uniform on [0, 1): mean 1/2, variance 1/12', function()
    for _, dt in ipairs({ 'float32', 'float64' }) do
      local mean, var, lo, hi = stats(torch.rand(N, { dtype = dt }))
      within(mean, 0.5, math.sqrt(1 / 12 / N), dt .. ' mean')
      within(var, 1 / 12, math.sqrt((1 / 80 - 1 / 144) / N), dt .. ' variance')
      assert.is_true(lo >= 0 and hi < 1, string.format('range [%g, %g]', lo, hi))
      assert.is_true(lo < 1e-4 and hi > 1 - 1e-4, 'covers [0, 1)')
    end
  end)

  it('uniform_(a, b): mean (a+b)/2, variance (b-a)^2/12, values in [a, b)', function()
    local mean, var, lo, hi = stats(torch.empty(N, { dtype = 'float64' }):uniform_(-2, 5))
    within(mean, 1.5, math.sqrt(49 / 12 / N), 'mean')
    within(var, 49 / 12, math.sqrt((7 ^ 4 / 80 - (49 / 12) ^ 2) / N), 'variance')
    assert.is_true(lo >= -2 and hi < 5)
  end)

  it('randn: mean 0, variance 1, 68.27% within one standard deviation, symmetric', function()
    for _, dt in ipairs({ 'float32', 'float64' }) do
      local x = torch.randn(N, { dtype = dt })
      local mean, var = stats(x)
      within(mean, 0, math.sqrt(1 / N), dt .. ' mean')
      within(var, 1, math.sqrt(2 / N), dt .. ' variance')
      local p, inside, positive = x:double():data_ptr(), 0, 0
      for i = 0, N - 1 do
        if math.abs(p[i]) < 1 then inside = inside + 1 end
        if p[i] > 0 then positive = positive + 1 end
      end
      within(inside / N, 0.682689492, math.sqrt(0.6827 * 0.3173 / N), dt .. ' fraction within 1 sd')
      within(positive / N, 0.5, math.sqrt(0.25 / N), dt .. ' fraction positive')
    end
  end)

  it('normal_(mean, std): the given mean and standard deviation', function()
    local mean, var = stats(torch.empty(N, { dtype = 'float64' }):normal_(3, 2))
    within(mean, 3, 2 / math.sqrt(N), 'mean')
    within(var, 4, 4 * math.sqrt(2 / N), 'variance')
  end)

  it('randint(low, high): every value in [low, high), each about equally often', function()
    local x = torch.randint(-3, 7, { N })
    assert.equals('int64', x:dtype())
    local p, counts = x:data_ptr(), {}
    for i = 0, N - 1 do
      local v = tonumber(p[i])
      counts[v] = (counts[v] or 0) + 1
    end
    for v = -3, 6 do
      local c = counts[v] or 0
      within(c, N / 10, math.sqrt(N * 0.1 * 0.9), 'count of ' .. v)
      counts[v] = nil
    end
    assert.is_nil(next(counts), 'a value outside [-3, 7)')
  end)

  it('randint covers int64 ranges beyond 2^53 exactly and small dtypes to their limits', function()
    local x = torch.randint(2 ^ 60, 2 ^ 60 + 1024, { 1000 }) -- bounds exact in double; values need all 61 bits
    local p, odd = x:data_ptr(), 0
    for i = 0, 999 do
      local d = tonumber(p[i] - 1152921504606846976LL)
      assert.is_true(d >= 0 and d < 1024, 'offset ' .. d)
      odd = odd + d % 2
    end
    within(odd, 500, math.sqrt(250), 'odd values')
    local mean, _, lo, hi = stats(torch.randint(-128, 128, { N }, { dtype = 'int8' }))
    assert.are.same({ -128, 127 }, { lo, hi })
    within(mean, -0.5, math.sqrt((256 ^ 2 - 1) / 12 / N), 'int8 mean')
    local _, _, blo, bhi = stats(torch.randint(0, 2, { 1000 }, { dtype = 'bool' }))
    assert.are.same({ 0, 1 }, { blo, bhi })
    local f = torch.randint(0, 5, { 1000 }, { dtype = 'float32' })
    for _, v in ipairs(f:tolist()) do assert.is_true(v == math.floor(v) and v >= 0 and v < 5) end
  end)

  it('randperm(n) is a permutation of 1..n; all orders of 3 are about equally likely', function()
    for _, n in ipairs({ 0, 1, 2, 10, 1000, 100003 }) do
      local p = torch.randperm(n)
      assert.equals('int64', p:dtype())
      assert.are.same({ n }, p:shape())
      local seen, ptr = {}, p:data_ptr()
      for i = 0, n - 1 do
        local v = tonumber(ptr[i])
        assert.is_true(v >= 1 and v <= n and not seen[v], 'value ' .. v)
        seen[v] = true
      end
    end
    local counts, trials = {}, 30000
    for _ = 1, trials do
      local p = torch.randperm(3):tolist()
      local key = table.concat(p)
      counts[key] = (counts[key] or 0) + 1
    end
    local orders = 0
    for key, c in pairs(counts) do
      orders = orders + 1
      within(c, trials / 6, math.sqrt(trials / 6 * 5 / 6), 'count of order ' .. key)
    end
    assert.equals(6, orders)
    assert.equals('int32', torch.randperm(5, { dtype = 'int32' }):dtype())
    assert.equals('float32', torch.randperm(5, { dtype = 'float32' }):dtype())
  end)

  it('bernoulli_(p): ones with frequency p', function()
    local mean = stats(torch.zeros(N):bernoulli_(0.3))
    within(mean, 0.3, math.sqrt(0.21 / N), 'frequency')
    local _, _, lo, hi = stats(torch.zeros(1000, { dtype = 'int64' }):bernoulli_(0.5))
    assert.are.same({ 0, 1 }, { lo, hi })
    assert.are.same({ 0, 0, 0 }, torch.ones(3):bernoulli_(0):tolist())
    assert.are.same({ 1, 1, 1 }, torch.zeros(3):bernoulli_(1):tolist())
    local b = torch.zeros(3, { dtype = 'bool' }):bernoulli_(1)
    assert.are.same({ true, true, true }, b:tolist())
  end)

  it('bernoulli_(p_tensor) uses a probability per element, broadcast to the target', function()
    local p = torch.tensor({ 0, 1, 0.25 })
    local x = torch.zeros(N / 4, 3):bernoulli_(p)
    local cols = { x:select(2, 1), x:select(2, 2), x:select(2, 3) }
    assert.are.same({ 0, 0 }, { select(3, stats(cols[1])), select(4, stats(cols[1])) })
    assert.are.same({ 1, 1 }, { select(3, stats(cols[2])), select(4, stats(cols[2])) })
    within(stats(cols[3]), 0.25, math.sqrt(0.25 * 0.75 / (N / 4)), 'frequency of p = 0.25')
    local y = torch.bernoulli(torch.full({ 4 }, 1.0))
    assert.are.same({ 1, 1, 1, 1 }, y:tolist())
  end)
end)

describe('multinomial', function()
  -- Frequencies against the probabilities, within 5 binomial standard deviations (seeded: the draws are fixed).
  local function within(count, trials, p, what)
    local sd = math.sqrt(trials * p * (1 - p))
    assert(math.abs(count - trials * p) <= 5 * sd + 1,
           string.format('%s: %d of %d, expected about %.1f', what, count, trials, trials * p))
  end

  it('draws with replacement in proportion to the weights, never a category of weight zero', function()
    torch.manual_seed(11)
    local weights = torch.tensor({ { 1, 0, 2, 7 }, { 0.5, 0.5, 0, 0 } })
    local n = 20000
    local draws = torch.multinomial(weights, n, true)
    assert.are.same({ 2, n }, draws:size():totable())
    assert.are.equal('int64', draws:dtype())
    local p = { { 0.1, 0, 0.2, 0.7 }, { 0.5, 0.5, 0, 0 } }
    for row = 1, 2 do
      for cat = 1, 4 do
        local count = draws[row]:eq(cat):sum()
        if p[row][cat] == 0 then assert.are.equal(0, count) else within(count, n, p[row][cat], 'row ' .. row) end
      end
    end
  end)

  it('draws without replacement distinct categories, the second in the sequential law', function()
    torch.manual_seed(12)
    local p = { 0.1, 0.2, 0.7 }
    local trials, first, second = 6000, { 0, 0, 0 }, { 0, 0, 0 }
    local weights = torch.tensor(p):double()
    for _ = 1, trials do
      local d = weights:multinomial(2)
      assert.are_not.equal(d[1], d[2])
      first[d[1]], second[d[2]] = first[d[1]] + 1, second[d[2]] + 1
    end
    for i = 1, 3 do
      -- P(second = i) = sum over j ~= i of p_j p_i / (1 - p_j)
      local q = 0
      for j = 1, 3 do if j ~= i then q = q + p[j] * p[i] / (1 - p[j]) end end
      within(first[i], trials, p[i], 'first ' .. i)
      within(second[i], trials, q, 'second ' .. i)
    end
    local all = torch.multinomial(torch.tensor({ 3, 1, 0, 2 }):float(), 3)
    assert.are.same({ 1, 2, 4 }, all:sort():totable())
  end)

  it('is reproducible from a seed or a generator', function()
    local w = torch.rand(3, 10)
    torch.manual_seed(5)
    local a = torch.multinomial(w, 4)
    torch.manual_seed(5)
    assert.are.same(a:totable(), torch.multinomial(w, 4):totable())
    local g1, g2 = torch.Generator(), torch.Generator()
    g1:manual_seed(9)
    g2:manual_seed(9)
    assert.are.same(torch.multinomial(w, 7, true, { generator = g1 }):totable(),
                    w:multinomial(7, { replacement = true, generator = g2 }):totable())
  end)
end)

describe('fills from other distributions', function()
  -- sample statistics of 2*10^5 seeded draws against the distributions' (hand-computed) values
  local n = 200000
  it('exponential_: mean 1/lambd, variance 1/lambd^2, no negative draw', function()
    torch.manual_seed(21)
    local e = torch.empty(n, { dtype = 'float64' }):exponential_(2)
    assert.is_true(math.abs(e:mean() - 0.5) < 0.01)
    assert.is_true(math.abs(e:var() - 0.25) < 0.01)
    assert.is_true(e:min() >= 0)
  end)
  it('cauchy_: the median and the quartiles at median -/+ sigma', function()
    torch.manual_seed(22)
    local c = torch.empty(n, { dtype = 'float64' }):cauchy_(1, 2)
    local sorted = c:sort()
    assert.is_true(math.abs(sorted[n / 2] - 1) < 0.05)
    assert.is_true(math.abs(sorted[n / 4] - (1 - 2)) < 0.1)
    assert.is_true(math.abs(sorted[3 * n / 4] - (1 + 2)) < 0.1)
  end)
  it('log_normal_: its log has the mean and std given', function()
    torch.manual_seed(23)
    local l = torch.empty(n, { dtype = 'float64' }):log_normal_(0.5, 0.25):log()
    assert.is_true(math.abs(l:mean() - 0.5) < 0.005)
    assert.is_true(math.abs(l:std() - 0.25) < 0.005)
  end)
  it('geometric_: P(k) = (1 - p)^(k - 1) p on 1, 2, ..., in any dtype', function()
    torch.manual_seed(24)
    local g = torch.empty(n, { dtype = 'int64' }):geometric_(0.3)
    assert.are.equal(1, g:min())
    for k = 1, 4 do
      local p = (0.7 ^ (k - 1)) * 0.3
      local count = g:eq(k):sum()
      assert.is_true(math.abs(count - n * p) < 5 * math.sqrt(n * p * (1 - p)), 'k = ' .. k)
    end
    assert.are.same({ 1, 1 }, torch.zeros(2):geometric_(1):totable())
  end)
  it("Torch7's names fill in place", function()
    local x = torch.zeros(1000)
    assert.are.equal(x, x:uniform(2, 3))
    assert.is_true(x:min() >= 2 and x:max() < 3)
    assert.are.equal(x, x:normal(5, 0.1))
    assert.is_true(math.abs(x:mean() - 5) < 0.05)
    assert.are.equal(x, x:random(1, 4))
    assert.is_true(x:min() >= 1 and x:max() <= 3)
    assert.is_true(x:exponential():min() >= 0 and x:logNormal():min() > 0 and x:geometric(0.5):min() >= 1)
    x:cauchy()
    local g1, g2 = torch.Generator(), torch.Generator()
    g1:manual_seed(3)
    g2:manual_seed(3)
    assert.are.same(torch.zeros(5):exponential_(1, { generator = g1 }):totable(),
                    torch.exponential_(torch.zeros(5), { generator = g2 }):totable())
  end)
end)

-- Poisson and binomial counts. The goodness of fit is Pearson's chi-square of 2*10^5 seeded draws against the
-- exact probabilities (torch.distributions' log_prob, computed by PyTorch at test time), over groups of values
-- expected at least 20 times each, values beyond 12 standard deviations counting as a failure (their mass is below
-- 1e-20). The bound is the chi-square quantile at 1 - 1e-9 (Wilson-Hilferty, z = 6), so that a correct sampler
-- fails with probability about 1e-9 per parameter; the seed is fixed besides.
describe('poisson and binomial', function()
  local ref = require 'helpers.torchref'
  local F64 = { dtype = 'float64' }
  local FIT_N = 200000

  -- the parameters each sampler's methods switch at (Poisson: 10; binomial: min(np, n(1 - p)) = 10)
  local poisson_rates = { 0.1, 3, 9.99, 10, 50, 1e4, 3e6 }
  local binomial_pairs = { { 10, 0.5 }, { 20, 0.1 }, { 15, 0.7 }, { 100, 0.95 }, { 200, 0.05 }, { 40, 0.5 },
                           { 1000, 0.3 }, { 1000, 0.97 }, { 1e6, 0.4 }, { 1e9, 2e-9 } }

  local function range_of(mean, sd, n)
    local lo, hi = math.max(0, math.floor(mean - 12 * sd)), math.ceil(mean + 12 * sd) + 20
    return lo, n and math.min(hi, n) or hi
  end

  -- The probabilities of lo..hi from PyTorch, for every parameter of both lists (one Python process).
  local pmfs
  local function reference()
    if pmfs then return pmfs end
    local batch = {}
    for _, lam in ipairs(poisson_rates) do
      local lo, hi = range_of(lam, math.sqrt(lam))
      batch[#batch + 1] = { ('out = torch.distributions.Poisson(torch.tensor(%.17g, dtype=torch.float64))' ..
                             '.log_prob(torch.arange(%d, %d, dtype=torch.float64)).exp()'):format(lam, lo, hi + 1) }
    end
    for _, c in ipairs(binomial_pairs) do
      local n, p = c[1], c[2]
      local lo, hi = range_of(n * p, math.sqrt(n * p * (1 - p)), n)
      batch[#batch + 1] = { ('out = torch.distributions.Binomial(%d, probs=torch.tensor(%.17g, dtype=torch.float64))' ..
                             '.log_prob(torch.arange(%d, %d, dtype=torch.float64)).exp()'):format(n, p, lo, hi + 1) }
    end
    pmfs = ref.batch(batch)
    return pmfs
  end

  -- Pearson's statistic of draws (a tensor) against pmf.values for lo..hi, and its bound: consecutive values
  -- grouped until each group expects 20 draws, the remainder joining the last group.
  local function chi_square(draws, pmf, lo, hi, what)
    local counts, n = {}, draws:numel()
    local ptr = draws:double():contiguous():data_ptr()
    for i = 0, n - 1 do
      local k = ptr[i]
      assert(k == math.floor(k) and k >= lo and k <= hi, string.format('%s: draw %.17g outside %d..%d', what, k, lo, hi))
      counts[k] = (counts[k] or 0) + 1
    end
    local groups, expected, observed = {}, 0, 0
    for k = lo, hi do
      expected, observed = expected + n * pmf.values[k - lo + 1], observed + (counts[k] or 0)
      if expected >= 20 or k == hi then
        if expected < 20 and #groups > 0 then
          local last = groups[#groups]
          last.e, last.o = last.e + expected, last.o + observed
        else
          groups[#groups + 1] = { e = expected, o = observed }
        end
        expected, observed = 0, 0
      end
    end
    local stat = 0
    for _, grp in ipairs(groups) do stat = stat + (grp.o - grp.e) ^ 2 / grp.e end
    local df = #groups - 1
    return stat, df * (1 - 2 / (9 * df) + 6 * math.sqrt(2 / (9 * df))) ^ 3, df
  end

  it('poisson: chi-square goodness of fit against the Poisson pmf, for rates on both sides of 10', function()
    local pmf = reference()
    for i, lam in ipairs(poisson_rates) do
      local g = torch.Generator():manual_seed(100 + i)
      local draws = torch.poisson(torch.full({ FIT_N }, lam, F64), { generator = g })
      local lo, hi = range_of(lam, math.sqrt(lam))
      local stat, bound, df = chi_square(draws, pmf[i], lo, hi, 'rate ' .. lam)
      assert(stat <= bound, string.format('rate %g: chi-square %.1f over %d degrees of freedom, bound %.1f', lam, stat, df, bound))
    end
  end)

  it('binomial: chi-square goodness of fit against the binomial pmf, inversion, BTRS and reflection', function()
    local pmf = reference()
    for i, c in ipairs(binomial_pairs) do
      local n, p = c[1], c[2]
      local g = torch.Generator():manual_seed(200 + i)
      local draws = torch.binomial(torch.full({ FIT_N }, n, F64), torch.full({ FIT_N }, p, F64), { generator = g })
      local lo, hi = range_of(n * p, math.sqrt(n * p * (1 - p)), n)
      local stat, bound, df = chi_square(draws, pmf[#poisson_rates + i], lo, hi, ('n %g p %g'):format(n, p))
      assert(stat <= bound, string.format('n %g, p %g: chi-square %.1f over %d degrees of freedom, bound %.1f', n, p,
                                          stat, df, bound))
    end
  end)

  it('poisson: mean and variance lam for rates 0.1, 3, 50 and 1e4, in float32 and float64', function()
    torch.manual_seed(31)
    for _, dt in ipairs({ 'float32', 'float64' }) do
      for _, lam in ipairs({ 0.1, 3, 50, 1e4 }) do
        local x = torch.poisson(torch.full({ N }, lam, { dtype = dt }))
        assert.equals(dt, x:dtype())
        local mean, var, lo = stats(x)
        within(mean, lam, math.sqrt(lam / N), ('%s rate %g mean'):format(dt, lam))
        within(var, lam, math.sqrt((lam + 2 * lam * lam) / N), ('%s rate %g variance'):format(dt, lam))
        assert.is_true(lo >= 0)
      end
    end
  end)

  it('binomial: mean np and variance np(1 - p) for several (count, prob) pairs', function()
    torch.manual_seed(32)
    for _, c in ipairs({ { 5, 0.3 }, { 30, 0.5 }, { 80, 0.9 }, { 1000, 0.3 }, { 1e5, 0.02 }, { 1, 0.7 } }) do
      for _, dt in ipairs({ 'float32', 'float64' }) do
        local n, p = c[1], c[2]
        local x = torch.binomial(torch.full({ N }, n, { dtype = dt }), torch.full({ N }, p, { dtype = dt }))
        local q = 1 - p
        local s2 = n * p * q
        local m4 = s2 * (1 + 3 * (n - 2) * p * q)
        local mean, var, lo, hi = stats(x)
        within(mean, n * p, math.sqrt(s2 / N), ('%s n %g p %g mean'):format(dt, n, p))
        within(var, s2, math.sqrt((m4 - s2 * s2) / N), ('%s n %g p %g variance'):format(dt, n, p))
        assert.is_true(lo >= 0 and hi <= n)
      end
    end
  end)

  it('take a parameter per element, broadcast and strided; the edge parameters give their certain values', function()
    torch.manual_seed(33)
    local reps = 100000
    local rates = torch.tensor({ 0, 0.1, 3, 50 }, F64):view(4, 1):expand(4, reps)
    local x = torch.poisson(rates)
    assert.are.same({ 4, reps }, x:shape())
    assert.are.same({ 0, 0 }, { x[1]:min(), x[1]:max() })
    for i, lam in ipairs({ 0.1, 3, 50 }) do within(x[i + 1]:mean(), lam, math.sqrt(lam / reps), 'row of rate ' .. lam) end
    local counts = torch.tensor({ 5, 50, 500 }, F64):view(3, 1, 1):expand(3, 1, reps)
    local probs = torch.tensor({ 0.1, 0.5, 0.9 }, F64):view(1, 3, 1)
    local b = torch.binomial(counts, probs)
    assert.are.same({ 3, 3, reps }, b:shape())
    for i, n in ipairs({ 5, 50, 500 }) do
      for j, p in ipairs({ 0.1, 0.5, 0.9 }) do
        within(b[i][j]:mean(), n * p, math.sqrt(n * p * (1 - p) / reps), ('n %d p %g'):format(n, p))
      end
    end
    -- certain outcomes
    assert.are.same({ 0, 7, 0, 0 }, torch.binomial(torch.tensor({ 0, 7, 7, 0 }):float(), torch.tensor({ 0.5, 1, 0, 1 })):totable())
    assert.are.same({ 0, 0 }, torch.poisson(torch.zeros(2)):totable())
    -- empty and 0-d tensors
    assert.are.same({ 0, 3 }, torch.poisson(torch.zeros(0, 3)):shape())
    assert.are.same({ 2, 0 }, torch.binomial(torch.zeros(2, 1), torch.zeros(0)):shape())
    local s = torch.poisson(torch.tensor(4.5))
    assert.are.same({}, s:shape())
    assert.is_true(s:item() >= 0 and s:item() == math.floor(s:item()))
  end)

  it('draw from one counter per element: reproducible by seed, strides, generators and generator states', function()
    local rates = torch.rand(30, 40, F64):mul(25)
    local g = torch.Generator():manual_seed(5)
    local before = g.offset
    local a = torch.poisson(rates:t(), { generator = g })
    assert.equals(1200ULL, g.offset - before)
    g:manual_seed(5)
    assert.is_true(same_values(a, torch.poisson(rates:t():contiguous(), { generator = g })))
    local counts, probs = torch.full({ 40, 30 }, 70, F64), rates:t() / 25
    g:manual_seed(6)
    local state = g:get_state()
    local b = torch.binomial(counts, probs, { generator = g })
    assert.equals(1200ULL, g.offset - state.offset)
    g:set_state(state)
    assert.is_true(same_values(b, torch.binomial(counts, probs:contiguous(), { generator = g })))
    torch.manual_seed(8)
    local c = torch.poisson(rates)
    torch.manual_seed(8)
    assert.is_true(same_values(c, torch.poisson(rates)))
    assert.is_false(same_values(c, torch.poisson(rates)))
  end)

  it('poisson has a zero gradient in the rates; backward through binomial raises (both as PyTorch)', function()
    local r = torch.tensor({ 1, 2.5, 40 }, F64):requires_grad_()
    local y = torch.poisson(r)
    assert.is_true(y.requires_grad)
    y:mul(torch.tensor({ 1, 2, 3 }, F64)):sum():backward()
    assert.are.same({ 0, 0, 0 }, r.grad:totable())
    local n = torch.tensor({ 5, 9 }, F64):requires_grad_()
    local z = torch.binomial(n, torch.tensor({ 0.5, 0.5 }, F64))
    assert.matches('binomial: the derivative of binomial is not implemented',
                   err(function() z:sum():backward() end))
  end)
end)

-- The CUDA kernels draw the CPU's counts from the same generator state. Without a CUDA device the block is pending;
-- TENSOR_CUDA_OPS_DEVICE=cpu runs it with the CPU as the device under test (a check of the block).
describe('on CUDA, poisson and binomial draw what the CPU draws', function()
  local ondevice = require 'helpers.ondevice'
  if ondevice.skipped() then return end
  local DEV = ondevice.device
  local function pair(seed) return torch.Generator():manual_seed(seed), torch.Generator():manual_seed(seed) end

  it('the same counts and generator offsets, float32 and float64, both methods of each, strided parameters', function()
    for _, dt in ipairs({ 'float32', 'float64' }) do
      -- rates from 0 to 60 and a few large ones; probabilities over [0, 1]; counts up to 10^6
      local rates = torch.cat({ torch.linspace(0, 60, 3001, { dtype = dt }), torch.tensor({ 1e4, 3e6, 1e9 }, { dtype = dt }) })
      local g1, g2 = pair(11)
      local want = torch.poisson(rates, { generator = g1 })
      local got = torch.poisson(rates:to(DEV), { generator = g2 })
      assert.equals(DEV == 'cuda' and 'cuda:0' or 'cpu', got:device())
      assert.is_true(same_values(want, got:cpu()), 'poisson ' .. dt)
      assert.equals(g1.offset, g2.offset)
      local counts = torch.tensor({ 0, 1, 5, 20, 60, 300, 1e4, 1e6 }, { dtype = dt }):view(8, 1)
      local probs = torch.linspace(0, 1, 401, { dtype = dt }):view(1, 401)
      g1, g2 = pair(12)
      want = torch.binomial(counts, probs, { generator = g1 })
      got = torch.binomial(counts:to(DEV), probs:to(DEV), { generator = g2 })
      assert.is_true(same_values(want, got:cpu()), 'binomial ' .. dt)
      g1, g2 = pair(13)
      local strided = torch.rand(50, 40, { dtype = dt }):mul(30)
      want = torch.poisson(strided:t(), { generator = g1 })
      got = torch.poisson(strided:to(DEV):t(), { generator = g2 })
      assert.is_true(same_values(want, got:cpu()), 'poisson of a transposed tensor ' .. dt)
      assert.equals(g1.offset, g2.offset)
    end
  end)

  it('check the parameters of device tensors as on the CPU', function()
    assert.matches('poisson: expected finite rates >= 0, got %-1 at element 2',
                   err(torch.poisson, torch.tensor({ 1, -1 }):float():to(DEV)))
    assert.matches('binomial: expected probabilities in %[0, 1%], got 2 at element 1',
                   err(torch.binomial, torch.ones(1):to(DEV), torch.tensor({ 2 }):float():to(DEV)))
  end)
end)

describe('random argument errors', function()
  local cases = {
    { 'rand: negative size %-1 in %[%-1%]', torch.rand, -1 },
    { 'rand: size 1 must be an integer, got 0.5', torch.rand, 0.5 },
    { "rand: unknown dtype 'foo'", torch.rand, 2, { dtype = 'foo' } },
    { 'rand: expected a floating point dtype, got int64', torch.rand, 2, { dtype = 'int64' } },
    { 'rand: generator must come from torch.Generator%(%), got number', torch.rand, 3, { generator = 5 } },
    { 'randn: negative size %-2', torch.randn, 3, -2 },
    { 'randn: expected a floating point dtype, got bool', torch.randn, 3, { dtype = 'bool' } },
    { 'randint: expected low < high, got low=5 high=2', torch.randint, 5, 2, { 3 } },
    { 'randint: expected low < high, got low=0 high=0', torch.randint, 0, { 3 } },
    { 'randint: low and high must be integers, got 0.5 and 2', torch.randint, 0.5, 2, { 3 } },
    { 'randint: expected a size table, got nil', torch.randint, 0, 2 },
    { 'randint: negative size %-3', torch.randint, 0, 2, { -3 } },
    { 'randint: range %[0, 1000%) does not fit dtype uint8 %(values 0 to 255%)', torch.randint, 0, 1000, { 3 }, { dtype = 'uint8' } },
    { 'randint: range %[%-200, 0%) does not fit dtype int8', torch.randint, -200, 0, { 3 }, { dtype = 'int8' } },
    { 'randint: range %[0, 3%) does not fit dtype bool', torch.randint, 0, 3, { 3 }, { dtype = 'bool' } },
    { 'randperm: n must be a non%-negative integer, got %-1', torch.randperm, -1 },
    { 'randperm: n must be a non%-negative integer, got 1.5', torch.randperm, 1.5 },
    { 'randperm: unsupported dtype bool', torch.randperm, 3, { dtype = 'bool' } },
    { 'randperm: the values 1 to 128 do not fit dtype int8', torch.randperm, 128, { dtype = 'int8' } },
    { 'randperm: the values 1 to 2049 do not fit dtype float16', torch.randperm, 2049, { dtype = 'float16' } },
    { 'randperm: .*too large', torch.randperm, 2 ^ 62 },
    { 'manual_seed: seed must be an integer, got a', torch.manual_seed, 'a' },
    { 'manual_seed: seed must be an integer, got 1.5', torch.manual_seed, 1.5 },
    { 'uniform_: expected low <= high, got low=2 high=1', function() torch.zeros(3):uniform_(2, 1) end },
    { 'uniform_: from must be a number, got a', function() torch.zeros(3):uniform_('a') end },
    { 'uniform_: expected a floating point tensor, got int32', function() torch.zeros(3, { dtype = 'int32' }):uniform_() end },
    { 'normal_: expected std >= 0, got %-1', function() torch.zeros(3):normal_(0, -1) end },
    { 'normal_: std must be a number, got x', function() torch.zeros(3):normal_(0, 'x') end },
    { 'bernoulli_: expected 0 <= p <= 1, got 1.5', function() torch.zeros(3):bernoulli_(1.5) end },
    { 'bernoulli_: expected 0 <= p <= 1, got %-?nan', function() torch.zeros(3):bernoulli_(0 / 0) end },
    { 'bernoulli_: p must be a number, got a', function() torch.zeros(3):bernoulli_('a') end },
    { 'bernoulli_: probability 2 at element 2 is outside %[0, 1%]', function() torch.zeros(3):bernoulli_(torch.tensor({ 0.5, 2, 0.1 })) end },
    { 'bernoulli_: expand: cannot expand size %[4%] to %[3%]', function() torch.zeros(3):bernoulli_(torch.zeros(4)) end },
    { 'random_: expected an upper bound', function() torch.zeros(3):random_() end },
    { 'random_: high must be an integer, got 2.5', function() torch.zeros(3):random_(0, 2.5) end },
    { 'random_: range %[0, 1000%) does not fit dtype uint8', function() torch.zeros(3, { dtype = 'uint8' }):random_(0, 1000) end },
    { 'random_: range %[%-70000, 0%) does not fit dtype float16', function() torch.zeros(3, { dtype = 'float16' }):random_(-70000, 0) end },
    { 'uniform_: the range %[0, 1e%+06%) does not fit dtype float16', function() torch.zeros(3, { dtype = 'float16' }):uniform_(0, 1e6) end },
    { 'uniform_: the range %[0, inf%) does not fit dtype float32', function() torch.zeros(3):uniform_(0, math.huge) end },
    { 'randint_like: high must be an integer, got nil', function() torch.randint_like(torch.zeros(2)) end },
    { 'bernoulli: expected a tensor for the input, got number', function() torch.bernoulli(0.5) end },
    { 'multinomial: cannot draw 2 samples without replacement from 1 categories of nonzero weight',
      torch.multinomial, torch.tensor({ 1, 0 }):float(), 2 },
    { 'multinomial: row 2 of the weights sums to zero', torch.multinomial, torch.tensor({ { 1, 0 }, { 0, 0 } }):float(), 1 },
    { 'multinomial: weights must be finite and non%-negative %(got a negative one%)', torch.multinomial,
      torch.tensor({ 1, -1 }):float(), 1 },
    { 'multinomial: weights must be finite and non%-negative %(got inf or NaN%)', torch.multinomial,
      torch.tensor({ 1, 0 / 0 }), 1 },
    { 'multinomial: expects floating point weights, got int64', torch.multinomial, torch.tensor({ 1, 2 }), 1 },
    { 'multinomial: expects a 1%-d or 2%-d tensor of weights, got 3 dims', torch.multinomial, torch.ones(1, 1, 2), 1 },
    { 'multinomial: num_samples must be positive, got 0', torch.multinomial, torch.ones(2), 0 },
    { 'multinomial: the distribution has no categories', torch.multinomial, torch.ones(2, 0), 1 },
    { 'exponential_: lambd must be positive and finite, got 0', function() torch.zeros(2):exponential_(0) end },
    { 'exponential_: expected a floating point tensor, got int64', function() torch.zeros(2):long():exponential_() end },
    { 'cauchy_: sigma must be positive and finite, got %-1', function() torch.zeros(2):cauchy_(0, -1) end },
    { 'log_normal_: std must be positive and finite, got 0', function() torch.zeros(2):log_normal_(0, 0) end },
    { 'geometric_: p must be in %(0, 1%], got 0', function() torch.zeros(2):geometric_(0) end },
    { 'geometric_: p must be a number, got nil', function() torch.zeros(2):geometric_() end },
    { 'poisson: expected finite rates >= 0, got %-1 at element 2', torch.poisson, torch.tensor({ 1, -1, -2 }):float() },
    { 'poisson: expected finite rates >= 0, got %-?nan at element 3', torch.poisson, torch.tensor({ 1, 2, 0 / 0 }) },
    { 'poisson: expected finite rates >= 0, got inf at element 1', torch.poisson, torch.tensor({ math.huge }, { dtype = 'float64' }) },
    { 'poisson: expects the rates of dtype float32 or float64, got int64', torch.poisson, torch.tensor({ 1, 2 }) },
    { 'poisson: expects the rates of dtype float32 or float64, got float16', torch.poisson, torch.ones(2, { dtype = 'float16' }) },
    { 'poisson: expected a tensor for the rates, got number', torch.poisson, 3 },
    { 'poisson: unknown option generatr', torch.poisson, torch.ones(2), { generatr = torch.Generator() } },
    { 'poisson: generator must come from torch.Generator%(%), got number', torch.poisson, torch.ones(2), { generator = 1 } },
    { 'binomial: expected counts that are integers >= 0, got 2.5 at element 1', torch.binomial,
      torch.tensor({ 2.5, 3 }), torch.tensor({ 0.5, 0.5 }) },
    { 'binomial: expected counts that are integers >= 0, got %-1 at element 2', torch.binomial,
      torch.tensor({ 2, -1 }):float(), torch.tensor({ 0.5 }) },
    { 'binomial: expected counts that are integers >= 0, got %-?nan at element 1', torch.binomial,
      torch.tensor({ 0 / 0 }), torch.tensor({ 0.5 }) },
    { 'binomial: expected probabilities in %[0, 1%], got 1.5 at element 2', torch.binomial,
      torch.tensor({ 4, 4 }):float(), torch.tensor({ 0.5, 1.5 }) },
    { 'binomial: expected probabilities in %[0, 1%], got %-?nan at element 3', torch.binomial,
      torch.full({ 3 }, 4, { dtype = 'float32' }), torch.tensor({ 0.5, 0.1, 0 / 0 }) },
    { 'binomial: count and prob must have one dtype, got float32 and float64', torch.binomial,
      torch.ones(2), torch.ones(2, { dtype = 'float64' }) },
    { 'binomial: expects the counts of dtype float32 or float64, got int64', torch.binomial, torch.tensor({ 3 }), torch.ones(1) },
    { 'binomial: expects the probabilities of dtype float32 or float64, got bool', torch.binomial,
      torch.ones(1), torch.ones(1, { dtype = 'bool' }) },
    { 'binomial: expected a tensor for the probabilities, got number', torch.binomial, torch.ones(1), 0.5 },
    { 'binomial: shapes %[2%] and %[3%] cannot be broadcast together', torch.binomial, torch.ones(2), torch.ones(3) },
  }
  for _, c in ipairs(cases) do
    it(c[1], function()
      assert.matches(c[1], err(c[2], unpack(c, 3, table.maxn(c))))
    end)
  end
end)
