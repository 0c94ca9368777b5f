-- Exports the Fashion-MNIST network trained by examples/fashion_cnn.lua to ONNX, and checks the file in ONNX
-- Runtime: its outputs must match ours on the same images at batch sizes 1 and 7.
--
--   th examples/fashion_cnn.lua            # trains and writes ./fashion_cnn.t7 (--quick for a short run)
--   th examples/export_onnx.lua [options]
--
--   --weights=PATH   the state dict written by fashion_cnn.lua (default ./fashion_cnn.t7)
--   --out=PATH       the ONNX file to write (default: the weights' path with .onnx)
--   --opset=N        ONNX opset, 13 to 18 (default 17)
--
-- Nothing is trained here: the script rebuilds the network, loads the saved weights, and exports it with a dynamic
-- batch dimension (input 'image' [batch x 1 x 28 x 28], output 'logits' [batch x 10]). The check runs the file in
-- ONNX Runtime for Node.js (tools/onnxruntime: `cd tools/onnxruntime && ONNXRUNTIME_NODE_INSTALL=skip npm ci`)
-- and, when Debian's python3-onnx is there, onnx.checker. It exits non-zero if anything fails.
local torch = require 'tensor'
local nn = require 'tensor.nn'
local onnx = require 'tensor.onnx'
local runtime = require 'tensor.onnx.runtime'

local usage = 'usage: th examples/export_onnx.lua [--weights=PATH] [--out=PATH] [--opset=N]'
local opts = { weights = './fashion_cnn.t7', out = nil, opset = 17 }
for _, a in ipairs(arg or {}) do
  local key, value = a:match('^%-%-(%w+)=(.*)$')
  if a == '-h' or a == '--help' then
    print(usage)
    os.exit(0)
  elseif key == 'weights' or key == 'out' then
    opts[key] = value
  elseif key == 'opset' and tonumber(value) then
    opts.opset = tonumber(value)
  else
    io.stderr:write('export_onnx: unexpected argument ', a, '\n', usage, '\n')
    os.exit(2)
  end
end
opts.out = opts.out or (opts.weights:gsub('%.t7$', '') .. '.onnx')

local f = io.open(opts.weights, 'rb')
if not f then
  io.stderr:write(string.format([[
export_onnx: %s not found. Train the network first; examples/fashion_cnn.lua saves its weights there:
  th examples/fashion_cnn.lua              (about 91%% test accuracy in 3 epochs)
  th examples/fashion_cnn.lua --quick      (a short run, enough for this example)
or pass --weights=PATH.
]], opts.weights))
  os.exit(1)
end
f:close()

-- The network of examples/fashion_cnn.lua: conv 3x3 - ReLU - batch norm - 2x2 max pool twice, two linear layers.
-- Trained on 28x28 Fashion-MNIST images, or on the bundled 8x8 digits when the dataset was missing: the first
-- linear layer's width tells which.
local sd = torch.load(opts.weights)
if type(sd) ~= 'table' or not torch.is_tensor(sd['9.weight']) then
  io.stderr:write('export_onnx: ', opts.weights, ' is not a state dict written by examples/fashion_cnn.lua\n')
  os.exit(1)
end
local c1, c2, hidden = 16, 32, 128
local flat = sd['9.weight']:size(2)
local side = math.floor(4 * math.sqrt(flat / c2) + 0.5)
local model = nn.Sequential(
  nn.Conv2d(1, c1, 3, { padding = 1 }), nn.ReLU(), nn.BatchNorm2d(c1), nn.MaxPool2d(2),
  nn.Conv2d(c1, c2, 3, { padding = 1 }), nn.ReLU(), nn.BatchNorm2d(c2), nn.MaxPool2d(2),
  nn.Flatten(),
  nn.Linear(flat, hidden), nn.ReLU(),
  nn.Linear(hidden, 10))
model:load_state_dict(sd)
model:eval()
print(string.format('loaded %s (%dx%d images)', opts.weights, side, side))

local info = onnx.export(model, torch.randn(1, 1, side, side), opts.out,
                         { opset = opts.opset, input_names = { 'image' }, output_names = { 'logits' } })
local size = io.open(opts.out, 'rb'):seek('end')
print(string.format('wrote %s: opset %d (IR version %d), %d nodes, %d initializers, %.1f KiB', opts.out, info.opset,
                    info.ir_version, info.nodes, info.initializers, size / 1024))

local failed = false

-- onnx.checker, when Debian's python3-onnx is installed (its onnx 1.12 knows opsets up to 17)
local python = '/usr/bin/python3'
if os.execute(python .. ' -c "import onnx" > /dev/null 2>&1') == 0 then
  local cmd = string.format('%s -c "import onnx, sys; onnx.checker.check_model(onnx.load(sys.argv[1]), full_check=True)" ' ..
                            '%q 2>&1', python, opts.out)
  local p = io.popen(cmd)
  local out = p:read('*a')
  local ok = p:close()
  if ok == true or ok == 0 then
    print('onnx.checker (full check): ok')
  else
    print('onnx.checker: FAILED\n' .. out)
    failed = true
  end
end

-- ONNX Runtime against our own outputs
local available, why = runtime.available()
if not available then
  io.stderr:write('export_onnx: cannot run the ONNX Runtime check: ', why, '\n')
  os.exit(1)
end
torch.manual_seed(1)
for _, batch in ipairs({ 1, 7 }) do
  local images = torch.randn(batch, 1, side, side)
  local ours = torch.no_grad(function() return model(images) end)
  local theirs = runtime.run(opts.out, { images }, { input_names = { 'image' } })[1]
  local diff = (theirs - ours):abs():max()
  local agree = theirs:argmax(2):eq(ours:argmax(2)):all()
  print(string.format('ONNX Runtime, batch %d: logits [%s], max |difference| %.3g, same predicted classes: %s', batch,
                      table.concat(theirs:shape(), ' x '), diff, agree and 'yes' or 'no'))
  if not (diff <= 1e-4 and agree) then failed = true end
end
if failed then
  print('check FAILED')
  os.exit(1)
end
print('check passed')
