-- helpers.torchref: PyTorch (Debian's python3-torch under /usr/bin/python3) as the reference for specs.
--
--   local ref = require 'helpers.torchref'
--   local r = ref.run([[
--     x = torch.arange(6.).reshape(2, 3)
--     out = {'shape': list(x.t().shape), 'stride': list(x.t().stride()), 'y': x.t()}
--   ]], { x = some_tensor })         -- optional inputs, available to the snippet under their names
--   r.shape, r.stride               -- Lua tables; r.y is {dtype=, shape=, values=} (values flat, row-major)
--
-- The snippet must assign `out`. Tensors go both ways through raw files in a temporary directory, so
-- values are exact. Several snippets can be batched with ref.batch(list) to pay Python's start-up once.
local ffi = require 'ffi'

local M = { python = os.getenv('TENSOR_TEST_PYTHON') or '/usr/bin/python3' }

local prelude = [=[
import sys, math, json
import numpy as np
import torch
torch.set_num_threads(1)
_np = {'float32': np.float32, 'float64': np.float64, 'float16': np.float16, 'int64': np.int64,
       'int32': np.int32, 'int16': np.int16, 'int8': np.int8, 'uint8': np.uint8, 'bool': np.bool_}
def _load(path, dtype, shape):
    if dtype == 'bfloat16':
        raw = np.fromfile(path, dtype=np.int16)
        return torch.from_numpy(raw.copy()).view(torch.bfloat16).reshape(shape)
    return torch.from_numpy(np.fromfile(path, dtype=_np[dtype]).copy()).reshape(shape)
def _num(v):
    if isinstance(v, bool): return 'true' if v else 'false'
    if isinstance(v, int): return repr(v)
    v = float(v)
    if math.isnan(v): return '(0/0)'
    if math.isinf(v): return 'math.huge' if v > 0 else '-math.huge'
    return repr(v)
def _lua(v):
    if v is None: return 'nil'
    if isinstance(v, torch.Tensor):
        t = v.detach().cpu()
        name = str(t.dtype).replace('torch.', '')
        flat = t.reshape(-1)
        if t.dtype == torch.bool: vals = ['true' if b else 'false' for b in flat.tolist()]
        elif t.dtype in (torch.float16, torch.bfloat16): vals = [_num(x) for x in flat.float().tolist()]
        else: vals = [_num(x) for x in flat.tolist()]
        return '{dtype=%s,shape={%s},values={%s}}' % (json.dumps(name), ','.join(str(s) for s in t.shape), ','.join(vals))
    if isinstance(v, (bool, int, float)): return _num(v)
    if isinstance(v, str): return json.dumps(v)
    if isinstance(v, torch.Size): return '{' + ','.join(str(s) for s in v) + '}'
    if isinstance(v, (list, tuple)): return '{' + ','.join(_lua(x) for x in v) + '}'
    if isinstance(v, dict): return '{' + ','.join('[%s]=%s' % (_lua(k), _lua(x)) for k, x in v.items()) + '}'
    if isinstance(v, torch.dtype): return json.dumps(str(v).replace('torch.', ''))
    raise TypeError('cannot send %r to Lua' % type(v))
]=]

local tmpdir
local function temp_dir()
  if not tmpdir then
    local p = io.popen('mktemp -d /tmp/torchref.XXXXXX')
    tmpdir = p:read('*l')
    p:close()
  end
  return tmpdir
end
local counter = 0

-- Writes a tensor's values to a raw file; returns the Python expression that loads it.
function M.to_python(t)
  local host = t:detach():cpu():contiguous()
  counter = counter + 1
  local path = string.format('%s/in%d.bin', temp_dir(), counter)
  local f = assert(io.open(path, 'wb'))
  f:write(ffi.string(host:data_ptr(), host:numel() * host:element_size()))
  f:close()
  local shape = {}
  for i, s in ipairs(host:shape()) do shape[i] = tostring(s) end
  return string.format('_load(%q, %q, [%s])', path, host:dtype(), table.concat(shape, ','))
end

local function dedent(code)
  local indent = code:match('^\n?([ \t]*)%S')
  if indent and #indent > 0 then
    code = code:gsub('\n' .. indent, '\n'):gsub('^' .. indent, '')
  end
  return code
end

-- Builds one snippet's Python text, with `inputs` (a table of tensors/numbers) bound to their names.
local function snippet_text(code, inputs)
  local lines = {}
  for name, v in pairs(inputs or {}) do
    if type(v) == 'table' and v._c then
      lines[#lines + 1] = name .. ' = ' .. M.to_python(v)
    else
      lines[#lines + 1] = name .. ' = ' .. tostring(v)
    end
  end
  lines[#lines + 1] = dedent(code)
  return table.concat(lines, '\n')
end

-- Runs several snippets in one Python process; returns a list of their `out` values.
function M.batch(list)
  local parts = { prelude, '_results = []' }
  for i, item in ipairs(list) do
    local text = snippet_text(item.code or item[1], item.inputs or item[2])
    parts[#parts + 1] = string.format('def _snippet%d():\n%s\n    return out\n_results.append(_lua(_snippet%d()))',
                                      i, ('\n' .. text):gsub('\n', '\n    '), i)
  end
  parts[#parts + 1] = "sys.stdout.write('return {' + ','.join(_results) + '}')"
  counter = counter + 1
  local script = string.format('%s/script%d.py', temp_dir(), counter)
  local f = assert(io.open(script, 'w'))
  f:write(table.concat(parts, '\n'))
  f:close()
  local p = io.popen(M.python .. ' ' .. script .. ' 2>&1')
  local text = p:read('*a')
  local ok = p:close()
  -- The inputs and the script are read once; dropping the folder keeps /tmp from filling over a run.
  os.execute("rm -rf '" .. tmpdir .. "'")
  tmpdir = nil
  local chunk = text:match('^return {') and loadstring(text)
  if not ok or not chunk then
    error('torchref: the PyTorch reference failed:\n' .. text, 2)
  end
  return chunk()
end

function M.run(code, inputs)
  return M.batch({ { code = code, inputs = inputs } })[1]
end

-- Compares a tensor with a reference value {dtype=, shape=, values=}; returns ok, message.
function M.compare(t, expected, opts)
  opts = opts or {}
  local shape = t:shape()
  if #shape ~= #expected.shape then
    return false, string.format('shape %s, expected %s', table.concat(shape, 'x'), table.concat(expected.shape, 'x'))
  end
  for i = 1, #shape do
    if shape[i] ~= expected.shape[i] then
      return false, string.format('shape %s, expected %s', table.concat(shape, 'x'), table.concat(expected.shape, 'x'))
    end
  end
  if opts.dtype ~= false and t:dtype() ~= expected.dtype then
    return false, string.format('dtype %s, expected %s', t:dtype(), expected.dtype)
  end
  local atol, rtol = opts.atol or 0, opts.rtol or 0
  local flat = t:detach():cpu():contiguous():view(-1)
  local values = t:numel() > 0 and flat:tolist() or {}
  if t:dim() == 0 then values = { t:item() } end
  for i = 1, #expected.values do
    local a, b = values[i], expected.values[i]
    if type(a) == 'boolean' or type(b) == 'boolean' then
      if a ~= b then return false, string.format('element %d is %s, expected %s', i, tostring(a), tostring(b)) end
    elseif a ~= b then
      local both_nan = a ~= a and b ~= b
      if not both_nan and not (math.abs(a - b) <= atol + rtol * math.abs(b)) then
        return false, string.format('element %d is %.17g, expected %.17g (atol %g, rtol %g)', i, a, b, atol, rtol)
      end
    end
  end
  return true
end

-- Tolerances that suit a dtype's precision.
function M.tolerance(dtype)
  if dtype == 'float64' then return { atol = 1e-12, rtol = 1e-10 } end
  if dtype == 'float32' then return { atol = 1e-5, rtol = 1e-5 } end
  if dtype == 'float16' then return { atol = 1e-3, rtol = 1e-3 } end
  if dtype == 'bfloat16' then return { atol = 1e-2, rtol = 1e-2 } end
  return { atol = 0, rtol = 0 }
end

return M
