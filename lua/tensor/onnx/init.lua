-- tensor.onnx: export of nn modules to ONNX files.
--
--   local onnx = require 'tensor.onnx'
--   onnx.export(model, torch.randn(1, 1, 28, 28), 'model.onnx', { input_names = { 'image' } })
--
-- How it works: the model runs one forward pass (in evaluation mode) under a tracer (tensor.onnx.trace) that
-- records the ops actually run on the inputs, the parameters and buffers, and everything computed from them; each
-- recorded op is then written as ONNX nodes (tensor.onnx.ops; recurrent layers as whole ONNX LSTM/GRU/RNN nodes,
-- tensor.onnx.modules), and the model is encoded as protobuf by the project's own writer (tensor.onnx.proto).
-- With a dynamic batch dimension the model is traced at two batch sizes, and every size that differs between the
-- two runs becomes a computation on the input's shape, so the file runs at any batch size.
--
-- Tracing records one path: a forward that branches on tensor values (if x:sum() > 0 then ... end) exports only
-- the branch taken; reading a traced value as a Lua number (item, tolist, sum() without a dim) prints a warning.
local core = require 'tensor.core'
local torch = require 'tensor'
local proto = require 'tensor.onnx.proto'
local graph = require 'tensor.onnx.graph'
local trace = require 'tensor.onnx.trace'
local ops = require 'tensor.onnx.ops'
local modules = require 'tensor.onnx.modules'

local is_tensor = core.is_tensor

local onnx = {}
onnx.protobuf, onnx.proto, onnx.ops = require 'tensor.onnx.protobuf', proto, ops
onnx.runtime = require 'tensor.onnx.runtime'

onnx.MIN_OPSET, onnx.MAX_OPSET, onnx.DEFAULT_OPSET = 13, 18, 17

local function fail(fmt, ...) error('onnx.export: ' .. string.format(fmt, ...), 0) end

local function shape_string(s) return '[' .. table.concat(s, ' x ') .. ']' end

-- The tensors of a forward's results (nested tables flattened depth-first), in order.
local function flatten_outputs(res)
  local list = {}
  local function walk(v, where)
    if is_tensor(v) then
      list[#list + 1] = v
    elseif type(v) == 'table' and rawget(v, '_modules') == nil then
      for k in pairs(v) do
        if type(k) ~= 'number' then
          fail('the model returned a table with a named field (%s.%s); return the outputs as a list', where, tostring(k))
        end
      end
      for i = 1, table.maxn(v) do
        if v[i] ~= nil then walk(v[i], where .. '[' .. i .. ']') end
      end
    elseif v ~= nil then
      fail('the model returned a %s as %s; only tensors (or tables of tensors) can be graph outputs', type(v), where)
    end
  end
  for i = 1, res.n do walk(res[i], 'result ' .. i) end
  return list
end

-- One traced forward pass of model on the input list.
local function run_trace(model, inputs, params)
  local names = {}
  for name, m in model:named_modules() do names[m] = name end
  local t = trace.new({ lookup = ops.lookup, module_exporters = modules.exporters, module_names = names })
  t.inputs = inputs
  for i, x in ipairs(inputs) do t.input_ids = t.input_ids or {}; t.input_ids[i] = t:bind(x, 'input') end
  for _, entry in ipairs(params) do
    if t.values[entry[2]] == nil then t:bind(entry[2], 'param') end
  end
  local res = trace.run(t, function()
    return trace.pack(torch.enable_grad(function() return model(unpack(inputs)) end))
  end)
  t.outputs = flatten_outputs(res)
  if #t.outputs == 0 then fail('the model returned no tensor') end
  return t
end

-- ---------------------------------------------------------------- comparing the two traces

local function is_uniform(t)
  if t:numel() == 0 then return true, 0 end
  local flat = t:detach():reshape(-1)
  local first = flat[1]
  if t:dtype() == 'bool' then
    local n = flat:long():sum()
    if n == 0 or n == t:numel() then return true, first and 1 or 0 end
    return false
  end
  if flat:eq(first):all() then return true, first end
  return false
end

-- Compares the traces at batch sizes na and nb: returns the symbolic value shapes (by value id) and the
-- constants whose shape depends on the batch size; replaces batch-dependent numbers in ta's events by Syms.
local function compare(ta, tb, na, nb)
  local function sym(v1, v2, what)
    local a = (v2 - v1) / (nb - na)
    local c = v1 - a * na
    if a ~= math.floor(a) or c ~= math.floor(c) then
      fail('%s depends on the batch size in a way ONNX export cannot express (%s at batch %d, %s at batch %d); ' ..
           'export with dynamic_batch=false', what, tostring(v1), na, tostring(v2), nb)
    end
    return graph.sym(a, c, v1)
  end
  local dyn_consts = {}
  local function mismatch(ev, what)
    fail('%s (called in %s) runs differently at batch sizes %d and %d (%s): the forward depends on the batch size in ' ..
         'a way one graph cannot express; export with dynamic_batch=false', ev.key, ev.path == '' and 'the model' or ev.path,
         na, nb, what)
  end
  local function diff(ev, evb, x, y, depth)
    if type(x) == 'number' then
      if type(y) ~= 'number' then mismatch(ev, 'argument types differ') end
      if x == y then return x end
      return sym(x, y, ev.key .. "'s argument")
    elseif is_tensor(x) then
      if not is_tensor(y) then mismatch(ev, 'argument types differ') end
      local ia, ib = ev.in_ids[x], evb.in_ids[y]
      if ia ~= nil or ib ~= nil then
        if ia ~= ib then mismatch(ev, 'different values are used') end
        return x
      end
      local sa, sb = x:shape(), y:shape()
      if #sa ~= #sb then mismatch(ev, 'a constant has different ranks') end
      local differs = false
      for i = 1, #sa do if sa[i] ~= sb[i] then differs = true end end
      if differs then
        local ua, va = is_uniform(x)
        local ub, vb = is_uniform(y)
        if not (ua and ub and va == vb) then
          fail('%s (called in %s) uses a tensor made inside forward whose shape depends on the batch size and whose ' ..
               'elements are not all equal; ONNX export can express only constant-filled ones (torch.zeros, ones, ' ..
               'full); compute it from the input instead, or export with dynamic_batch=false', ev.key,
               ev.path == '' and 'the model' or ev.path)
        end
        local shape = {}
        for i = 1, #sa do shape[i] = sa[i] == sb[i] and sa[i] or sym(sa[i], sb[i], 'a size') end
        dyn_consts[x] = { shape = shape, value = va }
      end
      return x
    elseif type(x) == 'table' and rawget(x, '_modules') == nil and depth < 4 then
      if type(y) ~= 'table' then mismatch(ev, 'argument types differ') end
      local out = {}
      for k, v in pairs(x) do out[k] = diff(ev, evb, v, y[k], depth + 1) end
      for k in pairs(y) do if x[k] == nil then mismatch(ev, 'arguments differ') end end
      return setmetatable(out, getmetatable(x))
    end
    return x
  end
  local ea, eb = ta.events, tb.events
  if #ea ~= #eb then
    fail('the forward runs %d ops at batch size %d but %d at batch size %d: it depends on the batch size in a way one ' ..
         'graph cannot express; export with dynamic_batch=false', #ea, na, #eb, nb)
  end
  for i, ev in ipairs(ea) do
    local evb = eb[i]
    if ev.key ~= evb.key then
      fail('the forward runs %s at batch size %d where it runs %s at batch size %d; export with dynamic_batch=false',
           ev.key, na, evb.key, nb)
    end
    local args = { n = ev.args.n }
    for k = 1, ev.args.n do args[k] = diff(ev, evb, ev.args[k], evb.args[k], 0) end
    ev.args = args
  end
  local shapes = {}
  for id = 1, ta.n_values do
    local sa, sb = ta.tensors[id]:shape(), tb.tensors[id] and tb.tensors[id]:shape()
    if not sb or #sa ~= #sb then
      fail('value %d has shapes %s and %s at batch sizes %d and %d: the forward depends on the batch size in a way ' ..
           'one graph cannot express; export with dynamic_batch=false', id, shape_string(sa), sb and shape_string(sb) or '?',
           na, nb)
    end
    local s = {}
    for k = 1, #sa do s[k] = sa[k] == sb[k] and sa[k] or sym(sa[k], sb[k], 'a size') end
    shapes[id] = s
  end
  if #ta.outputs ~= #tb.outputs then fail('the number of outputs depends on the batch size') end
  -- outputs that are constants made inside forward
  for i, t in ipairs(ta.outputs) do
    if ta.values[t] == nil then
      diff({ key = 'output ' .. i, path = '', in_ids = {} }, { in_ids = {} }, t, tb.outputs[i], 0)
    end
  end
  return shapes, dyn_consts
end

-- ---------------------------------------------------------------- writing the graph

local function value_info(name, dtype, shape)
  local dims = {}
  for i, d in ipairs(shape) do dims[i] = graph.dim_param(d) end
  local elem = proto.DTYPE[dtype]
  if not elem then fail('tensors of dtype %s cannot be ONNX values', dtype) end
  return { name = name, elem_type = elem, shape = dims }
end

local function lower(ta, opts, shapes, dyn_consts, params)
  local pnames = {}
  for _, entry in ipairs(params) do if pnames[entry[2]] == nil then pnames[entry[2]] = entry[1] end end
  local g = graph.new({ opset = opts.opset, params = pnames, dyn_consts = dyn_consts, shapes = shapes,
                        batch_input = opts.dynamic_batch and opts.input_names[1] or nil, batch_axis = opts.batch_dim - 1 })
  g.warnings = ta.warnings
  function g:warn(ev, msg)
    msg = msg .. ' in ' .. ev.where
    for _, w in ipairs(self.warnings) do if w == msg then return end end
    self.warnings[#self.warnings + 1] = msg
  end
  for i, x in ipairs(ta.inputs) do
    local name = opts.input_names[i]
    g.used[name] = true
    g.env[x], g.ids[x] = name, ta.input_ids[i]
    local shape = shapes[ta.input_ids[i]]
    g.inputs[i] = value_info(name, x:dtype(), shape)
  end
  for _, name in ipairs(opts.output_names) do g.used[name] = true end
  local infos, produced = {}, {}
  for _, ev in ipairs(ta.events) do
    ev.where = ev.path == '' and 'the model' or ev.path
    g.path = ev.path
    -- the results' value ids first (exporters read the results' symbolic shapes)
    for i, t in ipairs(ev.outs) do g.ids[t] = ev.ids[i] end
    for t, id in pairs(ev.in_ids) do g.ids[t] = id end
    local names = ev.exporter(g, ev)
    for i, t in ipairs(ev.outs) do
      local name = names[i]
      if name == nil then fail('internal error: %s gave no ONNX value for its result %d', ev.key, i) end
      g.env[t], g.ids[t] = name, ev.ids[i]
      if not produced[name] then
        produced[name] = true
        infos[#infos + 1] = { name = name, dtype = t:dtype(), shape = shapes[ev.ids[i]] }
      end
    end
  end
  -- graph outputs: an Identity from each output's value to its name
  g.path = ''
  local is_output = {}
  for i, t in ipairs(ta.outputs) do
    local id = ta.values[t]
    local src = g:val(t)
    local name = opts.output_names[i]
    g.nodes[#g.nodes + 1] = { name = g:fresh('/output_' .. (i - 1)), op_type = 'Identity', inputs = { src },
                              outputs = { name }, attributes = {} }
    g.outputs[i] = value_info(name, t:dtype(), id and shapes[id] or g:shape_of(t))
    is_output[name] = true
  end
  -- value infos for the intermediate values (not for names that are graph inputs, outputs or initializers)
  local declared = {}
  for _, v in ipairs(g.inputs) do declared[v.name] = true end
  for _, t in ipairs(g.initializers) do declared[t.name] = true end
  for _, info in ipairs(infos) do
    if not is_output[info.name] and not declared[info.name] and info.shape then
      g.value_infos[#g.value_infos + 1] = value_info(info.name, info.dtype, info.shape)
    end
  end
  return g
end

-- Writes bytes to path through a temporary file in the same folder, renamed into place when complete.
local function write_atomically(path, bytes)
  local tmp = string.format('%s.tmp-%d-%d', path, os.time(), math.random(1, 1e9))
  local f, err = io.open(tmp, 'wb')
  if not f then fail('cannot write %s: %s', path, err) end
  local ok, werr = f:write(bytes)
  local closed, cerr = f:close()
  if not ok or not closed then
    os.remove(tmp)
    fail('cannot write %s: %s', path, tostring(werr or cerr))
  end
  local renamed, rerr = os.rename(tmp, path)
  if not renamed then
    os.remove(tmp)
    fail('cannot write %s: %s', path, tostring(rerr))
  end
end

-- ---------------------------------------------------------------- the entry point

local function check_names(what, names, n)
  if names == nil then return nil end
  if type(names) == 'string' then names = { names } end
  if type(names) ~= 'table' then fail('%s must be a list of strings, got %s', what, type(names)) end
  local seen = {}
  for i = 1, n do
    local v = names[i]
    if type(v) ~= 'string' or v == '' then
      fail('%s must hold %d non-empty strings (one per %s), got %s at position %d', what, n,
           what == 'input_names' and 'input' or 'output', tostring(v), i)
    end
    if seen[v] then fail('%s: the name %s is used twice', what, v) end
    seen[v] = true
  end
  if #names ~= n then
    fail('%s has %d names but the model has %d %s', what, #names, n, what == 'input_names' and 'inputs' or 'outputs')
  end
  return names
end

local function default_names(base, n)
  if n == 1 then return { base } end
  local list = {}
  for i = 1, n do list[i] = base .. i end
  return list
end

-- Repeats the examples along the batch dim to batch size n.
local function rebatch(inputs, dims, n)
  local b = inputs[1]:size(dims[1])
  if n == b then return inputs end
  local idx = {}
  for i = 1, n do idx[i] = (i - 1) % b + 1 end
  local index = torch.tensor(idx, { dtype = 'int64' })
  local list = {}
  for i, x in ipairs(inputs) do list[i] = x:index_select(dims[i], index) end
  return list
end

--- onnx.export(model, example_input, path, {opset=17, input_names=, output_names=, dynamic_batch=true, batch_dim=1, quiet=false}) -> info
-- Traces one forward pass of model (an nn.Module) on example_input (a tensor, or a list of tensors passed as
-- separate arguments) and writes an ONNX model to path. The model runs in evaluation mode during the export
-- (dropout off, batch norm on its running statistics); its modes are restored afterwards.
-- Parameters and buffers become initializers under their state-dict names (`features.0.weight`); inputs and
-- outputs are named by input_names / output_names (default 'input' / 'output', or 'input1', 'input2', ...).
-- opset: 13 to 18 (default 17; the IR version follows: 7 for 13-14, 8 for 15-18).
-- dynamic_batch (default true): dim batch_dim of every input (1-based, default 1; or a list, one per input) and the
-- output dims that follow it are the symbolic 'batch', so the file runs at any batch size (the model is traced at
-- two batch sizes to find which sizes follow the batch). Set it to false for a file with fixed shapes, e.g. for a forward that depends on the
-- batch size in ways one graph cannot express.
-- Tracing records one path: a forward that branches on tensor values exports the branch taken, and reading a
-- traced value as a Lua number (item, tolist, sum() without a dim) prints a warning (quiet=true keeps them in
-- info.warnings only). An op with no ONNX equivalent raises an error naming the op and the module path. The file
-- is written to a temporary name and renamed into place, so a failed export leaves nothing at path.
-- Returns info: {path=, opset=, ir_version=, input_names=, output_names=, nodes=, initializers=, warnings=}.
-- Example: onnx.export(net, torch.randn(1, 784), 'mlp.onnx', {input_names={'pixels'}, output_names={'logits'}})
function onnx.export(model, example_input, path, opts)
  local nn = require 'tensor.nn'
  if not nn.is_module(model) then fail('expected an nn.Module as the model, got %s', type(model)) end
  local inputs
  if is_tensor(example_input) then
    inputs = { example_input }
  elseif type(example_input) == 'table' and rawget(example_input, '_modules') == nil then
    inputs = {}
    local n = table.maxn(example_input)
    if n == 0 then fail('example_input is an empty list; give a tensor or a list of tensors') end
    for i = 1, n do
      if not is_tensor(example_input[i]) then
        fail('example_input must be a tensor or a list of tensors; element %d is a %s', i, type(example_input[i]))
      end
      inputs[i] = example_input[i]
    end
  else
    fail('example_input must be a tensor or a list of tensors, got %s', type(example_input))
  end
  if type(path) ~= 'string' or path == '' then fail('expected a file path (a string), got %s', type(path)) end
  if opts ~= nil and type(opts) ~= 'table' then fail('expected an options table, got %s', type(opts)) end
  opts = opts or {}
  local opset = opts.opset or onnx.DEFAULT_OPSET
  if type(opset) ~= 'number' or opset ~= math.floor(opset) or opset < onnx.MIN_OPSET or opset > onnx.MAX_OPSET then
    fail('opset must be an integer from %d to %d, got %s', onnx.MIN_OPSET, onnx.MAX_OPSET, tostring(opset))
  end
  local dynamic = opts.dynamic_batch ~= false
  -- the batch dim of each input (a number for all, or a list)
  local batch_dims = {}
  for i = 1, #inputs do
    local d = opts.batch_dim or 1
    if type(d) == 'table' then d = d[i] end
    if type(d) ~= 'number' or d ~= math.floor(d) or d < 1 then
      fail('batch_dim must be a positive integer or a list of them (one per input), got %s for input %d', tostring(d), i)
    end
    batch_dims[i] = d
  end
  for i, x in ipairs(inputs) do
    if x:device() ~= 'cpu' then inputs[i] = x:cpu() end
    if dynamic then
      local d = batch_dims[i]
      if x:dim() < d then
        fail('input %d has size %s and no batch dim %d; export with dynamic_batch=false (or set batch_dim)', i,
             shape_string(x:shape()), d)
      end
      if x:size(d) ~= inputs[1]:size(batch_dims[1]) then
        fail('the inputs disagree on the batch size: input 1 has %d in dim %d (%s), input %d has %d in dim %d (%s); ' ..
             'set batch_dim per input or export with dynamic_batch=false', inputs[1]:size(batch_dims[1]), batch_dims[1],
             shape_string(inputs[1]:shape()), i, x:size(d), d, shape_string(x:shape()))
      end
      if x:size(d) == 0 then fail('the example batch is empty') end
    end
  end
  local input_names = check_names('input_names', opts.input_names, #inputs) or default_names('input', #inputs)
  local params = {}
  for name, p in model:named_parameters() do params[#params + 1] = { name, p } end
  for name, b in model:named_buffers() do params[#params + 1] = { name, b } end
  for _, entry in ipairs(params) do
    if entry[2]:device() ~= 'cpu' then fail('export a model on the CPU (%s is on %s); call model:cpu() first', entry[1],
                                            entry[2]:device()) end
  end

  -- evaluation mode during the export; every module's own mode restored afterwards
  local modes = {}
  for _, m in model:named_modules() do modes[m] = m.training end
  model:eval()
  local ok, result = pcall(function()
    local ta, shapes, dyn_consts
    if dynamic then
      local b = inputs[1]:size(batch_dims[1])
      local na = math.max(b, 2)
      local nb = na + 1
      ta = run_trace(model, rebatch(inputs, batch_dims, na), params)
      local tb = run_trace(model, rebatch(inputs, batch_dims, nb), params)
      shapes, dyn_consts = compare(ta, tb, na, nb)
    else
      ta = run_trace(model, inputs, params)
      shapes, dyn_consts = {}, {}
      for id = 1, ta.n_values do shapes[id] = ta.tensors[id]:shape() end
    end
    local output_names = check_names('output_names', opts.output_names, #ta.outputs) or default_names('output', #ta.outputs)
    local g = lower(ta, { opset = opset, input_names = input_names, output_names = output_names,
                          dynamic_batch = dynamic, batch_dim = batch_dims[1] }, shapes, dyn_consts, params)
    local ir = proto.IR_VERSION[opset]
    local bytes = proto.model({
      ir_version = ir,
      opsets = { { domain = '', version = opset } },
      producer_name = 'tensor',
      producer_version = tostring(torch.version or '0'),
      graph = { name = model:typename(), nodes = g.nodes, initializers = g.initializers, inputs = g.inputs,
                outputs = g.outputs, value_infos = g.value_infos },
    })
    write_atomically(path, bytes)
    return { path = path, opset = opset, ir_version = ir, input_names = input_names, output_names = output_names,
             nodes = #g.nodes, initializers = #g.initializers, warnings = ta.warnings }
  end)
  for m, training in pairs(modes) do rawset(m, 'training', training) end
  if not ok then error(result, 0) end
  if not opts.quiet then
    for _, w in ipairs(result.warnings) do io.stderr:write('onnx.export: warning: ', w, '\n') end
  end
  return result
end

return onnx
