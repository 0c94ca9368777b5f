-- The optimizers against torch.optim: 20 steps of each configuration on the same small MLP (same initial
-- weights, same data, float64) must give the same parameters; parameter groups, state dicts (PyTorch's state
-- names; a saved and reloaded optimizer continues identically); every lr scheduler's rates (and OneCycleLR's
-- momentum/betas) over 30 steps; Torch7's functional optim.sgd/adam/adagrad/rmsprop against their Torch7
-- formulas written independently in Python; and the errors bad options raise.
local torch = require 'tensor'
local nn = require 'tensor.nn'
local optim = require 'tensor.optim'
local ref = require 'helpers.torchref'
local nnref = require 'helpers.nnref'

torch.manual_seed(5)

local F = nn.F
local function f64(...) return torch.randn(...):double() end

-- the problem: a 4-5-3 tanh MLP fitting Y from X with the mean squared error
local X, Y = f64(16, 4), f64(16, 3)
local W0 = { f64(5, 4) * 0.5, f64(5) * 0.1, f64(3, 5) * 0.5, f64(3) * 0.1 }

local function fresh_params()
  local ps = {}
  for i, w in ipairs(W0) do ps[i] = w:clone():requires_grad_() end
  return ps
end
local function loss_of(ps)
  local h = F.linear(X, ps[1], ps[2]):tanh()
  return F.mse_loss(F.linear(h, ps[3], ps[4]), Y)
end
local function closure_of(opt, ps)
  return function()
    opt:zero_grad()
    local loss = loss_of(ps)
    loss:backward()
    return loss
  end
end

-- Optimizer configurations: name, our constructor (from the params list), PyTorch's constructor text (with
-- `ps` the params list), and how many steps.
local CONFIGS = {
  { 'SGD', function(ps) return optim.SGD(ps, { lr = 0.1 }) end, 'torch.optim.SGD(ps, lr=0.1)' },
  { 'SGD momentum', function(ps) return optim.SGD(ps, { lr = 0.05, momentum = 0.9 }) end,
    'torch.optim.SGD(ps, lr=0.05, momentum=0.9)' },
  { 'SGD momentum, dampening, weight_decay', function(ps)
      return optim.SGD(ps, { lr = 0.05, momentum = 0.8, dampening = 0.3, weight_decay = 0.01 }) end,
    'torch.optim.SGD(ps, lr=0.05, momentum=0.8, dampening=0.3, weight_decay=0.01)' },
  { 'SGD nesterov', function(ps) return optim.SGD(ps, { lr = 0.05, momentum = 0.9, nesterov = true }) end,
    'torch.optim.SGD(ps, lr=0.05, momentum=0.9, nesterov=True)' },
  { 'SGD maximize', function(ps) return optim.SGD(ps, { lr = 0.01, maximize = true }) end,
    'torch.optim.SGD(ps, lr=0.01, maximize=True)' },
  { 'Adam', function(ps) return optim.Adam(ps, { lr = 0.01 }) end, 'torch.optim.Adam(ps, lr=0.01)' },
  { 'Adam amsgrad, weight_decay', function(ps)
      return optim.Adam(ps, { lr = 0.02, amsgrad = true, weight_decay = 0.1 }) end,
    'torch.optim.Adam(ps, lr=0.02, amsgrad=True, weight_decay=0.1)' },
  { 'Adam betas, eps', function(ps) return optim.Adam(ps, { lr = 0.01, betas = { 0.8, 0.9 }, eps = 1e-6 }) end,
    'torch.optim.Adam(ps, lr=0.01, betas=(0.8, 0.9), eps=1e-6)' },
  { 'AdamW', function(ps) return optim.AdamW(ps, { lr = 0.01, weight_decay = 0.1 }) end,
    'torch.optim.AdamW(ps, lr=0.01, weight_decay=0.1)' },
  { 'AdamW amsgrad (default weight_decay)', function(ps) return optim.AdamW(ps, { lr = 0.02, amsgrad = true }) end,
    'torch.optim.AdamW(ps, lr=0.02, amsgrad=True)' },
  { 'RMSprop', function(ps) return optim.RMSprop(ps, { lr = 0.01 }) end, 'torch.optim.RMSprop(ps, lr=0.01)' },
  { 'RMSprop centered', function(ps) return optim.RMSprop(ps, { lr = 0.01, centered = true }) end,
    'torch.optim.RMSprop(ps, lr=0.01, centered=True)' },
  { 'RMSprop momentum', function(ps) return optim.RMSprop(ps, { lr = 0.005, momentum = 0.5, alpha = 0.9 }) end,
    'torch.optim.RMSprop(ps, lr=0.005, momentum=0.5, alpha=0.9)' },
  { 'RMSprop centered, momentum, weight_decay', function(ps)
      return optim.RMSprop(ps, { lr = 0.005, momentum = 0.5, centered = true, weight_decay = 0.05 }) end,
    'torch.optim.RMSprop(ps, lr=0.005, momentum=0.5, centered=True, weight_decay=0.05)' },
  { 'Adagrad', function(ps) return optim.Adagrad(ps, { lr = 0.1 }) end, 'torch.optim.Adagrad(ps, lr=0.1)' },
  { 'Adagrad lr_decay, weight_decay, initial_accumulator_value', function(ps)
      return optim.Adagrad(ps, { lr = 0.1, lr_decay = 0.05, weight_decay = 0.1, initial_accumulator_value = 0.2 }) end,
    'torch.optim.Adagrad(ps, lr=0.1, lr_decay=0.05, weight_decay=0.1, initial_accumulator_value=0.2)' },
  { 'Adadelta', function(ps) return optim.Adadelta(ps) end, 'torch.optim.Adadelta(ps)' },
  { 'Adadelta rho, lr, weight_decay', function(ps)
      return optim.Adadelta(ps, { lr = 0.5, rho = 0.8, weight_decay = 0.01 }) end,
    'torch.optim.Adadelta(ps, lr=0.5, rho=0.8, weight_decay=0.01)' },
  { 'parameter groups with different lr and momentum', function(ps)
      return optim.SGD({ { params = { ps[1], ps[2] } }, { params = { ps[3], ps[4] }, lr = 0.01, momentum = 0.5 } },
                       { lr = 0.1 }) end,
    "torch.optim.SGD([{'params': ps[:2]}, {'params': ps[2:], 'lr': 0.01, 'momentum': 0.5}], lr=0.1)" },
  { 'Adam parameter groups', function(ps)
      return optim.Adam({ { params = { ps[1], ps[2] }, lr = 0.03 }, { params = { ps[3], ps[4] }, betas = { 0.5, 0.6 } } },
                        { lr = 0.01 }) end,
    "torch.optim.Adam([{'params': ps[:2], 'lr': 0.03}, {'params': ps[2:], 'betas': (0.5, 0.6)}], lr=0.01)" },
  { 'LBFGS', function(ps) return optim.LBFGS(ps) end, 'torch.optim.LBFGS(ps)', steps = 3 },
  { 'LBFGS small history, lr 0.5', function(ps) return optim.LBFGS(ps, { history_size = 3, lr = 0.5, max_iter = 7 }) end,
    'torch.optim.LBFGS(ps, history_size=3, lr=0.5, max_iter=7)', steps = 4 },
  { 'LBFGS strong_wolfe', function(ps) return optim.LBFGS(ps, { line_search_fn = 'strong_wolfe' }) end,
    "torch.optim.LBFGS(ps, line_search_fn='strong_wolfe')", steps = 3 },
  { 'LBFGS strong_wolfe, max_iter 5, history 4', function(ps)
      return optim.LBFGS(ps, { line_search_fn = 'strong_wolfe', max_iter = 5, history_size = 4 }) end,
    "torch.optim.LBFGS(ps, line_search_fn='strong_wolfe', max_iter=5, history_size=4)", steps = 6 },
  { 'LBFGS strong_wolfe, tolerance_change 1e-3', function(ps)
      return optim.LBFGS(ps, { line_search_fn = 'strong_wolfe', tolerance_change = 1e-3, max_iter = 10 }) end,
    "torch.optim.LBFGS(ps, line_search_fn='strong_wolfe', tolerance_change=1e-3, max_iter=10)", steps = 4 },
}

local PY_PROBLEM = [[
import torch.nn.functional as F
def fresh():
    return [w.clone().requires_grad_() for w in (w1, w2, w3, w4)]
def loss_of(ps):
    h = torch.tanh(F.linear(X, ps[0], ps[1]))
    return F.mse_loss(F.linear(h, ps[2], ps[3]), Y)
def run(make, steps):
    ps = fresh()
    opt = make(ps)
    losses = []
    def closure():
        opt.zero_grad()
        loss = loss_of(ps)
        loss.backward()
        return loss
    for _ in range(steps):
        losses.append(float(opt.step(closure)))
    return {'params': [p.detach() for p in ps], 'losses': losses,
            'state': sorted(set(k for s in opt.state.values() for k, v in s.items() if v is not None))}
]]
local problem_inputs = { X = X, Y = Y, w1 = W0[1], w2 = W0[2], w3 = W0[3], w4 = W0[4] }

local function optimizer_snippet()
  local lines = { PY_PROBLEM, 'out = []' }
  for _, c in ipairs(CONFIGS) do
    lines[#lines + 1] = string.format('out.append(run(lambda ps: %s, %d))', c[3], c.steps or 20)
  end
  -- a state dict round trip: 10 Adam steps, a fresh optimizer loads the state, 10 more steps
  lines[#lines + 1] = [[
ps = fresh()
opt = torch.optim.Adam(ps, lr=0.01, amsgrad=True)
def closure():
    opt.zero_grad()
    loss = loss_of(ps)
    loss.backward()
    return loss
for _ in range(20): opt.step(closure)
sd = opt.state_dict()
out.append({'params': [p.detach() for p in ps], 'groups': sorted(k for k in sd['param_groups'][0] if k != 'params'),
            'ids': sd['param_groups'][0]['params'], 'state_ids': sorted(sd['state'].keys())})]]
  return { code = table.concat(lines, '\n'), inputs = problem_inputs }
end

-- ---- schedulers ----
-- Each: our constructor from an optimizer, the PyTorch text, the optimizer kind ('sgd' or 'adam').
local SCHEDULERS = {
  { 'StepLR', function(o) return optim.lr_scheduler.StepLR(o, { step_size = 7, gamma = 0.5 }) end,
    'S.StepLR(opt, step_size=7, gamma=0.5)' },
  { 'StepLR positional, two groups', function(o) return optim.lr_scheduler.StepLR(o, 4, 0.7) end,
    'S.StepLR(opt, 4, 0.7)', groups = true },
  { 'MultiStepLR with a repeated milestone', function(o)
      return optim.lr_scheduler.MultiStepLR(o, { milestones = { 5, 12, 12, 20 }, gamma = 0.3 }) end,
    'S.MultiStepLR(opt, milestones=[5, 12, 12, 20], gamma=0.3)' },
  { 'ExponentialLR', function(o) return optim.lr_scheduler.ExponentialLR(o, { gamma = 0.9 }) end,
    'S.ExponentialLR(opt, gamma=0.9)' },
  { 'CosineAnnealingLR past T_max', function(o)
      return optim.lr_scheduler.CosineAnnealingLR(o, { T_max = 10, eta_min = 0.001 }) end,
    'S.CosineAnnealingLR(opt, T_max=10, eta_min=0.001)' },
  { 'CosineAnnealingLR two groups', function(o) return optim.lr_scheduler.CosineAnnealingLR(o, 7) end,
    'S.CosineAnnealingLR(opt, 7)', groups = true },
  { 'LambdaLR', function(o) return optim.lr_scheduler.LambdaLR(o, function(e) return 0.95 ^ e end) end,
    'S.LambdaLR(opt, lambda e: 0.95 ** e)' },
  { 'LambdaLR one function per group', function(o)
      return optim.lr_scheduler.LambdaLR(o, { lr_lambda = { function(e) return 1 / (e + 1) end,
                                                             function(e) return e % 3 + 1 end } }) end,
    'S.LambdaLR(opt, [lambda e: 1 / (e + 1), lambda e: e % 3 + 1])', groups = true },
  { 'OneCycleLR with SGD momentum', function(o) return optim.lr_scheduler.OneCycleLR(o, { max_lr = 1.0, total_steps = 31 }) end,
    'S.OneCycleLR(opt, max_lr=1.0, total_steps=31)', momentum = true },
  { 'OneCycleLR three_phase, linear, epochs x steps_per_epoch', function(o)
      return optim.lr_scheduler.OneCycleLR(o, { max_lr = 0.5, epochs = 4, steps_per_epoch = 8, three_phase = true,
                                                anneal_strategy = 'linear', pct_start = 0.25, div_factor = 10,
                                                final_div_factor = 100, base_momentum = 0.8, max_momentum = 0.9 }) end,
    "S.OneCycleLR(opt, max_lr=0.5, epochs=4, steps_per_epoch=8, three_phase=True, anneal_strategy='linear', " ..
      'pct_start=0.25, div_factor=10, final_div_factor=100, base_momentum=0.8, max_momentum=0.9)', momentum = true },
  { 'OneCycleLR cycles Adam betas', function(o)
      return optim.lr_scheduler.OneCycleLR(o, { max_lr = { 0.1, 0.2 }, total_steps = 31 }) end,
    'S.OneCycleLR(opt, max_lr=[0.1, 0.2], total_steps=31)', kind = 'adam', groups = true, momentum = true },
  { 'OneCycleLR cycle_momentum=false', function(o)
      return optim.lr_scheduler.OneCycleLR(o, { max_lr = 0.3, total_steps = 31, cycle_momentum = false }) end,
    'S.OneCycleLR(opt, max_lr=0.3, total_steps=31, cycle_momentum=False)', momentum = true },
}
local PLATEAU_METRICS = { 1.0, 0.9, 0.95, 0.91, 0.92, 0.93, 0.5, 0.6, 0.6, 0.6, 0.6, 0.6, 0.49, 0.7, 0.7, 0.7,
                          0.7, 0.7, 0.7, 0.7, 0.7, 0.7, 0.7, 0.7, 0.7, 0.7, 0.7, 0.7, 0.7, 0.7 }
local PLATEAUS = {
  { 'ReduceLROnPlateau min, rel threshold, cooldown, min_lr', {
      factor = 0.5, patience = 2, cooldown = 1, threshold = 0.05, min_lr = 0.01 },
    'S.ReduceLROnPlateau(opt, factor=0.5, patience=2, cooldown=1, threshold=0.05, min_lr=0.01)' },
  { 'ReduceLROnPlateau max, abs threshold', { mode = 'max', threshold_mode = 'abs', threshold = 0.01, patience = 1 },
    "S.ReduceLROnPlateau(opt, mode='max', threshold_mode='abs', threshold=0.01, patience=1)" },
  { 'ReduceLROnPlateau min, abs threshold, min_lr per group', { threshold_mode = 'abs', patience = 0, factor = 0.7,
      min_lr = { 0.05, 0.001 } },
    "S.ReduceLROnPlateau(opt, threshold_mode='abs', patience=0, factor=0.7, min_lr=[0.05, 0.001])", groups = true },
}

local function make_optimizer(kind, groups)
  local a, b = torch.zeros(2, { requires_grad = true }), torch.zeros(2, { requires_grad = true })
  local params = groups and { { params = { a } }, { params = { b }, lr = 0.05 } } or { a, b }
  if kind == 'adam' then return optim.Adam(params, { lr = 0.1 }) end
  return optim.SGD(params, { lr = 0.1, momentum = 0.9 })
end

local function scheduler_snippet()
  local lines = { [==[
import torch.optim.lr_scheduler as S
def make(kind, groups):
    a, b = torch.zeros(2, requires_grad=True), torch.zeros(2, requires_grad=True)
    params = [{'params': [a]}, {'params': [b], 'lr': 0.05}] if groups else [a, b]
    if kind == 'adam': return torch.optim.Adam(params, lr=0.1)
    return torch.optim.SGD(params, lr=0.1, momentum=0.9)
def momenta(opt):
    return [g['betas'][0] if 'betas' in g else g['momentum'] for g in opt.param_groups]
def run(kind, groups, make_sched, steps=30):
    opt = make(kind, groups)
    sched = make_sched(opt)
    lrs, ms = [[g['lr'] for g in opt.param_groups]], [momenta(opt)]
    for _ in range(steps):
        opt.step()
        sched.step()
        lrs.append(sched.get_last_lr())
        ms.append(momenta(opt))
    return {'lrs': lrs, 'momenta': ms}
def plateau(groups, make_sched, metrics):
    opt = make('sgd', groups)
    sched = make_sched(opt)
    lrs = []
    for m in metrics:
        opt.step()
        sched.step(m)
        lrs.append([g['lr'] for g in opt.param_groups])
    return lrs
out = {'sched': [], 'plateau': []}]==] }
  for _, c in ipairs(SCHEDULERS) do
    lines[#lines + 1] = string.format("out['sched'].append(run('%s', %s, lambda opt: %s))", c.kind or 'sgd',
                                      c.groups and 'True' or 'False', c[3])
  end
  local metrics = {}
  for i, m in ipairs(PLATEAU_METRICS) do metrics[i] = tostring(m) end
  for _, c in ipairs(PLATEAUS) do
    lines[#lines + 1] = string.format("out['plateau'].append(plateau(%s, lambda opt: %s, [%s]))",
                                      c.groups and 'True' or 'False', c[3], table.concat(metrics, ', '))
  end
  return { code = table.concat(lines, '\n') }
end

-- ---- Torch7's functional optimizers, their formulas written out in numpy ----
local A, B = f64(6, 3), f64(6)
local T7_CONFIGS = {
  { 'sgd', 'sgd', { learningRate = 0.05 } },
  { 'sgd momentum, dampening defaults to momentum', 'sgd', { learningRate = 0.05, momentum = 0.9 } },
  { 'sgd nesterov, weightDecay, learningRateDecay', 'sgd',
    { learningRate = 0.05, momentum = 0.9, dampening = 0, nesterov = true, weightDecay = 0.1, learningRateDecay = 0.1 } },
  { 'adam', 'adam', { learningRate = 0.05 } },
  { 'adam all options', 'adam',
    { learningRate = 0.05, learningRateDecay = 0.05, beta1 = 0.8, beta2 = 0.95, epsilon = 1e-4, weightDecay = 0.01 } },
  { 'adagrad', 'adagrad', { learningRate = 0.2, learningRateDecay = 0.1, weightDecay = 0.01 } },
  { 'rmsprop', 'rmsprop', { learningRate = 0.01, alpha = 0.9, epsilon = 1e-6, weightDecay = 0.01 } },
}
local function t7_snippet()
  local lines = { [[
import numpy as np
A_, B_ = A.numpy(), B.numpy()
def feval(x):
    r = A_ @ x - B_
    return float(r @ r), 2 * A_.T @ r
def sgd(x, c, s):
    lr, lrd, wd, mom = c.get('learningRate', 1e-3), c.get('learningRateDecay', 0), c.get('weightDecay', 0), c.get('momentum', 0)
    damp, nest = c.get('dampening', mom), c.get('nesterov', False)
    s.setdefault('evalCounter', 0)
    fx, g = feval(x)
    if wd != 0: g = g + wd * x
    if mom != 0:
        s['dfdx'] = g.copy() if 'dfdx' not in s else s['dfdx'] * mom + (1 - damp) * g
        g = g + mom * s['dfdx'] if nest else s['dfdx']
    x = x - lr / (1 + s['evalCounter'] * lrd) * g
    s['evalCounter'] += 1
    return x, fx
def adam(x, c, s):
    lr, lrd = c.get('learningRate', 1e-3), c.get('learningRateDecay', 0)
    b1, b2, eps, wd = c.get('beta1', 0.9), c.get('beta2', 0.999), c.get('epsilon', 1e-8), c.get('weightDecay', 0)
    fx, g = feval(x)
    if wd != 0: g = g + wd * x
    s.setdefault('t', 0); s.setdefault('m', np.zeros_like(x)); s.setdefault('v', np.zeros_like(x))
    clr = lr / (1 + s['t'] * lrd)
    s['t'] += 1
    s['m'] = b1 * s['m'] + (1 - b1) * g
    s['v'] = b2 * s['v'] + (1 - b2) * g * g
    denom = np.sqrt(s['v']) + eps
    step = clr * np.sqrt(1 - b2 ** s['t']) / (1 - b1 ** s['t'])
    return x - step * s['m'] / denom, fx
def adagrad(x, c, s):
    lr, lrd, wd = c.get('learningRate', 1e-3), c.get('learningRateDecay', 0), c.get('weightDecay', 0)
    s.setdefault('evalCounter', 0)
    fx, g = feval(x)
    if wd != 0: g = g + wd * x
    clr = lr / (1 + s['evalCounter'] * lrd)
    s['pv'] = s.get('pv', np.zeros_like(x)) + g * g
    s['evalCounter'] += 1
    return x - clr * g / (np.sqrt(s['pv']) + 1e-10), fx
def rmsprop(x, c, s):
    lr, alpha, eps, wd = c.get('learningRate', 1e-2), c.get('alpha', 0.99), c.get('epsilon', 1e-8), c.get('weightDecay', 0)
    fx, g = feval(x)
    if wd != 0: g = g + wd * x
    s['m'] = alpha * s.get('m', np.zeros_like(x)) + (1 - alpha) * g * g
    return x - lr * g / (np.sqrt(s['m']) + eps), fx
def run(fn, c):
    x, s, fs = np.zeros(3), {}, []
    for _ in range(15):
        x, fx = fn(x, c, s)
        fs.append(fx)
    return {'x': torch.from_numpy(x), 'fs': fs}
out = list()]] }
  for _, c in ipairs(T7_CONFIGS) do
    local parts = {}
    for k, v in pairs(c[3]) do parts[#parts + 1] = string.format("'%s': %s", k, v == true and 'True' or tostring(v)) end
    lines[#lines + 1] = string.format('out.append(run(%s, {%s}))', c[2], table.concat(parts, ', '))
  end
  return { code = table.concat(lines, '\n'), inputs = { A = A, B = B } }
end

local results = ref.batch({ optimizer_snippet(), scheduler_snippet(), t7_snippet() })
local OPT, SCHED, T7 = results[1], results[2], results[3]

local TOL = { atol = 1e-9, rtol = 1e-7 }
-- Adam's first moment is exp_avg:lerp_(g, 1 - beta1) here (PyTorch 2's form), exp_avg * beta1 + (1 - beta1) g in
-- the reference PyTorch 1.13: the rounding differs in the last bit, and Adam's normalised steps amplify it where
-- a gradient component hovers around zero
local ADAM_TOL = { atol = 1e-8, rtol = 1e-6 }

describe('optimizers match torch.optim over 20 steps', function()
  for i, c in ipairs(CONFIGS) do
    it(c[1], function()
      local ps = fresh_params()
      local opt = c[2](ps)
      local closure = closure_of(opt, ps)
      local losses = {}
      for k = 1, c.steps or 20 do losses[k] = opt:step(closure):item() end
      local expected = OPT[i]
      for k, loss in ipairs(losses) do
        assert(math.abs(loss - expected.losses[k]) <= 1e-9 + 1e-7 * math.abs(expected.losses[k]),
               string.format('loss at step %d: %.17g, expected %.17g', k, loss, expected.losses[k]))
      end
      for k, p in ipairs(ps) do
        local ok, msg = ref.compare(p, expected.params[k], c[3]:find('Adam', 1, true) and ADAM_TOL or TOL)
        assert(ok, 'parameter ' .. k .. ': ' .. tostring(msg))
      end
      -- the same per-parameter state names as PyTorch (LBFGS keeps its state on the first parameter)
      if not c[1]:find('LBFGS', 1, true) then
        local keys = {}
        for _, s in pairs(opt.state) do for k in pairs(s) do keys[k] = true end end
        local list = {}
        for k in pairs(keys) do list[#list + 1] = k end
        table.sort(list)
        assert.are.same(expected.state, list)
      end
      -- and the loss went down (maximize goes up)
      if c[1]:find('maximize', 1, true) then
        assert.is_true(losses[#losses] > losses[1])
      else
        assert.is_true(losses[#losses] < losses[1])
      end
    end)
  end
end)

describe('optimizer state dicts', function()
  it('number parameters from 0 like PyTorch; a reloaded optimizer continues exactly', function()
    local ps = fresh_params()
    local opt = optim.Adam(ps, { lr = 0.01, amsgrad = true })
    local closure = closure_of(opt, ps)
    for _ = 1, 10 do opt:step(closure) end
    local sd = opt:state_dict()
    local expected = OPT[#CONFIGS + 1]
    assert.are.same(expected.ids, sd.param_groups[1].params)
    local ids = {}
    for id in pairs(sd.state) do ids[#ids + 1] = id end
    table.sort(ids)
    assert.are.same(expected.state_ids, ids)
    for _, key in ipairs({ 'lr', 'betas', 'eps', 'weight_decay', 'amsgrad', 'maximize' }) do
      assert.is_not_nil(sd.param_groups[1][key], key)
    end
    -- the saved state is a copy
    local saved_avg = sd.state[0].exp_avg:clone()
    opt:step(closure)
    assert.are.same(saved_avg:tolist(), sd.state[0].exp_avg:tolist())
    -- a second optimizer on a copy of the parameters at step 10 continues like the first
    local ps2 = fresh_params()
    local opt2 = optim.Adam(ps2, { lr = 0.5 })
    local ps_a = fresh_params()
    local opt_a = optim.Adam(ps_a, { lr = 0.01, amsgrad = true })
    local closure_a = closure_of(opt_a, ps_a)
    for _ = 1, 10 do opt_a:step(closure_a) end
    torch.no_grad(function() for k, p in ipairs(ps2) do p:copy_(ps_a[k]) end end)
    opt2:load_state_dict(opt_a:state_dict())
    assert.are.equal(0.01, opt2.param_groups[1].lr)
    assert.is_true(opt2.param_groups[1].amsgrad)
    local closure2 = closure_of(opt2, ps2)
    for _ = 1, 10 do
      opt_a:step(closure_a)
      opt2:step(closure2)
    end
    for k = 1, #ps2 do assert.are.same(ps_a[k]:tolist(), ps2[k]:tolist()) end
    -- which is PyTorch's 20 steps
    for k, p in ipairs(ps2) do
      local ok, msg = ref.compare(p, expected.params[k], ADAM_TOL)
      assert(ok, 'parameter ' .. k .. ': ' .. tostring(msg))
    end
  end)
  it('SGD momentum buffers survive a round trip; bad state dicts raise', function()
    local ps = fresh_params()
    local opt = optim.SGD(ps, { lr = 0.05, momentum = 0.9 })
    local closure = closure_of(opt, ps)
    for _ = 1, 5 do opt:step(closure) end
    local sd = opt:state_dict()
    local opt2 = optim.SGD(ps, { lr = 0.05, momentum = 0.9 })
    opt2:load_state_dict(sd)
    assert.are.same(opt.state[ps[1]].momentum_buffer:tolist(), opt2.state[ps[1]].momentum_buffer:tolist())
    assert.has_error(function() opt2:load_state_dict({}) end)
    local two = optim.SGD({ { params = { ps[1] } }, { params = { ps[2] } } }, { lr = 0.1 })
    local ok, msg = pcall(function() two:load_state_dict(sd) end)
    assert.is_false(ok)
    assert.matches('parameter groups', msg)
  end)
end)

describe('optimizer behaviour', function()
  it('zero_grad sets gradients to nil (or zeros with set_to_none=false); step skips parameters without one', function()
    local ps = fresh_params()
    local opt = optim.SGD(ps, { lr = 0.1 })
    loss_of(ps):backward()
    opt:zero_grad({ set_to_none = false })
    assert.are.equal(0, ps[1].grad:abs():sum())
    opt:zero_grad()
    assert.is_nil(ps[1].grad)
    local before = ps[1]:clone()
    opt:step()
    assert.are.same(before:tolist(), ps[1]:tolist())
    -- step(closure) returns the closure's loss
    local loss = opt:step(closure_of(opt, ps))
    assert.is_true(torch.is_tensor(loss))
    assert.are.equal(0.1, opt.param_groups[1].lr)
    -- add_param_group takes the defaults for missing options
    local extra = torch.zeros(2, { requires_grad = true })
    opt:add_param_group({ params = { extra }, lr = 0.5 })
    assert.are.equal(0.5, opt.param_groups[2].lr)
    assert.are.equal(0, opt.param_groups[2].momentum)
  end)
  it("SGD's one-pass momentum step keeps the bits of buf = g + m buf; p = p - lr buf (float32, subnormals)", function()
    local core = require 'tensor.core'
    -- float32 on the fused path; a transposed gradient and float64 take the two element-wise ops
    for _, case in ipairs({ { 'float32', false }, { 'float32', true }, { 'float64', false } }) do
      local dtype, transposed = case[1], case[2]
      local n = 37 * 29 -- not a whole number of 16-float blocks
      local p0 = torch.randn(37, 29):to(dtype)
      local b0 = torch.randn(37, 29):to(dtype)
      b0:narrow(1, 1, 3):fill(3e-44) -- momentum stuck in the subnormal range
      local g2 = torch.randn(37, 29):to(dtype)
      g2:narrow(1, 5, 2):zero()
      local p = p0:clone():requires_grad_()
      local opt = optim.SGD({ p }, { lr = 0.01, momentum = 0.9 })
      p.grad = b0:clone()
      opt:step() -- the first step: buf = g
      p.grad = transposed and g2:t():contiguous():t() or g2:clone()
      opt:step()
      local r = ref.run([[
with np.errstate(all='ignore'):
  f = np.float32 if dt == 'float32' else np.float64
  p, b, g = p0.numpy(), b0.numpy(), g2.numpy()
  p = p + f(-0.01) * b
  b = g + f(0.9) * b
  p = p + f(-0.01) * b
out = {'p': torch.from_numpy(p), 'buf': torch.from_numpy(b)}
]], { p0 = p0, b0 = b0, g2 = g2, dt = "'" .. dtype .. "'" })
      local got_p, got_b = p:detach():contiguous():view(-1):tolist(), opt.state[p].momentum_buffer:view(-1):tolist()
      for i = 1, n do
        assert(got_p[i] == r.p.values[i], string.format('%s p[%d]: %.9g vs %.9g', dtype, i, got_p[i], r.p.values[i]))
        assert(got_b[i] == r.buf.values[i], string.format('%s buf[%d]: %.9g vs %.9g', dtype, i, got_b[i], r.buf.values[i]))
      end
    end
    -- the C entry checks its operands
    local a, b = torch.zeros(3), torch.zeros(4)
    local rc = core.C.tn_sgd_momentum_(a._c, a._c, b._c, 0.1, 0.9)
    assert.are.equal(-1, rc)
    assert.matches('sgd_momentum_: the tensors\' shapes differ %(%[3%] and %[4%]%)', require('ffi').string(core.C.tn_last_error()))
  end)

  it('works with a model: fits a linear map', function()
    local m = nn.Linear(3, 1)
    local x = torch.randn(64, 3)
    local y = x:matmul(torch.tensor({ { 1.0 }, { -2.0 }, { 0.5 } })) + 0.3
    local opt = optim.Adam(m:parameters(), { lr = 0.05 })
    for _ = 1, 300 do
      opt:zero_grad()
      local loss = F.mse_loss(m(x), y)
      loss:backward()
      opt:step()
    end
    assert.is_true(F.mse_loss(m(x), y):item() < 1e-4)
  end)
end)

describe('learning-rate schedulers match torch.optim.lr_scheduler over 30 steps', function()
  for i, c in ipairs(SCHEDULERS) do
    it(c[1], function()
      local opt = make_optimizer(c.kind, c.groups)
      local sched = c[2](opt)
      local function momenta()
        local list = {}
        for k, g in ipairs(opt.param_groups) do list[k] = g.betas and g.betas[1] or g.momentum end
        return list
      end
      local lrs = {}
      local ms = { momenta() }
      for k, g in ipairs(opt.param_groups) do lrs[k] = g.lr end
      lrs = { lrs }
      for _ = 1, 30 do
        opt:step()
        sched:step()
        lrs[#lrs + 1] = sched:get_last_lr()
        ms[#ms + 1] = momenta()
      end
      local expected = SCHED.sched[i]
      assert.are.equal(#expected.lrs, #lrs)
      for step = 1, #lrs do
        for g = 1, #lrs[step] do
          local a, b = lrs[step][g], expected.lrs[step][g]
          assert(math.abs(a - b) <= 1e-12 + 1e-10 * math.abs(b),
                 string.format('step %d, group %d: lr %.17g, expected %.17g', step - 1, g, a, b))
          if c.momentum then
            local ma, mb = ms[step][g], expected.momenta[step][g]
            assert(math.abs(ma - mb) <= 1e-12, string.format('step %d, group %d: momentum %.17g, expected %.17g',
                                                             step - 1, g, ma, mb))
          end
        end
      end
    end)
  end
  for i, c in ipairs(PLATEAUS) do
    it(c[1], function()
      local opt = make_optimizer('sgd', c.groups)
      local sched = optim.lr_scheduler.ReduceLROnPlateau(opt, c[2])
      for step, metric in ipairs(PLATEAU_METRICS) do
        opt:step()
        sched:step(metric)
        for g, group in ipairs(opt.param_groups) do
          local e = SCHED.plateau[i][step][g]
          assert(math.abs(group.lr - e) <= 1e-15 + 1e-12 * e,
                 string.format('step %d, group %d: lr %.17g, expected %.17g', step, g, group.lr, e))
        end
        assert.are.same(sched:get_last_lr()[1], opt.param_groups[1].lr)
      end
    end)
  end
  -- A scheduler (and its optimizer) saved halfway through torch.save/torch.load and restored into fresh ones
  -- must continue exactly as the run that was never interrupted.
  local function resumes_exactly(kind, groups, make, step)
    local function groups_of(opt)
      local list = {}
      for g, group in ipairs(opt.param_groups) do
        list[g] = { group.lr, group.betas and group.betas[1] or group.momentum }
      end
      return list
    end
    local opt_a = make_optimizer(kind, groups)
    local sched_a = make(opt_a)
    local expected = {}
    for k = 1, 24 do
      opt_a:step()
      step(sched_a, k)
      expected[k] = groups_of(opt_a)
    end
    local opt_b = make_optimizer(kind, groups)
    local sched_b = make(opt_b)
    for k = 1, 12 do
      opt_b:step()
      step(sched_b, k)
    end
    local path = os.tmpname()
    torch.save(path, { optimizer = opt_b:state_dict(), scheduler = sched_b:state_dict() })
    local saved = torch.load(path)
    os.remove(path)
    local opt_c = make_optimizer(kind, groups)
    local sched_c = make(opt_c)
    opt_c:load_state_dict(saved.optimizer)
    sched_c:load_state_dict(saved.scheduler)
    for k = 13, 24 do
      opt_c:step()
      step(sched_c, k)
      local got = groups_of(opt_c)
      for g = 1, #got do
        assert(got[g][1] == expected[k][g][1], string.format('step %d, group %d: lr %.17g after resuming, %.17g ' ..
               'without a break', k, g, got[g][1], expected[k][g][1]))
        assert(got[g][2] == expected[k][g][2], string.format('step %d, group %d: momentum %s after resuming, %s',
               k, g, tostring(got[g][2]), tostring(expected[k][g][2])))
      end
    end
  end
  for _, c in ipairs(SCHEDULERS) do
    it(c[1] .. ': state_dict saved halfway resumes the same schedule', function()
      resumes_exactly(c.kind, c.groups, c[2], function(sched) sched:step() end)
    end)
  end
  for _, c in ipairs(PLATEAUS) do
    it(c[1] .. ': state_dict saved halfway resumes the same schedule', function()
      resumes_exactly('sgd', c.groups, function(opt) return optim.lr_scheduler.ReduceLROnPlateau(opt, c[2]) end,
                      function(sched, k) sched:step(PLATEAU_METRICS[k]) end)
    end)
  end
  it('scheduler state dicts share nothing with the scheduler and reject a non-table', function()
    local sched = optim.lr_scheduler.StepLR(make_optimizer('sgd'), { step_size = 2 })
    local sd = sched:state_dict()
    sd.base_lrs[1] = 123
    assert.are_not.equal(123, sched.base_lrs[1])
    local ok, msg = pcall(function() sched:load_state_dict(42) end)
    assert.is_false(ok)
    assert.matches('load_state_dict: expected the table from state_dict, got number', msg)
  end)
  it('OneCycleLR refuses to step past total_steps; ReduceLROnPlateau takes a 0-d tensor metric', function()
    local opt = make_optimizer('sgd')
    local sched = optim.lr_scheduler.OneCycleLR(opt, { max_lr = 1, total_steps = 3 })
    for _ = 1, 3 do sched:step() end
    local ok, msg = pcall(function() sched:step() end)
    assert.is_false(ok)
    assert.matches('total_steps', msg)
    local p = optim.lr_scheduler.ReduceLROnPlateau(make_optimizer('sgd'), { patience = 0 })
    p:step(torch.tensor(1.0))
    p:step(torch.tensor(2.0))
    assert.is_true(math.abs(p:get_last_lr()[1] - 0.01) < 1e-15)
  end)
end)

describe("Torch7's functional optimizers follow Torch7's formulas", function()
  for i, c in ipairs(T7_CONFIGS) do
    it(c[1], function()
      local x = torch.zeros(3, { dtype = 'float64' })
      local config = {}
      for k, v in pairs(c[3]) do config[k] = v end
      local state = {}
      local function feval(p)
        local r = A:matmul(p) - B
        return r:dot(r):item(), A:t():matmul(r) * 2
      end
      local fs = {}
      for k = 1, 15 do
        local x2, f = optim[c[2]](feval, x, config, state)
        assert.are.equal(x, x2) -- updated in place
        fs[k] = f[1]
      end
      local expected = T7[i]
      for k, f in ipairs(fs) do
        assert(math.abs(f - expected.fs[k]) <= 1e-10 * math.max(1, math.abs(f)), 'f at step ' .. k)
      end
      local ok, msg = ref.compare(x, expected.x, nnref.tol('float64', 10))
      assert(ok, msg)
      assert.is_true(fs[#fs] < fs[1])
    end)
  end
  it('state defaults to config, as in Torch7', function()
    local x = torch.zeros(3, { dtype = 'float64' })
    local config = { learningRate = 0.05, momentum = 0.9 }
    local function feval(p) local r = A:matmul(p) - B return r:dot(r):item(), A:t():matmul(r) * 2 end
    optim.sgd(feval, x, config)
    optim.sgd(feval, x, config)
    assert.are.equal(2, config.evalCounter)
    assert.is_not_nil(config.dfdx)
  end)
end)

describe('bad optimizer options', function()
  local fails = require('helpers.failure').containing
  local ps = { torch.zeros(2, { requires_grad = true }) }
  it('raise, naming the optimizer and the option', function()
    fails(function() optim.SGD(ps, { lr = 0.1, momentun = 0.9 }) end, 'SGD', 'momentun')
    fails(function() optim.Adam(ps, { lr = -0.1 }) end, 'Adam', 'lr')
    fails(function() optim.Adam(ps, { betas = { 0.9, 1.0 } }) end, 'Adam', 'betas')
    fails(function() optim.AdamW(ps, { betas = { -0.1, 0.9 } }) end, 'AdamW', 'betas')
    fails(function() optim.RMSprop(ps, { momentum = -1 }) end, 'RMSprop', 'momentum')
    fails(function() optim.Adagrad(ps, { weight_decay = -1 }) end, 'Adagrad', 'weight_decay')
    fails(function() optim.Adadelta(ps, { eps = -1 }) end, 'Adadelta', 'eps')
    fails(function() optim.SGD(ps, { lr = 0.1, nesterov = true }) end, 'nesterov')
    fails(function() optim.SGD({}, { lr = 0.1 }) end, 'SGD', 'non-empty')
    fails(function() optim.SGD({ torch.zeros(2) }, { lr = 0.1 }) end, 'SGD', 'require grad')
    fails(function() optim.SGD({ 3 }, { lr = 0.1 }) end, 'SGD', 'not a tensor')
    fails(function() optim.LBFGS(ps, { line_search_fn = 'backtracking' }) end, 'LBFGS', 'strong_wolfe')
    fails(function() optim.LBFGS(ps):step() end, 'LBFGS', 'closure')
    fails(function() optim.lr_scheduler.StepLR({}, { step_size = 2 }) end, 'StepLR', 'optimizer')
    fails(function() optim.lr_scheduler.StepLR(make_optimizer('sgd'), {}) end, 'StepLR', 'step_size')
    fails(function() optim.lr_scheduler.OneCycleLR(make_optimizer('sgd'), { max_lr = 1 }) end, 'OneCycleLR', 'total_steps')
    fails(function() optim.lr_scheduler.ReduceLROnPlateau(make_optimizer('sgd'), { factor = 1.5 }) end, 'factor')
    fails(function() optim.lr_scheduler.ReduceLROnPlateau(make_optimizer('sgd')):step('x') end, 'metric')
  end)
end)

-- ---- step(epoch): schedulers with a closed form jump to that epoch's rate, as PyTorch ----
do
  local cases = require('helpers.cases').new()
  local S = optim.lr_scheduler
  local epochs = { 2, 5, 7, 10, 4, 0, 13 }
  local function rates(make)
    local p = torch.zeros(1, { dtype = 'float64', requires_grad = true })
    local o = optim.SGD({ p }, { lr = 0.1 })
    local s = make(o)
    local out = {}
    for i, e in ipairs(epochs) do
      s:step(e)
      out[i] = o.param_groups[1].lr
    end
    return torch.tensor(out, { dtype = 'float64' })
  end
  cases:add('StepLR, MultiStepLR, ExponentialLR and CosineAnnealingLR stepped to given epochs', function()
    return { rates(function(o) return S.StepLR(o, { step_size = 3, gamma = 0.5 }) end),
             rates(function(o) return S.MultiStepLR(o, { milestones = { 3, 6, 6 }, gamma = 0.5 }) end),
             rates(function(o) return S.ExponentialLR(o, { gamma = 0.9 }) end),
             rates(function(o) return S.CosineAnnealingLR(o, { T_max = 10, eta_min = 0.01 }) end) }
  end, [[
import warnings
warnings.filterwarnings('ignore')  # (step(epoch) is deprecated in PyTorch)
import torch.optim.lr_scheduler as S
def rates(make):
    p = torch.zeros(1, dtype=torch.float64, requires_grad=True)
    o = torch.optim.SGD([p], lr=0.1)
    s = make(o)
    out = []
    for e in [2, 5, 7, 10, 4, 0, 13]:
        s.step(e)
        out.append(o.param_groups[0]['lr'])
    return torch.tensor(out, dtype=torch.float64)
out = [rates(lambda o: S.StepLR(o, step_size=3, gamma=0.5)), rates(lambda o: S.MultiStepLR(o, milestones=[3, 6, 6], gamma=0.5)),
       rates(lambda o: S.ExponentialLR(o, gamma=0.9)), rates(lambda o: S.CosineAnnealingLR(o, T_max=10, eta_min=0.01))]
]])
  cases:describe('schedulers stepped to a given epoch match PyTorch')
end

-- ---- resuming from an optimizer state saved by PyTorch (its step count is a 0-d tensor since 1.12) ----
describe('optimizer state saved by PyTorch', function()
  local H = require 'helpers.serialization'
  local ref = require 'helpers.torchref'
  local configs = {
    { 'Adam', 'torch.optim.Adam([p], lr=0.1, amsgrad=True)', function(ps) return optim.Adam(ps, { lr = 0.1, amsgrad = true }) end },
    { 'AdamW', 'torch.optim.AdamW([p], lr=0.1, weight_decay=0.1)', function(ps) return optim.AdamW(ps, { lr = 0.1, weight_decay = 0.1 }) end },
    { 'Adagrad', 'torch.optim.Adagrad([p], lr=0.1)', function(ps) return optim.Adagrad(ps, { lr = 0.1 }) end },
  }
  for _, c in ipairs(configs) do
    it(c[1] .. ' resumes from torch.load of a PyTorch state dict and steps as PyTorch does', function()
      local path = H.path(c[1] .. '_opt.pt')
      local r = ref.run(string.format([[
p = torch.nn.Parameter(torch.tensor([1.0, -2.0, 0.5], dtype=torch.float64))
o = %s
for i in range(3):
    p.grad = torch.tensor([0.5, -0.25, 1.0], dtype=torch.float64) * (i + 1)
    o.step()
torch.save({'param': p.detach().clone(), 'opt': o.state_dict()}, %q)
for i in range(2):
    p.grad = torch.tensor([-0.75, 0.5, 0.25], dtype=torch.float64) * (i + 1)
    o.step()
out = p.detach()
]], c[2], path))
      local saved = torch.load(path)
      local p = saved.param:clone():requires_grad_()
      local o = c[3]({ p })
      o:load_state_dict(saved.opt)
      for i = 1, 2 do
        p.grad = torch.tensor({ -0.75, 0.5, 0.25 }, { dtype = 'float64' }) * i
        o:step()
      end
      local ok, msg = ref.compare(p:detach(), r, { atol = 1e-12, rtol = 1e-10 })
      assert(ok, msg)
    end)
  end
end)

describe('LBFGS state dicts', function()
  it('share no history with the optimizer they came from or went into', function()
    local function make(x0)
      local x = torch.tensor(x0, { dtype = 'float64' }):requires_grad_()
      local o = optim.LBFGS({ x }, { max_iter = 2, history_size = 5 })
      local function closure()
        o:zero_grad()
        local loss = (x:pow(4)):sum() + x[1] * x[2] * 0.5
        loss:backward()
        return loss
      end
      return x, o, closure
    end
    local x, o, closure = make({ 3, -2 })
    for _ = 1, 3 do o:step(closure) end
    local sd = o:state_dict()
    local dirs = sd.state[0].old_dirs
    local count, first = #dirs, dirs[1]:clone()
    for _ = 1, 3 do o:step(closure) end -- the live history moves on
    assert.are.equal(count, #sd.state[0].old_dirs)
    assert.are.same(first:totable(), sd.state[0].old_dirs[1]:totable())
    -- two optimizers resumed from one state dict step alike
    local xa, oa, ca = make(x:detach():totable())
    local xb, ob, cb = make(x:detach():totable())
    oa:load_state_dict(sd)
    ob:load_state_dict(sd)
    for _ = 1, 3 do oa:step(ca) end
    for _ = 1, 3 do ob:step(cb) end
    assert.are.same(xa:detach():totable(), xb:detach():totable())
  end)
end)

describe('parameter groups', function()
  it('refuse a parameter that is already in a group (it would be stepped twice)', function()
    local message = require 'helpers.failure'
    local p, q = torch.zeros(2, { requires_grad = true }), torch.zeros(2, { requires_grad = true })
    assert.matches('optim.SGD: parameter 1 of the group is already in a parameter group of this optimizer',
                   message(function() return optim.SGD({ { params = { p } }, { params = { p } } }, { lr = 0.1 }) end), 1, true)
    assert.matches('optim.Adam: parameter 2 of the group is already in a parameter group',
                   message(function() return optim.Adam({ p, p }, { lr = 0.1 }) end), 1, true)
    local o = optim.SGD({ p }, { lr = 0.1 })
    assert.matches('already in a parameter group', message(function() o:add_param_group({ params = { q, p } }) end), 1, true)
    o:add_param_group({ params = { q } })
    assert.are.equal(2, #o.param_groups)
  end)
end)
