-- tensor.optim.lbfgs: L-BFGS, a port of torch.optim.LBFGS (two-loop recursion over a limited history,
-- optionally with the strong Wolfe line search), so both give the same iterates.
local torch = require 'tensor'
local Optimizer = require 'tensor.optim.optimizer'

local LBFGS = setmetatable({ name = 'LBFGS' }, { __index = Optimizer })
LBFGS.__index = LBFGS

local defaults = { lr = 1, max_iter = 20, max_eval = false, tolerance_grad = 1e-7, tolerance_change = 1e-9,
                   history_size = 100, line_search_fn = false }

--- optim.LBFGS(params, {lr=1, max_iter=20, max_eval=max_iter*5/4, tolerance_grad=1e-7, tolerance_change=1e-9,
---   history_size=100, line_search_fn=nil or 'strong_wolfe'})
-- Limited-memory BFGS; step(closure) needs a closure that zeroes gradients, computes the loss, calls
-- backward and returns the loss. All parameters form one group.
function LBFGS.new(params, opts)
  local self = Optimizer.new(LBFGS, params, opts, defaults)
  if #self.param_groups ~= 1 then error('optim.LBFGS: does not support parameter groups', 2) end
  local group = self.param_groups[1]
  if not group.max_eval then group.max_eval = math.floor(group.max_iter * 5 / 4) end
  if group.line_search_fn and group.line_search_fn ~= 'strong_wolfe' then
    error("optim.LBFGS: line_search_fn must be nil or 'strong_wolfe', got " .. tostring(group.line_search_fn), 2)
  end
  self._params = group.params
  return self
end
setmetatable(LBFGS, { __index = Optimizer, __call = function(_, params, opts) return LBFGS.new(params, opts) end })

local function value(x)
  if type(x) == 'number' then return x end
  return x:item()
end

function LBFGS:_gather_flat_grad()
  local views = {}
  for i, p in ipairs(self._params) do
    local g = rawget(p, '_grad')
    views[i] = g and g:reshape(-1) or torch.zeros(p:numel(), { dtype = p:dtype(), device = p:device() })
  end
  return torch.cat(views, 1)
end

function LBFGS:_add_grad(step, update)
  local offset = 1
  for _, p in ipairs(self._params) do
    local n = p:numel()
    p:add_(update:narrow(1, offset, n):view_as(p), step)
    offset = offset + n
  end
end

function LBFGS:_clone_param()
  local list = {}
  for i, p in ipairs(self._params) do list[i] = p:clone() end
  return list
end

function LBFGS:_set_param(data)
  for i, p in ipairs(self._params) do p:copy_(data[i]) end
end

function LBFGS:_directional_evaluate(closure, x, t, d)
  self:_add_grad(t, d)
  local loss = value(torch.enable_grad(closure))
  local flat_grad = self:_gather_flat_grad()
  self:_set_param(x)
  return loss, flat_grad
end

local function cubic_interpolate(x1, f1, g1, x2, f2, g2, lo, hi)
  local xmin, xmax
  if lo then xmin, xmax = lo, hi elseif x1 <= x2 then xmin, xmax = x1, x2 else xmin, xmax = x2, x1 end
  local d1 = g1 + g2 - 3 * (f1 - f2) / (x1 - x2)
  local d2_square = d1 * d1 - g1 * g2
  if d2_square >= 0 then
    local d2 = math.sqrt(d2_square)
    local min_pos
    if x1 <= x2 then
      min_pos = x2 - (x2 - x1) * ((g2 + d2 - d1) / (g2 - g1 + 2 * d2))
    else
      min_pos = x1 - (x1 - x2) * ((g1 + d2 - d1) / (g1 - g2 + 2 * d2))
    end
    return math.min(math.max(min_pos, xmin), xmax)
  end
  return (xmin + xmax) / 2
end

local function strong_wolfe(obj, x, t, d, f, g, gtd, tolerance_change)
  local c1, c2, max_ls = 1e-4, 0.9, 25
  local d_norm = value(d:abs():max())
  g = g:clone()
  local f_new, g_new = obj(x, t, d)
  local evals = 1
  local gtd_new = value(g_new:dot(d))
  local t_prev, f_prev, g_prev, gtd_prev = 0, f, g, gtd
  local done, ls_iter = false, 0
  local bracket, bracket_f, bracket_g, bracket_gtd
  while ls_iter < max_ls do
    if f_new > (f + c1 * t * gtd) or (ls_iter > 1 and f_new >= f_prev) then
      bracket, bracket_f = { t_prev, t }, { f_prev, f_new }
      bracket_g, bracket_gtd = { g_prev, g_new:clone() }, { gtd_prev, gtd_new }
      break
    end
    if math.abs(gtd_new) <= -c2 * gtd then
      bracket, bracket_f, bracket_g = { t }, { f_new }, { g_new }
      done = true
      break
    end
    if gtd_new >= 0 then
      bracket, bracket_f = { t_prev, t }, { f_prev, f_new }
      bracket_g, bracket_gtd = { g_prev, g_new:clone() }, { gtd_prev, gtd_new }
      break
    end
    local min_step, max_step = t + 0.01 * (t - t_prev), t * 10
    local tmp = t
    t = cubic_interpolate(t_prev, f_prev, gtd_prev, t, f_new, gtd_new, min_step, max_step)
    t_prev, f_prev, g_prev, gtd_prev = tmp, f_new, g_new:clone(), gtd_new
    f_new, g_new = obj(x, t, d)
    evals = evals + 1
    gtd_new = value(g_new:dot(d))
    ls_iter = ls_iter + 1
  end
  if ls_iter == max_ls then
    bracket, bracket_f, bracket_g = { 0, t }, { f, f_new }, { g, g_new }
  end
  -- zoom into the bracket
  local insufficient = false
  local low, high
  if bracket_f[1] <= bracket_f[#bracket_f] then low, high = 1, 2 else low, high = 2, 1 end
  while not done and ls_iter < max_ls do
    if math.abs(bracket[2] - bracket[1]) * d_norm < tolerance_change then break end
    t = cubic_interpolate(bracket[1], bracket_f[1], bracket_gtd[1], bracket[2], bracket_f[2], bracket_gtd[2])
    local bmax, bmin = math.max(bracket[1], bracket[2]), math.min(bracket[1], bracket[2])
    local eps = 0.1 * (bmax - bmin)
    if math.min(bmax - t, t - bmin) < eps then
      if insufficient or t >= bmax or t <= bmin then
        if math.abs(t - bmax) < math.abs(t - bmin) then t = bmax - eps else t = bmin + eps end
        insufficient = false
      else
        insufficient = true
      end
    else
      insufficient = false
    end
    f_new, g_new = obj(x, t, d)
    evals = evals + 1
    gtd_new = value(g_new:dot(d))
    ls_iter = ls_iter + 1
    if f_new > (f + c1 * t * gtd) or f_new >= bracket_f[low] then
      bracket[high], bracket_f[high], bracket_g[high], bracket_gtd[high] = t, f_new, g_new:clone(), gtd_new
      if bracket_f[1] <= bracket_f[2] then low, high = 1, 2 else low, high = 2, 1 end
    else
      if math.abs(gtd_new) <= -c2 * gtd then
        done = true
      elseif gtd_new * (bracket[high] - bracket[low]) >= 0 then
        bracket[high], bracket_f[high], bracket_g[high], bracket_gtd[high] =
          bracket[low], bracket_f[low], bracket_g[low], bracket_gtd[low]
      end
      bracket[low], bracket_f[low], bracket_g[low], bracket_gtd[low] = t, f_new, g_new:clone(), gtd_new
    end
  end
  return bracket_f[low], bracket_g[low], bracket[low], evals
end

--- LBFGS:step(closure) -> loss
function LBFGS:step(closure)
  if type(closure) ~= 'function' then error('LBFGS:step: a closure returning the loss is required', 2) end
  local group = self.param_groups[1]
  local lr, max_iter, max_eval = group.lr, group.max_iter, group.max_eval
  local tolerance_grad, tolerance_change, history_size = group.tolerance_grad, group.tolerance_change,
    group.history_size
  local state = self:state_of(self._params[1])
  state.func_evals = state.func_evals or 0
  state.n_iter = state.n_iter or 0

  local orig_loss = torch.enable_grad(closure)
  local loss = value(orig_loss)
  local current_evals = 1
  state.func_evals = state.func_evals + 1

  return torch.no_grad(function()
    local flat_grad = self:_gather_flat_grad()
    if value(flat_grad:abs():max()) <= tolerance_grad then return orig_loss end
    local d, t, old_dirs, old_stps, ro, H_diag = state.d, state.t, state.old_dirs, state.old_stps, state.ro, state.H_diag
    local prev_flat_grad, prev_loss = state.prev_flat_grad, state.prev_loss
    local n_iter = 0
    while n_iter < max_iter do
      n_iter = n_iter + 1
      state.n_iter = state.n_iter + 1
      if state.n_iter == 1 then
        d = -flat_grad
        old_dirs, old_stps, ro, H_diag = {}, {}, {}, 1
      else
        local y = flat_grad - prev_flat_grad
        local s = d * t
        local ys = value(y:dot(s))
        if ys > 1e-10 then
          if #old_dirs == history_size then
            table.remove(old_dirs, 1)
            table.remove(old_stps, 1)
            table.remove(ro, 1)
          end
          old_dirs[#old_dirs + 1], old_stps[#old_stps + 1], ro[#ro + 1] = y, s, 1 / ys
          H_diag = ys / value(y:dot(y))
        end
        local al = {}
        local q = -flat_grad
        for i = #old_dirs, 1, -1 do
          al[i] = value(old_stps[i]:dot(q)) * ro[i]
          q:add_(old_dirs[i], -al[i])
        end
        d = q * H_diag
        for i = 1, #old_dirs do
          local be_i = value(old_dirs[i]:dot(d)) * ro[i]
          d:add_(old_stps[i], al[i] - be_i)
        end
      end
      if prev_flat_grad == nil then prev_flat_grad = flat_grad:clone() else prev_flat_grad:copy_(flat_grad) end
      prev_loss = loss
      if state.n_iter == 1 then
        t = math.min(1, 1 / value(flat_grad:abs():sum())) * lr
      else
        t = lr
      end
      local gtd = value(flat_grad:dot(d))
      if gtd > -tolerance_change then break end
      local ls_evals = 0
      local opt_cond = false
      if group.line_search_fn == 'strong_wolfe' then
        local x_init = self:_clone_param()
        local function obj(x, step, dir) return self:_directional_evaluate(closure, x, step, dir) end
        -- (the line search keeps its own tolerance, 1e-9, whatever the group's: PyTorch's lbfgs passes none)
        loss, flat_grad, t, ls_evals = strong_wolfe(obj, x_init, t, d, loss, flat_grad, gtd, 1e-9)
        self:_add_grad(t, d)
        opt_cond = value(flat_grad:abs():max()) <= tolerance_grad
      else
        self:_add_grad(t, d)
        if n_iter ~= max_iter then
          loss = value(torch.enable_grad(closure))
          flat_grad = self:_gather_flat_grad()
          opt_cond = value(flat_grad:abs():max()) <= tolerance_grad
          ls_evals = 1
        end
      end
      current_evals = current_evals + ls_evals
      state.func_evals = state.func_evals + ls_evals
      if n_iter == max_iter or current_evals >= max_eval or opt_cond then break end
      if value((d * t):abs():max()) <= tolerance_change then break end
      if math.abs(loss - prev_loss) < tolerance_change then break end
    end
    state.d, state.t, state.old_dirs, state.old_stps, state.ro, state.H_diag = d, t, old_dirs, old_stps, ro, H_diag
    state.prev_flat_grad, state.prev_loss = prev_flat_grad, prev_loss
    return orig_loss
  end)
end

return LBFGS
