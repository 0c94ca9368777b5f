-- tensor.onnx.runtime: runs an exported model in ONNX Runtime (the npm package onnxruntime-node, driven by
-- node through tools/onnxruntime/run.js of the checkout), to check exported files against our own outputs.
--
--   local runtime = require 'tensor.onnx.runtime'
--   local outs = runtime.run('model.onnx', { x })          -- a list of tensors, in the model's output order
--
-- Setup (once, in the checkout): cd tools/onnxruntime && ONNXRUNTIME_NODE_INSTALL=skip npm ci
-- The runner folder is found through $TENSOR_ONNXRUNTIME_DIR, else tools/onnxruntime next to this package's
-- lua/ folder; node is $TENSOR_NODE or `node` on the PATH.
local ffi = require 'ffi'
local torch = require 'tensor'

local M = {}

local function fail(fmt, ...) error('onnx.runtime: ' .. string.format(fmt, ...), 0) end

local function exists(path)
  local f = io.open(path, 'rb')
  if f then f:close() return true end
  return false
end

local function shell_quote(s) return "'" .. tostring(s):gsub("'", "'\\''") .. "'" end

--- onnx.runtime.dir() -> string or nil
-- The folder holding run.js and node_modules/onnxruntime-node, or nil when it is not installed.
function M.dir()
  local candidates = {}
  local env = os.getenv('TENSOR_ONNXRUNTIME_DIR')
  if env and env ~= '' then candidates[#candidates + 1] = env end
  local src = debug.getinfo(1, 'S').source
  local here = src:sub(1, 1) == '@' and src:sub(2):match('^(.*)/[^/]*$') or nil
  if here then candidates[#candidates + 1] = here .. '/../../../tools/onnxruntime' end
  candidates[#candidates + 1] = 'tools/onnxruntime'
  for _, d in ipairs(candidates) do
    if exists(d .. '/run.js') and exists(d .. '/node_modules/onnxruntime-node/package.json') then return d end
  end
  return nil
end

--- onnx.runtime.available() -> boolean, reason
-- Whether node and the onnxruntime-node package are installed.
function M.available()
  if not M.dir() then
    return false, 'onnxruntime-node is not installed (cd tools/onnxruntime && ONNXRUNTIME_NODE_INSTALL=skip npm ci)'
  end
  local node = os.getenv('TENSOR_NODE') or 'node'
  local ok = os.execute(shell_quote(node) .. ' --version > /dev/null 2>&1')
  if ok ~= 0 and ok ~= true then return false, 'node is not installed' end
  return true
end

local function write_raw(path, t)
  local host = t:detach():cpu():contiguous()
  local f = assert(io.open(path, 'wb'))
  if host:numel() > 0 then f:write(ffi.string(host:data_ptr(), host:numel() * host:element_size())) end
  f:close()
end

local function read_raw(path, dtype, dims)
  local f = assert(io.open(path, 'rb'))
  local bytes = f:read('*a')
  f:close()
  local t = torch.empty(dims, { dtype = dtype })
  if #bytes ~= t:numel() * t:element_size() then
    fail('%s holds %d bytes, expected %d for %s [%s]', path, #bytes, t:numel() * t:element_size(), dtype,
         table.concat(dims, ' x '))
  end
  if #bytes > 0 then ffi.copy(t:data_ptr(), bytes, #bytes) end
  return t
end

--- onnx.runtime.run(model_path, inputs, {input_names=}) -> list of tensors
-- Runs the model at model_path in ONNX Runtime (CPU) on the input tensors (a tensor or a list, named by
-- input_names, default 'input' / 'input1', 'input2', ...) and returns its outputs as tensors. Raises an error with
-- ONNX Runtime's message when the model does not load or run.
function M.run(model_path, inputs, opts)
  opts = opts or {}
  if torch.is_tensor(inputs) then inputs = { inputs } end
  local dir = M.dir()
  if not dir then fail('%s', select(2, M.available())) end
  local names = opts.input_names
  if not names then
    names = {}
    for i = 1, #inputs do names[i] = #inputs == 1 and 'input' or ('input' .. i) end
  end
  local p = io.popen('mktemp -d /tmp/tensor-ort.XXXXXX')
  local tmp = p:read('*l')
  p:close()
  local lines = {}
  for i, x in ipairs(inputs) do
    local file = 'input' .. i .. '.bin'
    write_raw(tmp .. '/' .. file, x)
    lines[i] = table.concat({ names[i], x:dtype(), table.concat(x:shape(), ','), file }, '\t')
  end
  local f = assert(io.open(tmp .. '/inputs.txt', 'w'))
  f:write(table.concat(lines, '\n'), '\n')
  f:close()
  local node = os.getenv('TENSOR_NODE') or 'node'
  local cmd = string.format('%s %s %s %s 2>&1', shell_quote(node), shell_quote(dir .. '/run.js'),
                            shell_quote(model_path), shell_quote(tmp))
  local pipe = io.popen(cmd)
  local log = pipe:read('*a')
  local ok = pipe:close()
  local outputs
  if exists(tmp .. '/outputs.txt') then
    outputs = {}
    for line in io.lines(tmp .. '/outputs.txt') do
      if line ~= '' then
        local _, dtype, dims, file = line:match('^([^\t]*)\t([^\t]*)\t([^\t]*)\t([^\t]*)$')
        local shape = {}
        for d in dims:gmatch('[^,]+') do shape[#shape + 1] = tonumber(d) end
        outputs[#outputs + 1] = read_raw(tmp .. '/' .. file, dtype, shape)
      end
    end
  end
  os.execute('rm -rf ' .. shell_quote(tmp))
  if not outputs or (ok ~= true and ok ~= 0) then fail('ONNX Runtime failed on %s: %s', model_path, log) end
  return outputs
end

return M
