-- tensor.nn.sparse: Embedding and EmbeddingBag.
local torch = require 'tensor'
local common = require 'tensor.nn.common'
local F = require 'tensor.nn.functional'
local init = require 'tensor.nn.initializers'
local K = require 'tensor.nn_kernels'

return function(nn)
  local Module = nn.Module

  --- nn.Embedding(num_embeddings, embedding_dim, {padding_idx=, max_norm=, norm_type=2, scale_grad_by_freq=false})
  -- A lookup table of num_embeddings vectors, indexed by 1-based ids; the row padding_idx (1-based) is zero and
  -- gets no gradient. Weights initialised from N(0, 1) as in PyTorch.
  local Embedding = Module:extend('Embedding')
  nn.Embedding = Embedding
  function Embedding:init(num_embeddings, embedding_dim, padding_idx, opts)
    local names = { 'padding_idx', 'max_norm', 'norm_type', 'scale_grad_by_freq', 'sparse' }
    if common.is_opts(padding_idx) then opts, padding_idx = padding_idx, padding_idx.padding_idx end
    opts = common.check_options('Embedding', opts, names) or {}
    if opts.sparse then error('Embedding: sparse gradients are not supported (sparse=true)', 3) end
    common.positive_int('Embedding', 'num_embeddings', num_embeddings)
    common.positive_int('Embedding', 'embedding_dim', embedding_dim)
    self.num_embeddings, self.embedding_dim = num_embeddings, embedding_dim
    if padding_idx ~= nil then
      padding_idx = K.padding_index('Embedding', padding_idx, num_embeddings)
    end
    self.padding_idx = padding_idx
    self.max_norm, self.norm_type, self.scale_grad_by_freq = opts.max_norm, opts.norm_type or 2,
      opts.scale_grad_by_freq == true
    self.weight = common.parameter({ num_embeddings, embedding_dim }, opts)
    self:reset_parameters()
  end
  function Embedding:reset_parameters()
    init.normal_(self.weight)
    if self.padding_idx then torch.no_grad(function() self.weight[self.padding_idx]:zero_() end) end
  end
  function Embedding:forward(ids)
    local dt = ids:dtype()
    if dt ~= 'int64' and dt ~= 'int32' then
      common.fail(self, 'expected integer ids (int64 or int32), got %s', dt)
    end
    return F.embedding(ids, self.weight, { padding_idx = self.padding_idx, max_norm = self.max_norm,
                                           norm_type = self.norm_type, scale_grad_by_freq = self.scale_grad_by_freq })
  end
  function Embedding:extra_repr()
    local s = string.format('%d, %d', self.num_embeddings, self.embedding_dim)
    if self.padding_idx then s = s .. ', padding_idx=' .. self.padding_idx end
    return s
  end

  --- nn.Embedding.from_pretrained(embeddings, {freeze=true, padding_idx=})
  function Embedding.from_pretrained(embeddings, opts)
    opts = common.check_options('Embedding.from_pretrained', opts, { 'freeze', 'padding_idx' }) or {}
    local m = Embedding(embeddings:size(1), embeddings:size(2), { padding_idx = opts.padding_idx })
    torch.no_grad(function() m.weight:copy_(embeddings) end)
    m.weight.requires_grad = opts.freeze == false
    return m
  end

  --- nn.EmbeddingBag(num_embeddings, embedding_dim, {max_norm=, norm_type=2, scale_grad_by_freq=false, mode='mean', include_last_offset=false, padding_idx=})
  -- Sums, means or maxima of bags of embedding rows (F.embedding_bag): forward(ids, offsets, per_sample_weights)
  -- with 2-d ids (a bag per row) or 1-d ids and the bags' 1-based start positions. Weights from N(0, 1), the
  -- row padding_idx zero, as PyTorch.
  local EmbeddingBag = Module:extend('EmbeddingBag')
  nn.EmbeddingBag = EmbeddingBag
  local BAG_OPTIONS = { 'max_norm', 'norm_type', 'scale_grad_by_freq', 'mode', 'sparse', 'include_last_offset',
                        'padding_idx' }
  function EmbeddingBag:init(num_embeddings, embedding_dim, opts)
    opts = common.check_options('EmbeddingBag', opts, BAG_OPTIONS) or {}
    if opts.sparse then error('EmbeddingBag: sparse gradients are not supported (sparse=true)', 3) end
    common.positive_int('EmbeddingBag', 'num_embeddings', num_embeddings)
    common.positive_int('EmbeddingBag', 'embedding_dim', embedding_dim)
    local mode = opts.mode or 'mean'
    if mode ~= 'sum' and mode ~= 'mean' and mode ~= 'max' then
      error(string.format("EmbeddingBag: mode must be 'sum', 'mean' or 'max', got %s", tostring(mode)), 3)
    end
    self.num_embeddings, self.embedding_dim, self.mode = num_embeddings, embedding_dim, mode
    if opts.padding_idx ~= nil then
      self.padding_idx = K.padding_index('EmbeddingBag', opts.padding_idx, num_embeddings)
    end
    self.max_norm, self.norm_type = opts.max_norm, opts.norm_type or 2
    self.scale_grad_by_freq, self.include_last_offset = opts.scale_grad_by_freq == true, opts.include_last_offset == true
    self.weight = common.parameter({ num_embeddings, embedding_dim }, opts)
    self:reset_parameters()
  end
  EmbeddingBag.reset_parameters = Embedding.reset_parameters
  function EmbeddingBag:forward(ids, offsets, per_sample_weights)
    return F.embedding_bag(ids, self.weight, { offsets = offsets, per_sample_weights = per_sample_weights,
                                               mode = self.mode, padding_idx = self.padding_idx,
                                               max_norm = self.max_norm, norm_type = self.norm_type,
                                               scale_grad_by_freq = self.scale_grad_by_freq,
                                               include_last_offset = self.include_last_offset })
  end
  function EmbeddingBag:extra_repr()
    local s = string.format("%d, %d, mode='%s'", self.num_embeddings, self.embedding_dim, self.mode)
    if self.padding_idx then s = s .. ', padding_idx=' .. self.padding_idx end
    return s
  end

  --- nn.EmbeddingBag.from_pretrained(embeddings, {freeze=true, mode='mean', ...})
  function EmbeddingBag.from_pretrained(embeddings, opts)
    local names = { 'freeze' }
    for _, name in ipairs(BAG_OPTIONS) do names[#names + 1] = name end
    opts = common.check_options('EmbeddingBag.from_pretrained', opts, names) or {}
    local bag_opts = {}
    for _, name in ipairs(BAG_OPTIONS) do bag_opts[name] = opts[name] end
    local m = EmbeddingBag(embeddings:size(1), embeddings:size(2), bag_opts)
    torch.no_grad(function() m.weight:copy_(embeddings) end)
    m.weight.requires_grad = opts.freeze == false
    return m
  end
end
