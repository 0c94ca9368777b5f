-- tensor.nn.parallel: nn.DistributedDataParallel, data-parallel training over tensor.distributed.
--
-- Each rank runs the same model on its own part of every batch; after backward, every parameter's .grad
-- holds the mean of all ranks' gradients, so identical optimizer steps keep the replicas identical.
--
-- How the gradients travel: the parameters, in reverse registration order (the order backward produces
-- their gradients), are grouped into buckets of about bucket_mb megabytes (the first one small, so that
-- communication starts early), each with one flat buffer. A post-accumulate hook on every parameter counts
-- the gradients that are ready; when a bucket is complete its gradients are copied into its buffer and the
-- buffer is all-reduced, buckets always in the same order on every rank (collectives must match across
-- ranks). With overlap, the all-reduce is started without waiting (MPI_Iallreduce; NCCL queues it on the
-- GPU) while backward goes on with the earlier layers. A callback queued on the backward pass
-- (torch.autograd.queue_callback) runs when it ends: it reduces the buckets still left (parameters that got
-- no gradient in this pass count as zeros), waits for all of them, divides by the world size and copies the
-- means back into .grad, before backward returns. The buffer of a bucket also carries one flag per
-- parameter saying whether the rank had a gradient for it, so a parameter no rank used keeps .grad = nil.
local core = require 'tensor.core'
local torch = require 'tensor'
local dtype = require 'tensor.dtype'

local C = core.C

return function(nn)
  local DDP = nn.Module:extend('DistributedDataParallel')

  local MB = 1024 * 1024
  local FIRST_BUCKET_BYTES = 1 * MB -- PyTorch's first bucket: the last layers' gradients go out early
  local known_options = { bucket_mb = true, broadcast_buffers = true, overlap = true }

  local function fail(fmt, ...)
    core.raise(string.format('nn.DistributedDataParallel: ' .. fmt, ...))
  end

  local function element_bytes(t) return dtype.size[tonumber(t._c.dtype)] end

  -- Broadcasts tensors from rank 0, packed per dtype and device into flat buffers of at most cap bytes.
  local function broadcast_coalesced(dist, tensors, cap)
    local groups, order = {}, {}
    for _, t in ipairs(tensors) do
      local key = t:dtype() .. '@' .. t:device()
      local g = groups[key]
      if not g then
        g = {}
        groups[key] = g
        order[#order + 1] = g
      end
      g[#g + 1] = t
    end
    local root = dist.rank() == 0
    torch.no_grad(function()
      for _, g in ipairs(order) do
        local i = 1
        while i <= #g do
          local chunk, numel, bytes = {}, 0, 0
          repeat
            local t = g[i]
            chunk[#chunk + 1] = t
            numel, bytes, i = numel + t:numel(), bytes + t:numel() * element_bytes(t), i + 1
          until i > #g or bytes + g[i]:numel() * element_bytes(g[i]) > cap
          local flat = torch.empty(numel, { dtype = g[1]:dtype(), device = g[1]:device() })
          local offset = 0
          for _, t in ipairs(chunk) do
            local n = t:numel()
            if root and n > 0 then core.check(C.tn_copy_(flat:narrow(1, offset + 1, n):view(t:shape())._c, t._c)) end
            offset = offset + n
          end
          dist.broadcast(flat, 0)
          if not root then
            offset = 0
            for _, t in ipairs(chunk) do
              local n = t:numel()
              if n > 0 then core.check(C.tn_copy_(t._c, flat:narrow(1, offset + 1, n):view(t:shape())._c)) end
              offset = offset + n
            end
          end
        end
      end
    end)
  end

  --- nn.DistributedDataParallel(module, {bucket_mb=25, broadcast_buffers=true, overlap=}) -> module
  -- Wraps a model for data-parallel training on the ranks of tensor.distributed (call dist.init() first, and
  -- move the model to its device, dist.device(), before wrapping it). At construction it copies rank 0's
  -- parameters and buffers to every rank; calling it runs module's forward; after backward, each
  -- parameter's .grad holds the mean over the ranks, so that optimizer steps stay identical everywhere.
  -- Gradients travel in flat buckets of about bucket_mb megabytes, reduced while backward still runs
  -- (overlap; default on for NCCL, off for MPI, whose non-blocking all-reduce is slower than its blocking
  -- one). broadcast_buffers: copy rank 0's buffers (e.g. BatchNorm's running statistics) to every rank before
  -- each training forward. The wrapped model is ddp.module; state_dict keys start with 'module.' as in
  -- PyTorch. Every rank must call forward and backward the same number of times.
  -- Example: local model = nn.DistributedDataParallel(net); local opt = optim.SGD(model:parameters(), {lr=0.1})
  function DDP:init(module, opts)
    if not nn.is_module(module) then fail('expected a module to wrap, got %s', type(module)) end
    if opts ~= nil and type(opts) ~= 'table' then fail('expected an options table, got %s', type(opts)) end
    opts = opts or {}
    for k in pairs(opts) do
      if not known_options[k] then
        fail("unknown option '%s' (expected bucket_mb, broadcast_buffers, overlap)", tostring(k))
      end
    end
    local bucket_mb = opts.bucket_mb or 25
    if type(bucket_mb) ~= 'number' or not (bucket_mb > 0) then
      fail('bucket_mb must be a positive number, got %s', tostring(bucket_mb))
    end
    local dist = require 'tensor.distributed'
    if not dist.is_initialized() then fail('the process group is not initialized: call dist.init() first') end

    self.module = module
    self.require_backward_grad_sync = true
    self.broadcast_buffers = opts.broadcast_buffers ~= false
    local overlap = opts.overlap
    if overlap == nil then overlap = dist.get_backend() == 'nccl' end
    rawset(self, '_dist', dist)
    rawset(self, '_overlap', overlap and true or false)
    rawset(self, '_world', dist.world_size())

    local params = {}
    for _, p in ipairs(module:parameters()) do
      if p.requires_grad then params[#params + 1] = p end
    end
    rawset(self, '_params', params)
    local buffers = module:buffers()
    rawset(self, '_module_buffers', buffers)

    -- every rank starts from rank 0's state
    local cap = bucket_mb * MB
    local state = {}
    for _, p in ipairs(module:parameters()) do state[#state + 1] = p end
    for _, b in ipairs(buffers) do state[#state + 1] = b end
    broadcast_coalesced(dist, state, cap)
    rawset(self, '_cap', cap)

    self:_make_buckets(cap)
    self:_register_hooks()
  end

  -- The buckets: parameters in reverse order, grouped by dtype and device, about cap bytes each (the first
  -- at most FIRST_BUCKET_BYTES).
  function DDP:_make_buckets(cap)
    local buckets, open = {}, {}
    local params = self._params
    for i = #params, 1, -1 do
      local p = params[i]
      local key = p:dtype() .. '@' .. p:device()
      local bytes = p:numel() * element_bytes(p)
      local b = open[key]
      if b and b.bytes > 0 and b.bytes + bytes > b.cap then b = nil end
      if not b then
        b = { params = {}, bytes = 0, numel = 0, dtype = p:dtype(), device = p:device(),
              cap = #buckets == 0 and math.min(cap, FIRST_BUCKET_BYTES) or cap }
        buckets[#buckets + 1] = b
        open[key] = b
      end
      b.params[#b.params + 1] = p
      b.bytes, b.numel = b.bytes + bytes, b.numel + p:numel()
    end
    for _, b in ipairs(buckets) do
      local n = #b.params
      -- gradients first, then one flag per parameter: 1 where this rank has a gradient for it
      b.flat = torch.empty(b.numel + n, { dtype = b.dtype, device = b.device })
      b.flags = b.flat:narrow(1, b.numel + 1, n)
      b.views, b.marked = {}, {}
      local offset = 0
      for j, p in ipairs(b.params) do
        local m = p:numel()
        b.views[j] = b.flat:narrow(1, offset + 1, m):view(p:shape())
        b.marked[j] = false
        offset = offset + m
      end
      b.pending = n
    end
    rawset(self, '_buckets', buckets)
    rawset(self, '_next_launch', 1)
    rawset(self, '_pass_active', false)
  end

  function DDP:_register_hooks()
    local handles = {}
    local finish = function() self:_finish_pass() end
    for _, b in ipairs(self._buckets) do
      for j, p in ipairs(b.params) do
        handles[#handles + 1] = p:register_post_accumulate_grad_hook(function() self:_grad_ready(b, j, finish) end)
      end
    end
    rawset(self, '_hooks', handles)
  end

  -- The hook: parameter j of bucket b has its gradient for this backward pass.
  function DDP:_grad_ready(b, j, finish)
    if not rawget(self, '_sync_pass') then return end
    if not self._pass_active then
      rawset(self, '_pass_active', true)
      torch.autograd.queue_callback(finish)
    end
    if b.marked[j] then return end
    b.marked[j] = true
    b.pending = b.pending - 1
    if b.pending == 0 then
      local buckets = self._buckets
      local k = self._next_launch
      while k <= #buckets and buckets[k].pending == 0 do
        self:_launch(buckets[k])
        k = k + 1
      end
      rawset(self, '_next_launch', k)
    end
    if self._overlap then -- let MPI move the buckets in flight
      for k = 1, self._next_launch - 1 do
        local w = self._buckets[k].work
        if w then w:is_completed() end
      end
    end
  end

  -- Copies the gradients of bucket b into its buffer and starts the all-reduce.
  function DDP:_launch(b)
    local all = true
    for j, p in ipairs(b.params) do
      local g = rawget(p, '_grad')
      if g ~= nil then
        core.check(C.tn_copy_(b.views[j]._c, g._c))
      else
        all = false
        b.views[j]:zero_()
      end
    end
    torch.no_grad(function()
      b.flags:fill_(1)
      if not all then
        for j, p in ipairs(b.params) do
          if rawget(p, '_grad') == nil then b.flags[j] = 0 end
        end
      end
    end)
    b.work = self._dist.all_reduce(b.flat, 'sum', { async = self._overlap })
  end

  -- End of backward: the remaining buckets go out, then every bucket's mean goes back into .grad.
  function DDP:_finish_pass()
    local buckets = self._buckets
    for k = self._next_launch, #buckets do self:_launch(buckets[k]) end
    local world = self._world
    for _, b in ipairs(buckets) do
      if self._overlap then b.work:wait() end
      b.work = nil
      local flat = b.flat
      if world ~= 1 then flat:div_(world) end
      for j, p in ipairs(b.params) do
        local g = rawget(p, '_grad')
        if g ~= nil then
          core.check(C.tn_copy_(g._c, b.views[j]._c))
        elseif b.flags[j] > 0 then
          rawset(p, '_grad', b.views[j]:clone())
        end
        b.marked[j] = false
      end
      b.pending = #b.params
    end
    rawset(self, '_next_launch', 1)
    rawset(self, '_pass_active', false)
  end

  function DDP:forward(...)
    local sync = self.require_backward_grad_sync and torch.is_grad_enabled()
    rawset(self, '_sync_pass', sync)
    if sync and self.broadcast_buffers and self.training and #self._module_buffers > 0 and self._world > 1 then
      broadcast_coalesced(self._dist, self._module_buffers, self._cap)
    end
    return self.module(...)
  end

  --- DistributedDataParallel:no_sync(fn, ...) -> the results of fn
  -- Runs fn(...) with gradient averaging off: the backward passes of forwards made inside fn only
  -- accumulate into each rank's own .grad. The first backward outside then averages the accumulated sum, so
  -- k micro-batches act as one batch k times larger (gradient accumulation) with one all-reduce.
  -- Example: model:no_sync(function() criterion(model(x1), y1):backward() end); criterion(model(x2), y2):backward()
  function DDP:no_sync(fn, ...)
    if type(fn) ~= 'function' then fail('no_sync: expected a function to run, got %s', type(fn)) end
    local previous = self.require_backward_grad_sync
    self.require_backward_grad_sync = false
    local results = { pcall(fn, ...) }
    self.require_backward_grad_sync = previous
    if not results[1] then error(results[2], 0) end
    return unpack(results, 2, table.maxn(results))
  end

  function DDP:extra_repr()
    return ''
  end

  nn.DistributedDataParallel = DDP
end
