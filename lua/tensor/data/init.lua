-- tensor.data: datasets, batching, the bundled 8x8 digits, the MNIST/IDX reader and a progress bar.
--
--   local loader = data.DataLoader(data.TensorDataset(x, y), {batch_size = 64, shuffle = true})
--   for bx, by in loader:iter() do ... end
local core = require 'tensor.core'
local torch = require 'tensor'
local idx = require 'tensor.data.idx'

local is_tensor = core.is_tensor

local data = {}
data.read_idx = idx.read
data.progress = require('tensor.data.progress').progress
data.DistributedSampler = require('tensor.data.sampler').DistributedSampler

-- ---------------------------------------------------------------- datasets

--- data.Dataset
-- The base of map-style datasets: subclass with data.Dataset:extend() and define size() and get(i) (1-based),
-- where get returns one sample (a tensor, or several values).
local Dataset = {}
Dataset.__index = Dataset
data.Dataset = Dataset

function Dataset:extend()
  local class = setmetatable({}, { __index = self, __call = function(cls, ...) return cls.new(...) end })
  class.__index = class
  class.new = function(...)
    local obj = setmetatable({}, class)
    if class.init then obj:init(...) end
    return obj
  end
  return class
end
function Dataset:size() error('Dataset: size() is not implemented', 2) end
function Dataset:get() error('Dataset: get(i) is not implemented', 2) end

--- data.TensorDataset(t1, t2, ...) -> dataset
-- Sample i is (t1[i], t2[i], ...), taken along the first dim; all tensors must agree on its size.
local TensorDataset = Dataset:extend()
data.TensorDataset = TensorDataset
function TensorDataset:init(...)
  local n = select('#', ...)
  if n == 0 then error('TensorDataset: expected at least one tensor', 3) end
  self.tensors = { ... }
  for i, t in ipairs(self.tensors) do
    if not is_tensor(t) or t:dim() == 0 then
      error(string.format('TensorDataset: argument %d must be a tensor with at least one dimension', i), 3)
    end
    if t:size(1) ~= self.tensors[1]:size(1) then
      error(string.format('TensorDataset: tensor %d has %d samples but tensor 1 has %d', i, t:size(1),
                          self.tensors[1]:size(1)), 3)
    end
  end
end
function TensorDataset:size() return self.tensors[1]:size(1) end
function TensorDataset:get(i)
  local out = {}
  for k, t in ipairs(self.tensors) do out[k] = t[i] end
  return unpack(out, 1, #self.tensors)
end

-- ---------------------------------------------------------------- batching

-- Stacks a list of samples (each a list of values) into one batch per position.
local function default_collate(samples)
  local first = samples[1]
  local out = {}
  for k = 1, #first do
    local v = first[k]
    if is_tensor(v) then
      local list = {}
      for i, s in ipairs(samples) do list[i] = s[k] end
      out[k] = torch.stack(list, 1)
    elseif type(v) == 'number' or type(v) == 'boolean' then
      local list = {}
      for i, s in ipairs(samples) do list[i] = s[k] end
      out[k] = torch.tensor(list)
    else
      local list = {}
      for i, s in ipairs(samples) do list[i] = s[k] end
      out[k] = list
    end
  end
  return out
end
data.default_collate = default_collate

local Loader = {}
Loader.__index = Loader

--- data.DataLoader(dataset, {batch_size=1, shuffle=false, drop_last=false, collate=fn, sampler=, generator=,
---   progress=false}) -> loader
-- Batches a dataset. `for x, y in loader:iter() do` yields each batch (shuffled with the framework's
-- generator, or `generator`, every epoch when shuffle); #loader is the number of batches. A TensorDataset is
-- batched with one index_select per tensor; other datasets go through collate (default: stack tensors).
function data.DataLoader(dataset, opts)
  opts = opts or {}
  if type(dataset) ~= 'table' or type(dataset.size) ~= 'function' or type(dataset.get) ~= 'function' then
    error('DataLoader: expected a dataset with size() and get(i)', 2)
  end
  local batch_size = opts.batch_size or 1
  if type(batch_size) ~= 'number' or batch_size < 1 or batch_size ~= math.floor(batch_size) then
    error('DataLoader: batch_size must be a positive integer, got ' .. tostring(batch_size), 2)
  end
  local state = setmetatable({
    dataset = dataset, batch_size = batch_size, shuffle = opts.shuffle == true, drop_last = opts.drop_last == true,
    collate = opts.collate, sampler = opts.sampler, generator = opts.generator, progress = opts.progress == true,
  }, Loader)
  -- A userdata front, so that #loader works under Lua 5.1 semantics.
  local proxy = newproxy(true)
  local mt = getmetatable(proxy)
  mt.__index = state
  mt.__newindex = state
  mt.__len = function() return state:num_batches() end
  mt.__tostring = function()
    return string.format('DataLoader(%d samples, batch_size=%d, %d batches)', dataset:size(), batch_size,
                         state:num_batches())
  end
  return proxy
end

function Loader:num_samples()
  if self.sampler then return self.sampler:size() end
  return self.dataset:size()
end

function Loader:num_batches()
  local n = self:num_samples()
  if self.drop_last then return math.floor(n / self.batch_size) end
  return math.ceil(n / self.batch_size)
end
Loader.size = Loader.num_batches

-- The sample order for one epoch (an int64 tensor of 1-based indices).
function Loader:epoch_indices()
  if self.sampler then return self.sampler:indices() end
  local n = self.dataset:size()
  if self.shuffle then return torch.randperm(n, { generator = self.generator }) end
  return torch.arange(1, n + 1)
end

--- loader:iter() -> iterator over batches
function Loader:iter()
  local order = self:epoch_indices()
  local n, b = order:numel(), self.batch_size
  local batches = self:num_batches()
  local k = 0
  local tensors = getmetatable(self.dataset) == TensorDataset and not self.collate and self.dataset.tensors
  return function()
    k = k + 1
    if k > batches then return nil end
    local start = (k - 1) * b + 1
    local count = math.min(b, n - start + 1)
    local ids = order:narrow(1, start, count)
    if self.progress then data.progress(k, batches) end
    if tensors then
      local out = {}
      for j, t in ipairs(tensors) do out[j] = t:index_select(1, ids) end
      return unpack(out, 1, #tensors)
    end
    local samples = {}
    for i = 1, count do samples[i] = { self.dataset:get(ids[i]) } end
    local batch = (self.collate or default_collate)(samples)
    -- a list is returned as several values (for x, y in loader:iter()); anything else (a tensor, a table of
    -- named fields) as it is
    if type(batch) ~= 'table' or is_tensor(batch) or batch[1] == nil then return batch end
    return unpack(batch, 1, table.maxn(batch))
  end
end

-- ---------------------------------------------------------------- bundled and standard data

local function module_dir()
  return debug.getinfo(1, 'S').source:match('^@(.*)init%.lua$') or './'
end

-- A deterministic split of n samples: a permutation from a generator seeded with `seed`.
local function split(n, test_fraction, seed)
  local g = torch.Generator():manual_seed(seed or 0)
  local perm = torch.randperm(n, { generator = g })
  local n_test = math.floor(n * test_fraction + 0.5)
  return perm:narrow(1, n_test + 1, n - n_test), perm:narrow(1, 1, n_test)
end

--- data.digits({test_fraction=0.2, seed=0, flatten=true}) -> train, test
-- The 1797 8x8 handwritten digits bundled with the rock (from scikit-learn's copy of the UCI data). Each of
-- train/test is {x = float32 [N x 64] (or [N x 1 x 8 x 8] with flatten=false) scaled to [0, 1],
-- y = int64 labels 1..10 (digit d has label d+1)}. The split is a fixed shuffle (seed).
function data.digits(opts)
  opts = opts or {}
  local dir = module_dir()
  local images = idx.read(dir .. 'digits-images-idx3-ubyte')
  local labels = idx.read(dir .. 'digits-labels-idx1-ubyte')
  local n = images:size(1)
  local x = images:float():div_(16)
  x = opts.flatten == false and x:view(n, 1, 8, 8) or x:view(n, 64)
  local y = labels:long():add_(1)
  local train_ids, test_ids = split(n, opts.test_fraction or 0.2, opts.seed)
  return { x = x:index_select(1, train_ids), y = y:index_select(1, train_ids) },
         { x = x:index_select(1, test_ids), y = y:index_select(1, test_ids) }
end

local function find_idx(dir, stem)
  for _, name in ipairs({ stem, stem .. '.gz' }) do
    local path = dir .. '/' .. name
    local f = io.open(path, 'rb')
    if f then
      f:close()
      return path
    end
  end
  error(string.format("mnist: neither '%s' nor '%s.gz' exists in %s", stem, stem, dir), 3)
end

--- data.mnist(dir, {normalize=false}) -> train, test
-- Reads MNIST-format IDX files (train-images-idx3-ubyte, train-labels-idx1-ubyte, t10k-..., plain or .gz)
-- from dir — e.g. /usr/share/datasets/fashion-mnist from Debian's dataset-fashion-mnist. Returns
-- {x = float32 [N x 1 x 28 x 28] in [0, 1], y = int64 labels 1..10} for each split; with normalize=true x is
-- standardised by the training set's mean and std.
function data.mnist(dir, opts)
  opts = opts or {}
  if type(dir) ~= 'string' then error('mnist: expected a directory', 2) end
  local function load(prefix)
    local images = idx.read(find_idx(dir, prefix .. '-images-idx3-ubyte'))
    local labels = idx.read(find_idx(dir, prefix .. '-labels-idx1-ubyte'))
    if images:dim() ~= 3 or labels:dim() ~= 1 or images:size(1) ~= labels:size(1) then
      error(string.format('mnist: %s images [%s] and labels [%s] do not match', prefix,
                          table.concat(images:shape(), ' x '), table.concat(labels:shape(), ' x ')), 3)
    end
    local n, h, w = images:size(1), images:size(2), images:size(3)
    return { x = images:float():div_(255):view(n, 1, h, w), y = labels:long():add_(1) }
  end
  local train, test = load('train'), load('t10k')
  if opts.normalize then
    local mean, std = train.x:mean(), train.x:std()
    train.x:sub_(mean):div_(std)
    test.x:sub_(mean):div_(std)
  end
  return train, test
end

return data
