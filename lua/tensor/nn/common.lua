-- tensor.nn.common: what the layer files share: options read positionally or from a trailing table,
-- parameter creation with dtype/device options, and errors that name the module.
local core = require 'tensor.core'
local args = require 'tensor.args'
local torch = require 'tensor'
local module = require 'tensor.nn.module'

local M = {}

function M.is_opts(v) return type(v) == 'table' and not core.is_tensor(v) and getmetatable(v) == nil and v[1] == nil end

-- Keys every constructor's options table may hold besides its own (where its parameters are made).
local FACTORY = { dtype = true, device = true }

-- Reads options named `names` from positional arguments, or from a table given in their place; a key of that
-- table that is not an option of `owner` is an error (a misspelt option would otherwise be dropped silently).
local function check_keys(owner, opts, names)
  args.check_option_keys(owner, opts, names, FACTORY, ', dtype and device')
end

function M.options(owner, names, ...)
  local first = select(1, ...)
  if M.is_opts(first) then
    check_keys(owner, first, names)
    return first
  end
  local opts = {}
  for i, name in ipairs(names) do
    local v = select(i, ...)
    if v ~= nil then opts[name] = v end
  end
  return opts
end

-- Checks a table given as a constructor's trailing options (Linear(4, 2, true, {dtype=...})): only `names`,
-- dtype and device may appear. Returns it.
function M.check_options(owner, opts, names)
  if M.is_opts(opts) then check_keys(owner, opts, names or {}) end
  return opts
end

-- Options given positionally (in PyTorch's order, `names`), as one table, or positionally followed by a table of
-- the rest (nn.LSTMCell(3, 4, false, {dtype='float64'})). The keys of a table are checked against `names`,
-- `extra` (the options only a table may give) and dtype and device; more positional values than `names` is an
-- error. Returns a new table of the options given.
function M.mixed_options(owner, names, extra, ...)
  local n = select('#', ...)
  local last = n > 0 and select(n, ...) or nil
  local positional = M.is_opts(last) and n - 1 or n
  while positional > 0 and select(positional, ...) == nil do positional = positional - 1 end
  if positional > #names then
    error(string.format('%s: expected at most %d positional options%s, got %d', owner, #names,
                        #names > 0 and ' (' .. table.concat(names, ', ') .. ')' or '', positional), 4)
  end
  local o = {}
  if M.is_opts(last) then
    local all = {}
    for i, k in ipairs(names) do all[i] = k end
    for _, k in ipairs(extra or {}) do all[#all + 1] = k end
    check_keys(owner, last, all)
    for k, v in pairs(last) do o[k] = v end
  end
  for i = 1, positional do
    local v = select(i, ...)
    if v ~= nil then o[names[i]] = v end
  end
  return o
end

-- A new parameter of the given shape (uninitialised), honouring opts.dtype and opts.device.
function M.parameter(shape, opts)
  return module.Parameter(torch.empty(shape, { dtype = opts and opts.dtype, device = opts and opts.device }))
end

function M.buffer(t, opts)
  if opts and (opts.dtype or opts.device) then
    return t:to({ dtype = t:is_floating_point() and opts.dtype or nil, device = opts.device })
  end
  return t
end

-- Raises "<Module>: message" at the caller of forward.
function M.fail(self, fmt, ...)
  error(self:typename() .. ': ' .. string.format(fmt, ...), 3)
end

function M.shape(t) return '[' .. table.concat(t:shape(), ' x ') .. ']' end

function M.positive_int(owner, name, v)
  if type(v) ~= 'number' or v < 1 or v ~= math.floor(v) then
    error(string.format('%s: %s must be a positive integer, got %s', owner, name, tostring(v)), 4)
  end
  return v
end

-- Printing in PyTorch's repr style: tuples ('(3,)' for one element), booleans, floats ('1.0').
function M.tuple(v)
  if type(v) == 'table' then return '(' .. table.concat(v, ', ') .. (#v == 1 and ',)' or ')') end
  return tostring(v)
end
function M.bool(v) return v and 'True' or 'False' end
function M.float(v)
  if v == math.floor(v) and math.abs(v) < 1e15 then return string.format('%.1f', v) end
  return tostring(v)
end

return M
