-- tensor.optim.lr_scheduler: learning-rate schedules, computed as torch.optim.lr_scheduler computes them
-- (the same recursive forms, so the rates match PyTorch's step for step). Creating a scheduler performs
-- its initial step (epoch 0), as in PyTorch; call sched:step() after each optimizer step or epoch.
local M = {}

local Scheduler = {}
Scheduler.__index = Scheduler

local function new_scheduler(class, optimizer)
  if type(optimizer) ~= 'table' or type(optimizer.param_groups) ~= 'table' then
    error(string.format('lr_scheduler.%s: expected an optimizer', class.name), 3)
  end
  local self = setmetatable({ optimizer = optimizer, last_epoch = -1 }, class)
  for _, group in ipairs(optimizer.param_groups) do
    if group.initial_lr == nil then group.initial_lr = group.lr end
  end
  self.base_lrs = {}
  for i, group in ipairs(optimizer.param_groups) do self.base_lrs[i] = group.initial_lr end
  self._step_count = 0
  return self
end

--- Scheduler:step([epoch])
-- Advances one epoch; given an epoch, jumps to it: schedulers with a closed form (StepLR, MultiStepLR,
-- ExponentialLR, CosineAnnealingLR) then compute the rate of that epoch from the base rates, as PyTorch does.
function Scheduler:step(epoch)
  self._step_count = self._step_count + 1
  self.last_epoch = epoch or (self.last_epoch + 1)
  local lrs = (epoch ~= nil and self.closed_form) and self:closed_form() or self:get_lr()
  for i, group in ipairs(self.optimizer.param_groups) do group.lr = lrs[i] end
  self._last_lr = lrs
end

--- Scheduler:get_last_lr() -> list of the rates last set, one per group
function Scheduler:get_last_lr() return self._last_lr end

-- A deep copy of v when it is plain data (numbers, strings, booleans, tables of them), else nil: functions
-- such as LambdaLR's lr_lambda stay with the scheduler, as in PyTorch.
local function plain_copy(v)
  local kind = type(v)
  if kind == 'number' or kind == 'string' or kind == 'boolean' then return v end
  if kind ~= 'table' or getmetatable(v) then return nil end
  local copy = {}
  for k, x in pairs(v) do
    local c = plain_copy(x)
    if c == nil then return nil end
    copy[k] = c
  end
  return copy
end

--- Scheduler:state_dict() -> table
-- The scheduler's state (epoch counter, base and last rates, its settings) as a plain table that
-- torch.save can write; the optimizer and any rate functions (LambdaLR) are left out, as in PyTorch.
-- Restore with load_state_dict on a scheduler built the same way, after the optimizer's own load_state_dict.
function Scheduler:state_dict()
  local sd = {}
  for k, v in pairs(self) do
    if k ~= 'optimizer' then sd[k] = plain_copy(v) end
  end
  return sd
end

--- Scheduler:load_state_dict(state_dict)
-- Restores what state_dict returned (copied, so the two schedulers share nothing).
function Scheduler:load_state_dict(sd)
  if type(sd) ~= 'table' then
    error(string.format('load_state_dict: expected the table from state_dict, got %s', type(sd)), 2)
  end
  for k, v in pairs(sd) do
    if k ~= 'optimizer' then self[k] = plain_copy(v) end
  end
end

local function current_lrs(self)
  local list = {}
  for i, group in ipairs(self.optimizer.param_groups) do list[i] = group.lr end
  return list
end

-- The rates of last_epoch computed from the base rates by f(base) (a scheduler's closed form)
local function from_base(self, f)
  local list = {}
  for i, base in ipairs(self.base_lrs) do list[i] = f(base) end
  return list
end

local function define(name, init, get_lr, closed_form)
  local class = setmetatable({ name = name }, { __index = Scheduler })
  class.__index = class
  class.get_lr, class.closed_form = get_lr, closed_form
  setmetatable(class, {
    __index = Scheduler,
    __call = function(_, optimizer, ...)
      local self = new_scheduler(class, optimizer)
      init(self, ...)
      self:step()
      return self
    end,
  })
  M[name] = class
  return class
end

local function option(opts, key, positional, default)
  local v
  if type(opts) == 'table' then v = opts[key] end
  if v == nil then v = positional end
  if v == nil then v = default end
  return v
end

--- lr_scheduler.StepLR(optimizer, {step_size=, gamma=0.1})  (or StepLR(opt, step_size, gamma))
-- Multiplies the rate by gamma every step_size epochs.
define('StepLR', function(self, a, b)
  self.step_size = option(a, 'step_size', type(a) == 'number' and a or nil)
  self.gamma = option(a, 'gamma', type(b) == 'number' and b or nil, 0.1)
  if type(self.step_size) ~= 'number' or self.step_size <= 0 then
    error('lr_scheduler.StepLR: step_size must be a positive number', 3)
  end
end, function(self)
  if self.last_epoch == 0 or self.last_epoch % self.step_size ~= 0 then return current_lrs(self) end
  local list = current_lrs(self)
  for i = 1, #list do list[i] = list[i] * self.gamma end
  return list
end, function(self)
  return from_base(self, function(base) return base * self.gamma ^ math.floor(self.last_epoch / self.step_size) end)
end)

--- lr_scheduler.MultiStepLR(optimizer, {milestones={...}, gamma=0.1})
-- Multiplies the rate by gamma at each milestone epoch.
define('MultiStepLR', function(self, a, b)
  local milestones = option(a, 'milestones', type(a) == 'table' and a[1] and a or nil)
  if type(milestones) ~= 'table' then error('lr_scheduler.MultiStepLR: milestones must be a list of epochs', 3) end
  self.milestones = {}
  for _, m in ipairs(milestones) do self.milestones[m] = (self.milestones[m] or 0) + 1 end
  self.gamma = option(a, 'gamma', type(b) == 'number' and b or nil, 0.1)
end, function(self)
  local count = self.milestones[self.last_epoch]
  local list = current_lrs(self)
  if count then
    for i = 1, #list do list[i] = list[i] * self.gamma ^ count end
  end
  return list
end, function(self)
  local passed = 0 -- the milestones at or before last_epoch
  for m, count in pairs(self.milestones) do
    if m <= self.last_epoch then passed = passed + count end
  end
  return from_base(self, function(base) return base * self.gamma ^ passed end)
end)

--- lr_scheduler.ExponentialLR(optimizer, {gamma=})
define('ExponentialLR', function(self, a)
  self.gamma = option(a, 'gamma', type(a) == 'number' and a or nil)
  if type(self.gamma) ~= 'number' then error('lr_scheduler.ExponentialLR: gamma is required', 3) end
end, function(self)
  local list = current_lrs(self)
  if self.last_epoch == 0 then return list end
  for i = 1, #list do list[i] = list[i] * self.gamma end
  return list
end, function(self)
  return from_base(self, function(base) return base * self.gamma ^ self.last_epoch end)
end)

--- lr_scheduler.CosineAnnealingLR(optimizer, {T_max=, eta_min=0})
define('CosineAnnealingLR', function(self, a, b)
  self.T_max = option(a, 'T_max', type(a) == 'number' and a or nil)
  self.eta_min = option(a, 'eta_min', type(b) == 'number' and b or nil, 0)
  if type(self.T_max) ~= 'number' or self.T_max <= 0 then
    error('lr_scheduler.CosineAnnealingLR: T_max must be a positive number', 3)
  end
end, function(self)
  local e, T, eta = self.last_epoch, self.T_max, self.eta_min
  local list = current_lrs(self)
  if e == 0 then return list end
  if self._step_count == 1 and e > 0 then
    for i, base in ipairs(self.base_lrs) do
      list[i] = eta + (base - eta) * (1 + math.cos(e * math.pi / T)) / 2
    end
    return list
  end
  if (e - 1 - T) % (2 * T) == 0 then
    for i, base in ipairs(self.base_lrs) do
      list[i] = list[i] + (base - eta) * (1 - math.cos(math.pi / T)) / 2
    end
    return list
  end
  for i = 1, #list do
    list[i] = (1 + math.cos(math.pi * e / T)) / (1 + math.cos(math.pi * (e - 1) / T)) * (list[i] - eta) + eta
  end
  return list
end, function(self)
  local eta = self.eta_min
  return from_base(self, function(base)
    return eta + (base - eta) * (1 + math.cos(math.pi * self.last_epoch / self.T_max)) / 2
  end)
end)

--- lr_scheduler.LambdaLR(optimizer, {lr_lambda=fn})  (or LambdaLR(opt, fn)); fn(epoch) scales the base rate
define('LambdaLR', function(self, a)
  local f = type(a) == 'function' and a or option(a, 'lr_lambda')
  if type(f) ~= 'function' and type(f) ~= 'table' then error('lr_scheduler.LambdaLR: lr_lambda must be a function', 3) end
  self.lr_lambdas = type(f) == 'table' and f or nil
  self.lr_lambda = type(f) == 'function' and f or nil
end, function(self)
  local list = {}
  for i, base in ipairs(self.base_lrs) do
    local f = self.lr_lambdas and self.lr_lambdas[i] or self.lr_lambda
    list[i] = base * f(self.last_epoch)
  end
  return list
end)

--- lr_scheduler.OneCycleLR(optimizer, {max_lr=, total_steps= | epochs= & steps_per_epoch=, pct_start=0.3,
---   anneal_strategy='cos', div_factor=25, final_div_factor=1e4, three_phase=false, cycle_momentum=true,
---   base_momentum=0.85, max_momentum=0.95})
-- The 1cycle policy; also cycles momentum (or Adam's beta1) in the opposite direction.
define('OneCycleLR', function(self, opts)
  opts = opts or {}
  local total = opts.total_steps or (opts.epochs and opts.steps_per_epoch and opts.epochs * opts.steps_per_epoch)
  if type(total) ~= 'number' or total <= 0 then
    error('lr_scheduler.OneCycleLR: give total_steps, or epochs and steps_per_epoch', 3)
  end
  self.total_steps = total
  local pct = opts.pct_start or 0.3
  local div, final_div = opts.div_factor or 25, opts.final_div_factor or 1e4
  self.anneal = (opts.anneal_strategy or 'cos') == 'cos' and function(s, e, p) return e + (s - e) / 2 * (math.cos(math.pi * p) + 1) end
    or function(s, e, p) return (e - s) * p + s end
  if opts.three_phase then
    self.phases = {
      { end_step = pct * total - 1, start_lr = 'initial_lr', end_lr = 'max_lr', start_m = 'max_momentum', end_m = 'base_momentum' },
      { end_step = 2 * pct * total - 2, start_lr = 'max_lr', end_lr = 'initial_lr', start_m = 'base_momentum', end_m = 'max_momentum' },
      { end_step = total - 1, start_lr = 'initial_lr', end_lr = 'min_lr', start_m = 'max_momentum', end_m = 'max_momentum' },
    }
  else
    self.phases = {
      { end_step = pct * total - 1, start_lr = 'initial_lr', end_lr = 'max_lr', start_m = 'max_momentum', end_m = 'base_momentum' },
      { end_step = total - 1, start_lr = 'max_lr', end_lr = 'min_lr', start_m = 'base_momentum', end_m = 'max_momentum' },
    }
  end
  local max_lr = opts.max_lr
  if max_lr == nil then error('lr_scheduler.OneCycleLR: max_lr is required', 3) end
  self.cycle_momentum = opts.cycle_momentum ~= false
  for i, group in ipairs(self.optimizer.param_groups) do
    local m = type(max_lr) == 'table' and max_lr[i] or max_lr
    group.initial_lr = m / div
    group.max_lr = m
    group.min_lr = group.initial_lr / final_div
    self.base_lrs[i] = group.initial_lr
    if self.cycle_momentum then
      group.max_momentum = opts.max_momentum or 0.95
      group.base_momentum = opts.base_momentum or 0.85
      if group.betas then
        group.betas = { group.max_momentum, group.betas[2] }
      else
        group.momentum = group.max_momentum
      end
    end
  end
end, function(self)
  local step = self.last_epoch
  if step > self.total_steps then
    error(string.format('OneCycleLR: stepped %d times, more than total_steps = %d', step, self.total_steps), 3)
  end
  local list = {}
  for i, group in ipairs(self.optimizer.param_groups) do
    local start_step = 0
    for k, phase in ipairs(self.phases) do
      if step <= phase.end_step or k == #self.phases then
        local p = (step - start_step) / (phase.end_step - start_step)
        list[i] = self.anneal(group[phase.start_lr], group[phase.end_lr], p)
        if self.cycle_momentum then
          local m = self.anneal(group[phase.start_m], group[phase.end_m], p)
          if group.betas then group.betas = { m, group.betas[2] } else group.momentum = m end
        end
        break
      end
      start_step = phase.end_step
    end
  end
  return list
end)

--- lr_scheduler.ReduceLROnPlateau(optimizer, {mode='min', factor=0.1, patience=10, threshold=1e-4,
---   threshold_mode='rel', cooldown=0, min_lr=0, eps=1e-8})
-- Lowers the rate when a metric stops improving: call sched:step(metric) after each evaluation.
local Plateau = {}
Plateau.__index = Plateau
M.ReduceLROnPlateau = setmetatable(Plateau, { __call = function(_, optimizer, opts)
  opts = opts or {}
  local self = setmetatable({ optimizer = optimizer, mode = opts.mode or 'min', factor = opts.factor or 0.1,
    patience = opts.patience or 10, threshold = opts.threshold or 1e-4, threshold_mode = opts.threshold_mode or 'rel',
    cooldown = opts.cooldown or 0, eps = opts.eps or 1e-8, cooldown_counter = 0, num_bad_epochs = 0,
    last_epoch = 0 }, Plateau)
  if self.factor >= 1 then error('lr_scheduler.ReduceLROnPlateau: factor must be below 1', 2) end
  local min_lr = opts.min_lr or 0
  self.min_lrs = {}
  for i = 1, #optimizer.param_groups do self.min_lrs[i] = type(min_lr) == 'table' and min_lr[i] or min_lr end
  self.best = self.mode == 'min' and math.huge or -math.huge
  self._last_lr = current_lrs(self)
  return self
end })

function Plateau:is_better(a, best)
  if self.mode == 'min' and self.threshold_mode == 'rel' then return a < best * (1 - self.threshold) end
  if self.mode == 'min' then return a < best - self.threshold end
  if self.threshold_mode == 'rel' then return a > best * (self.threshold + 1) end
  return a > best + self.threshold
end

function Plateau:step(metric)
  if type(metric) == 'table' and metric.item then metric = metric:item() end
  if type(metric) ~= 'number' then error('ReduceLROnPlateau:step: expected the metric (a number)', 2) end
  self.last_epoch = self.last_epoch + 1
  if self:is_better(metric, self.best) then
    self.best, self.num_bad_epochs = metric, 0
  else
    self.num_bad_epochs = self.num_bad_epochs + 1
  end
  if self.cooldown_counter > 0 then
    self.cooldown_counter = self.cooldown_counter - 1
    self.num_bad_epochs = 0
  end
  if self.num_bad_epochs > self.patience then
    for i, group in ipairs(self.optimizer.param_groups) do
      local new_lr = math.max(group.lr * self.factor, self.min_lrs[i])
      if group.lr - new_lr > self.eps then group.lr = new_lr end
    end
    self.cooldown_counter, self.num_bad_epochs = self.cooldown, 0
  end
  self._last_lr = current_lrs(self)
end
Plateau.get_last_lr = Scheduler.get_last_lr
Plateau.state_dict = Scheduler.state_dict
Plateau.load_state_dict = Scheduler.load_state_dict

return M
