-- tensor.nn.normalization: BatchNorm1d, BatchNorm2d, BatchNorm3d, LayerNorm, GroupNorm, InstanceNorm1d/2d/3d (F.instance_norm)
-- and LocalResponseNorm (F.local_response_norm).
local torch = require 'tensor'
local common = require 'tensor.nn.common'
local F = require 'tensor.nn.functional'
local init = require 'tensor.nn.initializers'

return function(nn)
  local Module = nn.Module

  -- The per-channel state of a normalisation layer, made with opts' dtype and device: weight and bias when
  -- self.affine, the running statistics and the count of batches when self.track_running_stats.
  local function channel_state(self, num_features, opts)
    if self.affine then
      self.weight = common.parameter({ num_features }, opts)
      self.bias = common.parameter({ num_features }, opts)
    end
    if self.track_running_stats then
      self:register_buffer('running_mean', common.buffer(torch.zeros(num_features), opts))
      self:register_buffer('running_var', common.buffer(torch.ones(num_features), opts))
      self:register_buffer('num_batches_tracked', torch.tensor(0, { dtype = 'int64' }))
    end
  end
  local function reset_running_stats(self)
    if self.track_running_stats then
      torch.no_grad(function()
        self.running_mean:zero_()
        self.running_var:fill_(1)
        self.num_batches_tracked:zero_()
      end)
    end
  end
  local function reset_parameters(self)
    reset_running_stats(self)
    if self.affine then
      init.ones_(self.weight)
      init.zeros_(self.bias)
    end
  end

  local function batch_norm(name, dims, layout)
    local class = Module:extend(name)
    nn[name] = class
    class.__keeps_no_tensors = true -- (see nn.Sequential)
    function class:init(num_features, eps, momentum, affine, track_running_stats, opts)
      if common.is_opts(eps) then
        opts = eps
        eps, momentum, affine, track_running_stats = opts.eps, opts.momentum, opts.affine, opts.track_running_stats
      end
      common.check_options(name, opts, { 'eps', 'momentum', 'affine', 'track_running_stats' })
      common.positive_int(name, 'num_features', num_features)
      self.num_features, self.eps = num_features, eps or 1e-5
      -- momentum = false (PyTorch's None) gives a cumulative moving average
      if momentum == nil then momentum = 0.1 end
      self.momentum = momentum
      self.affine, self.track_running_stats = affine ~= false, track_running_stats ~= false
      channel_state(self, num_features, opts)
      self:reset_parameters()
    end
    class.reset_running_stats, class.reset_parameters = reset_running_stats, reset_parameters
    function class:forward(x)
      local nd = x:dim()
      if not dims[nd] then common.fail(self, 'expected %s input, got %s', layout, common.shape(x)) end
      if x:size(2) ~= self.num_features then
        common.fail(self, 'expected %d channels (dim 2), got %s', self.num_features, common.shape(x))
      end
      local factor = self.momentum or 0
      if self.training and self.track_running_stats then
        torch.no_grad(function() self.num_batches_tracked:add_(1) end)
        if not self.momentum then factor = 1 / self.num_batches_tracked:item() end
      end
      local use_batch = self.training or not self.track_running_stats
      local track = not self.training or self.track_running_stats
      return F.batch_norm(x, track and self.running_mean or nil, track and self.running_var or nil, self.weight,
                          self.bias, use_batch, factor, self.eps)
    end
    function class:extra_repr()
      return string.format('%d, eps=%s, momentum=%s, affine=%s, track_running_stats=%s', self.num_features,
                           self.eps, tostring(self.momentum or 'None'), common.bool(self.affine),
                           common.bool(self.track_running_stats))
    end
  end

  --- nn.BatchNorm1d(num_features, {eps=1e-5, momentum=0.1, affine=true, track_running_stats=true})
  -- Batch normalisation of [N x C] or [N x C x L] per channel, with running statistics for evaluation
  -- (momentum=false averages all batches, PyTorch's momentum=None).
  batch_norm('BatchNorm1d', { [2] = true, [3] = true }, 'a 2-d [N x C] or 3-d [N x C x L]')
  --- nn.BatchNorm2d(num_features, {eps=1e-5, momentum=0.1, affine=true, track_running_stats=true})
  -- Batch normalisation of [N x C x H x W] per channel.
  batch_norm('BatchNorm2d', { [4] = true }, 'a 4-d [N x C x H x W]')
  --- nn.BatchNorm3d(num_features, {eps=1e-5, momentum=0.1, affine=true, track_running_stats=true})
  -- Batch normalisation of [N x C x D x H x W] per channel.
  batch_norm('BatchNorm3d', { [5] = true }, 'a 5-d [N x C x D x H x W]')

  --- nn.LayerNorm(normalized_shape, {eps=1e-5, elementwise_affine=true, bias=true})
  -- Normalises over the trailing dims given by normalized_shape (a number or a table of sizes).
  local LayerNorm = Module:extend('LayerNorm')
  nn.LayerNorm = LayerNorm
  LayerNorm.__keeps_no_tensors = true
  function LayerNorm:init(shape, eps, elementwise_affine, opts)
    if common.is_opts(eps) then
      opts = eps
      eps, elementwise_affine = opts.eps, opts.elementwise_affine
    end
    common.check_options('LayerNorm', opts, { 'eps', 'elementwise_affine', 'bias' })
    self.normalized_shape = type(shape) == 'number' and { shape } or shape
    self.eps, self.elementwise_affine = eps or 1e-5, elementwise_affine ~= false
    if self.elementwise_affine then
      self.weight = common.parameter(self.normalized_shape, opts)
      if not (opts and opts.bias == false) then self.bias = common.parameter(self.normalized_shape, opts) end
    end
    self:reset_parameters()
  end
  function LayerNorm:reset_parameters()
    if self.weight ~= nil then init.ones_(self.weight) end
    if self.bias ~= nil then init.zeros_(self.bias) end
  end
  function LayerNorm:forward(x)
    local shape, n = self.normalized_shape, #self.normalized_shape
    local ok = x:dim() >= n
    for i = 1, n do ok = ok and x:size(x:dim() - n + i) == shape[i] end
    if not ok then
      common.fail(self, 'expected an input ending in [%s], got %s', table.concat(shape, ' x '), common.shape(x))
    end
    return F.layer_norm(x, shape, self.weight, self.bias, self.eps)
  end
  function LayerNorm:extra_repr()
    return string.format('%s, eps=%s, elementwise_affine=%s', common.tuple(self.normalized_shape), self.eps,
                         common.bool(self.elementwise_affine))
  end

  --- nn.GroupNorm(num_groups, num_channels, {eps=1e-5, affine=true})
  -- Normalises each group of channels of each sample.
  local GroupNorm = Module:extend('GroupNorm')
  nn.GroupNorm = GroupNorm
  GroupNorm.__keeps_no_tensors = true
  function GroupNorm:init(num_groups, num_channels, eps, affine, opts)
    if common.is_opts(eps) then
      opts = eps
      eps, affine = opts.eps, opts.affine
    end
    common.check_options('GroupNorm', opts, { 'eps', 'affine' })
    common.positive_int('GroupNorm', 'num_groups', num_groups)
    common.positive_int('GroupNorm', 'num_channels', num_channels)
    if num_channels % num_groups ~= 0 then
      error(string.format('GroupNorm: num_channels (%d) must be divisible by num_groups (%d)', num_channels, num_groups), 3)
    end
    self.num_groups, self.num_channels, self.eps, self.affine = num_groups, num_channels, eps or 1e-5, affine ~= false
    if self.affine then
      self.weight = common.parameter({ num_channels }, opts)
      self.bias = common.parameter({ num_channels }, opts)
      init.ones_(self.weight)
      init.zeros_(self.bias)
    end
  end
  function GroupNorm:forward(x)
    if x:dim() < 2 or x:size(2) ~= self.num_channels then
      common.fail(self, 'expected %d channels (dim 2), got %s', self.num_channels, common.shape(x))
    end
    return F.group_norm(x, self.num_groups, self.weight, self.bias, self.eps)
  end
  function GroupNorm:extra_repr()
    return string.format('%d, %d, eps=%s, affine=%s', self.num_groups, self.num_channels, self.eps, common.bool(self.affine))
  end

  local function instance_norm(name, spatial)
    local class = Module:extend(name)
    nn[name] = class
    class.__keeps_no_tensors = true -- (see nn.Sequential)
    function class:init(num_features, ...)
      local o = common.mixed_options(name, { 'eps', 'momentum', 'affine', 'track_running_stats' }, nil, ...)
      common.positive_int(name, 'num_features', num_features)
      self.num_features, self.eps, self.momentum = num_features, o.eps or 1e-5, o.momentum or 0.1
      self.affine, self.track_running_stats = o.affine == true, o.track_running_stats == true
      -- (num_batches_tracked is in the state dict as PyTorch's, which never counts it for instance norm)
      channel_state(self, num_features, o)
      self:reset_parameters()
    end
    class.reset_running_stats, class.reset_parameters = reset_running_stats, reset_parameters
    function class:forward(x)
      local nd = x:dim()
      if nd ~= spatial + 1 and nd ~= spatial + 2 then
        common.fail(self, 'expected a %d-d (unbatched) or %d-d input, got %s', spatial + 1, spatial + 2, common.shape(x))
      end
      local unbatched = nd == spatial + 1
      if unbatched then x = x:unsqueeze(1) end
      -- (PyTorch only warns when the channels differ from num_features and nothing per channel is kept)
      if (self.affine or self.track_running_stats) and x:size(2) ~= self.num_features then
        common.fail(self, 'expected %d channels, got %s', self.num_features, common.shape(unbatched and x:squeeze(1) or x))
      end
      local y = F.instance_norm(x, { running_mean = self.running_mean, running_var = self.running_var,
                                     weight = self.weight, bias = self.bias,
                                     use_input_stats = self.training or not self.track_running_stats,
                                     momentum = self.momentum, eps = self.eps })
      if unbatched then y = y:squeeze(1) end
      return y
    end
    function class:extra_repr()
      return string.format('%d, eps=%s, momentum=%s, affine=%s, track_running_stats=%s', self.num_features,
                           self.eps, self.momentum, common.bool(self.affine), common.bool(self.track_running_stats))
    end
  end

  --- nn.InstanceNorm1d(num_features, eps=1e-5, momentum=0.1, affine=false, track_running_stats=false) -> module
  -- Normalises each channel of each sample of [N x C x L] (or [C x L]) over its length; affine adds a learned
  -- weight and bias per channel, track_running_stats running statistics used in evaluation (as PyTorch, both off
  -- by default).
  instance_norm('InstanceNorm1d', 1)
  --- nn.InstanceNorm2d(num_features, eps=1e-5, momentum=0.1, affine=false, track_running_stats=false) -> module
  -- Instance normalisation of [N x C x H x W] (or [C x H x W]).
  instance_norm('InstanceNorm2d', 2)
  --- nn.InstanceNorm3d(num_features, eps=1e-5, momentum=0.1, affine=false, track_running_stats=false) -> module
  -- Instance normalisation of [N x C x D x H x W] (or [C x D x H x W]).
  instance_norm('InstanceNorm3d', 3)

  --- nn.LocalResponseNorm(size, alpha=1e-4, beta=0.75, k=1) -> module
  -- Normalises each element by the mean square of its `size` neighbouring channels (F.local_response_norm).
  local LocalResponseNorm = Module:extend('LocalResponseNorm')
  nn.LocalResponseNorm = LocalResponseNorm
  LocalResponseNorm.__keeps_no_tensors = true
  function LocalResponseNorm:init(size, ...)
    local o
    if common.is_opts(size) then
      o = common.options('LocalResponseNorm', { 'size', 'alpha', 'beta', 'k' }, size)
      size = o.size
    else
      o = common.options('LocalResponseNorm', { 'alpha', 'beta', 'k' }, ...)
    end
    self.size = common.positive_int('LocalResponseNorm', 'size', size)
    self.alpha, self.beta, self.k = o.alpha or 1e-4, o.beta or 0.75, o.k or 1
  end
  function LocalResponseNorm:forward(x)
    if x:dim() < 3 then common.fail(self, 'expected an input of 3 or more dims [N x C x ...], got %s', common.shape(x)) end
    return F.local_response_norm(x, self.size, self.alpha, self.beta, self.k)
  end
  function LocalResponseNorm:extra_repr()
    return string.format('%d, alpha=%s, beta=%s, k=%s', self.size, self.alpha, self.beta, common.float(self.k))
  end
end
