-- tensor.nn.functional.embedding_bag: sums, means or maxima of bags of embeddings without forming the
-- intermediate [bags x length x dim] tensor's padding: the rows are looked up once (F.embedding, with its
-- max_norm, padding and frequency scaling), then reduced into their bags by index_add or index_reduce, whose
-- gradients give PyTorch's.
local torch = require 'tensor'

return function(F, h)
  local fail, check_tensor, options, shape_string = h.fail, h.check_tensor, h.options, h.shape_string
  local MODES = { sum = true, mean = true, max = true }
  local OPTION_NAMES = { 'offsets', 'max_norm', 'norm_type', 'scale_grad_by_freq', 'mode', 'sparse',
                         'per_sample_weights', 'include_last_offset', 'padding_idx' }

  local function integer(t) return t:dtype() == 'int64' or t:dtype() == 'int32' end

  -- The bag (1-based) of each element of n 1-d ids, from the bags' 1-based start positions; the number of bags;
  -- and, with include_last_offset, the position the last bag ends before (elements from there on are in none).
  local function bags_of(n, offsets, include_last_offset)
    if not torch.is_tensor(offsets) or offsets:dim() ~= 1 or not integer(offsets) then
      fail('embedding_bag', 'offsets must be a 1-d integer tensor, got %s',
           torch.is_tensor(offsets) and (shape_string(offsets) .. ' ' .. offsets:dtype()) or type(offsets))
    end
    local count = offsets:numel() - (include_last_offset and 1 or 0)
    if count < 0 or (offsets:numel() > 0 and offsets[1] ~= 1) then
      fail('embedding_bag', 'offsets must start at 1 (the first bag starts at the first id), got %s',
           offsets:numel() > 0 and tostring(offsets[1]) or 'none')
    end
    if offsets:numel() > 1 and offsets:diff():lt(0):any() then fail('embedding_bag', 'offsets must not decrease') end
    if offsets:numel() > 0 and offsets:max() > n + 1 then
      fail('embedding_bag', 'offsets must be at most the number of ids + 1 (%d), got %d', n + 1, offsets:max())
    end
    local stop = include_last_offset and offsets:numel() > 0 and offsets[offsets:numel()] or n + 1
    if count == 0 then return nil, 0, stop end
    local starts = offsets:narrow(1, 1, count):to('int64')
    -- element i belongs to the last bag starting at or before it
    local positions = torch.arange(1, n + 1, { dtype = 'int64', device = offsets:device() })
    return torch.searchsorted(starts, positions, { right = true }) - 1, count, stop
  end

  --- F.embedding_bag(input, weight, offsets, max_norm, norm_type=2, scale_grad_by_freq=false, mode='mean', sparse=false, per_sample_weights, include_last_offset=false, padding_idx) -> Tensor
  -- The sum, mean or max (mode) of each bag of embedding rows: input a 2-d [B x L] integer tensor of 1-based ids
  -- (a bag per row), or 1-d ids with offsets, a 1-d tensor of the bags' 1-based start positions (the first is 1;
  -- with include_last_offset the last entry is #input + 1, the end of the last bag). Gives [B x dim]; an empty
  -- bag gives zeros. per_sample_weights (input's shape, mode 'sum' only) scale each row. Ids equal to padding_idx
  -- count for nothing (not in the sum, the mean's count or the max). max_norm renormalises the rows used, as
  -- F.embedding. Differentiable in weight and per_sample_weights. The options may come positionally, as one table
  -- after weight, or as a table after offsets.
  function F.embedding_bag(ids, weight, ...)
    check_tensor('embedding_bag', ids, 'the ids')
    check_tensor('embedding_bag', weight, 'the weight')
    local o
    local offsets, opts = ...
    if h.is_opts(opts) and select('#', ...) == 2 then -- F.embedding_bag(ids, w, offsets, {mode = 'sum', ...})
      o = options('embedding_bag', OPTION_NAMES, opts)
      if o.offsets ~= nil then fail('embedding_bag', 'offsets given twice') end
      o.offsets = offsets
    else
      o = options('embedding_bag', OPTION_NAMES, ...)
    end
    local mode = o.mode or 'mean'
    if not MODES[mode] then fail('embedding_bag', "mode must be 'sum', 'mean' or 'max', got %s", tostring(mode)) end
    if o.sparse then fail('embedding_bag', 'sparse gradients are not supported (sparse=true)') end
    if not integer(ids) then fail('embedding_bag', 'expected integer ids (int64 or int32), got %s', ids:dtype()) end
    if weight:dim() ~= 2 then fail('embedding_bag', 'expected a 2-d weight, got %s', shape_string(weight)) end
    local bag, count, stop
    if ids:dim() == 2 then
      if o.offsets ~= nil then fail('embedding_bag', 'offsets must be nil when the ids are 2-d (a bag per row)') end
      count = ids:size(1)
      bag = torch.arange(1, count + 1, { dtype = 'int64', device = ids:device() }):repeat_interleave(ids:size(2))
    elseif ids:dim() == 1 then
      if o.offsets == nil then fail('embedding_bag', 'offsets are needed when the ids are 1-d') end
      bag, count, stop = bags_of(ids:numel(), o.offsets, o.include_last_offset == true)
    else
      fail('embedding_bag', 'expected 1-d ids with offsets or 2-d ids, got %s', shape_string(ids))
    end
    local flat = ids:reshape(-1)
    local psw = o.per_sample_weights
    if psw ~= nil then
      check_tensor('embedding_bag', psw, 'per_sample_weights')
      if mode ~= 'sum' then fail('embedding_bag', "per_sample_weights are only supported with mode 'sum', got '%s'", mode) end
      if table.concat(psw:shape(), 'x') ~= table.concat(ids:shape(), 'x') then
        fail('embedding_bag', 'per_sample_weights must have the shape of the ids %s, got %s', shape_string(ids),
             shape_string(psw))
      end
      psw = psw:reshape(-1)
    end
    local dim, dtype, device = weight:size(2), weight:dtype(), weight:device()
    if count == 0 then return torch.zeros(0, dim, { dtype = dtype, device = device }) end
    local rows = F.embedding(flat, weight, { padding_idx = o.padding_idx, max_norm = o.max_norm,
                                             norm_type = o.norm_type, scale_grad_by_freq = o.scale_grad_by_freq })
    -- the elements that count: not padding_idx, and before the end of the last bag
    local keep
    if o.padding_idx ~= nil then keep = flat:ne(o.padding_idx) end
    if stop and stop <= flat:numel() then
      local inside = torch.arange(1, flat:numel() + 1, { device = ids:device() }):lt(stop)
      keep = keep and keep:logical_and(inside) or inside
    end
    if keep then
      keep = keep:nonzero():reshape(-1)
      rows, bag = rows:index_select(1, keep), bag:index_select(1, keep)
      if psw ~= nil then psw = psw:index_select(1, keep) end
    end
    local out = torch.zeros(count, dim, { dtype = dtype, device = device })
    if mode == 'max' then
      return out:index_reduce(1, bag, rows, 'amax', { include_self = false })
    end
    if psw ~= nil then rows = rows * psw:reshape(-1, 1) end
    out = out:index_add(1, bag, rows)
    if mode == 'sum' then return out end
    local ones = torch.ones(bag:numel(), { dtype = dtype, device = device })
    local sizes = torch.zeros(count, { dtype = dtype, device = device }):index_add(1, bag, ones)
    return out / sizes:clamp(1):reshape(-1, 1)
  end
end
