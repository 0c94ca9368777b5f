-- tensor.print: Torch7-style printing: aligned columns, a common scale factor when magnitudes call for
-- one, "(i,.,.) =" slices for 3-d and more, and the "[torch.FloatTensor of size 2x3]" footer. Tensors of
-- more than `threshold` elements show the first and last `edgeitems` entries of each dim around "...".
local ffi = require 'ffi'
local core = require 'tensor.core'
local dtype = require 'tensor.dtype'

local Tensor, torch = core.Tensor, core.torch

local M = { threshold = 1000, edgeitems = 3, linewidth = 80 }

-- The indices of a dim that are shown (0 marks the "..." gap).
local function shown_indices(size, summarize)
  local list = {}
  if summarize and size > 2 * M.edgeitems then
    for i = 1, M.edgeitems do list[#list + 1] = i end
    list[#list + 1] = 0
    for i = size - M.edgeitems + 1, size do list[#list + 1] = i end
  else
    for i = 1, size do list[i] = i end
  end
  return list
end

-- Torch7's choice of format: integers as %d, otherwise %.4f with a common power-of-ten scale, or %.4e
-- when magnitudes differ by more than 10^4. Returns format, scale (or nil), width.
local function choose_format(values, integral_dtype)
  local int_mode, min_abs, max_abs = true, math.huge, 0
  for i = 1, #values do
    local v = values[i]
    if v == v and v ~= math.huge and v ~= -math.huge then
      if v ~= math.ceil(v) then int_mode = false end
      local a = math.abs(v)
      if a < min_abs then min_abs = a end
      if a > max_abs then max_abs = a end
    end
  end
  if integral_dtype then int_mode = true end
  if min_abs == math.huge then min_abs, max_abs = 0, 0 end
  local exp_min = min_abs ~= 0 and math.floor(math.log10(min_abs)) + 1 or 1
  local exp_max = max_abs ~= 0 and math.floor(math.log10(max_abs)) + 1 or 1
  if int_mode then
    if exp_max > 9 then return '%11.4e', nil, 11 end
    return '%' .. (exp_max + 1) .. 'd', nil, exp_max + 1, true
  end
  if exp_max - exp_min > 4 then
    local width = (math.abs(exp_max) > 99 or math.abs(exp_min) > 99) and 12 or 11
    return '%' .. width .. '.4e', nil, width
  end
  if exp_max > 5 or exp_max < 0 then
    return '%7.4f', 10 ^ (exp_max - 1), 7
  end
  local width = exp_max == 0 and 7 or exp_max + 6
  return '%' .. width .. '.4f', nil, width
end

local function format_value(fmt, scale, width, is_int, v)
  if v ~= v then return string.format('%' .. width .. 's', 'nan') end
  if v == math.huge then return string.format('%' .. width .. 's', 'inf') end
  if v == -math.huge then return string.format('%' .. width .. 's', '-inf') end
  if scale then v = v / scale end
  if is_int then
    if v == 0 then v = 0 end -- no "-0"
    return string.format(fmt, v)
  end
  return string.format(fmt, v)
end

local function footer(x, sizes)
  local c = x._c
  -- the element type's CPU class name, then the device: [torch.FloatTensor of size 2x3 on cuda:0]
  local name = 'torch.' .. dtype.class[tonumber(c.dtype)] .. 'Tensor'
  local where = c.storage.device_type == 1 and (' on cuda:' .. tonumber(c.storage.device_index)) or ''
  if #sizes == 0 then return '[' .. name .. ' with no dimension' .. where .. ']' end
  return '[' .. name .. ' of size ' .. table.concat(sizes, 'x') .. where .. ']'
end

-- Prints a matrix given by rows (lists of values, 0 = gap) into out.
local function print_matrix(out, get, rows, cols, fmt, scale, width, is_int, indent)
  local per_line = math.max(1, math.floor((M.linewidth - #indent) / (width + 1)))
  local first = 1
  while first <= #cols do
    local last = math.min(first + per_line - 1, #cols)
    if per_line < #cols then
      if first ~= 1 then out[#out + 1] = '\n' end
      out[#out + 1] = indent .. 'Columns ' .. first .. ' to ' .. last .. '\n'
    end
    if scale then out[#out + 1] = indent .. string.format('%g', scale) .. ' *\n' end
    for _, r in ipairs(rows) do
      local line = { indent }
      if scale then line[1] = indent .. ' ' end
      if r == 0 then
        line[#line + 1] = string.format('%' .. width .. 's', '...')
      else
        for k = first, last do
          local col = cols[k]
          line[#line + 1] = col == 0 and string.format('%' .. width .. 's', '...')
            or format_value(fmt, scale, width, is_int, get(r, col))
          if k ~= last then line[#line + 1] = ' ' end
        end
      end
      out[#out + 1] = table.concat(line) .. '\n'
    end
    first = last + 1
  end
end

function M.tostring(x)
  local c = x._c
  local sizes = x:shape()
  local ndim = #sizes
  if c.numel == 0 then
    return footer(x, sizes)
  end
  -- Read the values as float64 on the CPU (one copy; printing is not a hot path).
  local host = x:detach():to({ dtype = 'float64', device = 'cpu' }):contiguous()
  local hc = host._c
  local p = ffi.cast('double *', hc.storage.data) + tonumber(hc.offset)
  local is_bool, integral = c.dtype == dtype.BOOL, dtype.integral[tonumber(c.dtype)] or c.dtype == dtype.BOOL
  if ndim == 0 then
    local fmt, scale, width, is_int = choose_format({ p[0] }, integral)
    local s = format_value(fmt, scale, width, is_int, p[0])
    return s:gsub('^%s+', '') .. '\n' .. footer(x, sizes)
  end
  local summarize = tonumber(c.numel) > M.threshold
  local shown = {}
  for d = 1, ndim do shown[d] = shown_indices(sizes[d], summarize) end
  local strides = {}
  local s = 1
  for d = ndim, 1, -1 do strides[d] = s; s = s * sizes[d] end

  -- Gather the shown values to choose one format for the whole tensor.
  local values = {}
  local function gather(d, base)
    for _, i in ipairs(shown[d]) do
      if i ~= 0 then
        local pos = base + (i - 1) * strides[d]
        if d == ndim then values[#values + 1] = p[pos] else gather(d + 1, pos) end
      end
    end
  end
  gather(1, 0)
  local fmt, scale, width, is_int = choose_format(values, integral)
  if is_bool then fmt, scale, width, is_int = '%1d', nil, 1, true end

  local out = {}
  if ndim == 1 then
    if scale then out[#out + 1] = string.format('%g', scale) .. ' *\n' end
    for _, i in ipairs(shown[1]) do
      out[#out + 1] = (i == 0 and string.format('%' .. width .. 's', '...')
        or format_value(fmt, scale, width, is_int, p[(i - 1)])) .. '\n'
    end
  else
    -- Walk the leading dims; print each trailing matrix.
    local function walk(d, base, prefix)
      if d == ndim - 1 then
        if prefix then out[#out + 1] = (#out > 0 and '\n' or '') .. '(' .. prefix .. '.,.) = \n' end
        local rs, cs = strides[ndim - 1], strides[ndim]
        print_matrix(out, function(r, col) return p[base + (r - 1) * rs + (col - 1) * cs] end,
                     shown[ndim - 1], shown[ndim], fmt, scale, width, is_int, prefix and ' ' or '')
        return
      end
      for _, i in ipairs(shown[d]) do
        if i == 0 then
          out[#out + 1] = '\n...\n'
        else
          walk(d + 1, base + (i - 1) * strides[d], (prefix or '') .. i .. ',')
        end
      end
    end
    walk(1, 0, nil)
  end
  out[#out + 1] = footer(x, sizes)
  return table.concat(out)
end

core.mt.__tostring = M.tostring
function Tensor:__tostring__() return M.tostring(self) end

--- torch.set_printoptions(opts)
-- Changes how tensors print. opts: threshold (tensors of more elements are summarised, default 1000),
-- edgeitems (the entries shown at each end of a summarised dimension, default 3), linewidth (default 80).
-- Example: torch.set_printoptions{threshold=10000}
function torch.set_printoptions(opts)
  for k, v in pairs(opts or {}) do
    if M[k] == nil or type(v) ~= 'number' then error('set_printoptions: unknown or invalid option ' .. tostring(k), 2) end
    M[k] = v
  end
end

return M
