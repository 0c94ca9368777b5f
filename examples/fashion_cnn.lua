-- A small convolutional network on Fashion-MNIST: the project's main example.
--
--   th examples/fashion_cnn.lua [options]
--
--   --epochs=N       passes over the 60,000 training images (default 3: about 91% test accuracy)
--   --batch-size=N   images per step (default 64)
--   --lr=X           Adam's learning rate (default 0.002, halved after every epoch)
--   --out=PATH       a directory, or the weights file ending in .t7 (default ./fashion_cnn.t7); the loss
--                    curve is written beside it as <name>_loss.svg
--   --data=DIR       where the IDX files are (default /usr/share/datasets/fashion-mnist, Debian's
--                    dataset-fashion-mnist package)
--   --threads=N      CPU threads (default: the library's choice)
--   --seed=N         random seed (default 1)
--   --quick          a short run for smoke tests: one epoch over 4,000 images, tested on 1,000
--
-- Two convolution blocks (conv 3x3 - ReLU - batch norm - 2x2 max pool: 28x28 -> 14x14 -> 7x7) and two linear
-- layers, trained with Adam on shuffled mini-batches, with a progress bar per epoch. The trained weights are
-- saved with torch.save(path, model:state_dict()) (Torch7's .t7 format) and the loss curve is drawn as an SVG
-- image. Without the dataset it says how to install it and trains on the bundled 8x8 digits instead.
local ffi = require 'ffi'
local torch = require 'tensor'
local nn = require 'tensor.nn'
local optim = require 'tensor.optim'
local data = require 'tensor.data'

io.stdout:setvbuf('line') -- progress shows up line by line even when the output goes to a file or a pipe

-- ---------------------------------------------------------------- options

local usage = [==[
usage: th examples/fashion_cnn.lua [--epochs=N] [--batch-size=N] [--lr=X] [--out=DIR_OR_FILE.t7]
                                   [--data=DIR] [--threads=N] [--seed=N] [--quick]]==]

local opts = { epochs = 3, batch_size = 64, lr = 0.002, out = './fashion_cnn.t7',
               data = '/usr/share/datasets/fashion-mnist', threads = nil, seed = 1, quick = false }
local numeric = { epochs = true, batch_size = true, lr = true, threads = true, seed = true }
local explicit = {}
do
  local args = arg or {}
  local i = 1
  while i <= #args do
    local a = args[i]
    local key, value = a:match('^%-%-([%w-]+)=(.*)$')
    if not key then key = a:match('^%-%-([%w-]+)$') end
    if a == '-h' or a == '--help' then
      print(usage)
      os.exit(0)
    end
    if not key then
      io.stderr:write('fashion_cnn: unexpected argument ', a, '\n', usage, '\n')
      os.exit(2)
    end
    key = key:gsub('-', '_')
    if key == 'quick' then
      opts.quick = true
    elseif opts[key] ~= nil or key == 'threads' then
      if value == nil then
        i = i + 1
        value = args[i]
      end
      if value == nil then
        io.stderr:write('fashion_cnn: --', key, ' needs a value\n')
        os.exit(2)
      end
      if numeric[key] then
        local v = tonumber(value)
        if not v or v <= 0 or (key ~= 'lr' and v ~= math.floor(v)) then
          io.stderr:write('fashion_cnn: --', key, ' must be a positive ', key == 'lr' and 'number' or 'integer',
                          ', got ', value, '\n')
          os.exit(2)
        end
        value = v
      end
      opts[key] = value
      explicit[key] = true
    else
      io.stderr:write('fashion_cnn: unknown option --', key, '\n', usage, '\n')
      os.exit(2)
    end
    i = i + 1
  end
end
if opts.quick and not explicit.epochs then opts.epochs = 1 end
if opts.threads then torch.set_num_threads(opts.threads) end
torch.manual_seed(opts.seed)

-- The weights file and, beside it, the loss curve.
local weights_path = opts.out:match('%.t7$') and opts.out or (opts.out:gsub('/+$', '') .. '/fashion_cnn.t7')
local svg_path = weights_path:gsub('%.t7$', '_loss.svg')

-- wall-clock seconds (libc's clock_gettime under a name of our own)
ffi.cdef [[
typedef struct { long sec; long nsec; } fashion_cnn_timespec;
int fashion_cnn_clock_gettime(int clock, fashion_cnn_timespec *ts) __asm__("clock_gettime");
]]
local timespec = ffi.new('fashion_cnn_timespec')
local function now()
  ffi.C.fashion_cnn_clock_gettime(1, timespec) -- CLOCK_MONOTONIC
  return tonumber(timespec.sec) + tonumber(timespec.nsec) * 1e-9
end

-- ---------------------------------------------------------------- data

local dataset_name, side
local train, test
do
  local ok, a, b = pcall(data.mnist, opts.data, { normalize = true })
  if ok then
    dataset_name, side, train, test = 'Fashion-MNIST', 28, a, b
  else
    print(string.format([[
Fashion-MNIST was not found (%s).
Install it with `sudo apt-get install dataset-fashion-mnist` (Debian/Ubuntu), or point --data at a directory
holding train-images-idx3-ubyte(.gz) and the other three IDX files. Training on the bundled 8x8 digits instead.
]], tostring(a):gsub('^.-mnist: ', '')))
    dataset_name, side = 'digits (8x8, bundled)', 8
    train, test = data.digits({ flatten = false })
    local mean, std = train.x:mean(), train.x:std()
    train.x = (train.x - mean) / std
    test.x = (test.x - mean) / std
  end
end
if opts.quick then
  train = { x = train.x:narrow(1, 1, math.min(4000, train.x:size(1))), y = train.y:narrow(1, 1, math.min(4000, train.y:size(1))) }
  test = { x = test.x:narrow(1, 1, math.min(1000, test.x:size(1))), y = test.y:narrow(1, 1, math.min(1000, test.y:size(1))) }
end
local class_names = side == 28 and { 'T-shirt/top', 'Trouser', 'Pullover', 'Dress', 'Coat', 'Sandal', 'Shirt',
                                     'Sneaker', 'Bag', 'Ankle boot' }
                                or { '0', '1', '2', '3', '4', '5', '6', '7', '8', '9' }
print(string.format('%s: %d training and %d test images of %dx%d pixels, %d threads', dataset_name,
                    train.x:size(1), test.x:size(1), side, side, torch.get_num_threads()))

-- ---------------------------------------------------------------- the model

-- conv 3x3 (padding 1) - ReLU - batch norm - 2x2 max pool, twice, then two linear layers. On 28x28 images the
-- feature maps are 16 x 14 x 14 and 32 x 7 x 7; on the 8x8 digits 16 x 4 x 4 and 32 x 2 x 2.
local c1, c2, hidden = 16, 32, 128
local flat = c2 * (side / 4) ^ 2
local model = nn.Sequential(
  nn.Conv2d(1, c1, 3, { padding = 1 }), nn.ReLU(), nn.BatchNorm2d(c1), nn.MaxPool2d(2),
  nn.Conv2d(c1, c2, 3, { padding = 1 }), nn.ReLU(), nn.BatchNorm2d(c2), nn.MaxPool2d(2),
  nn.Flatten(),
  nn.Linear(flat, hidden), nn.ReLU(),
  nn.Linear(hidden, 10))
print(model)
local count = 0
for _, p in ipairs(model:parameters()) do count = count + p:numel() end
print(string.format('%d parameters', count))

local criterion = nn.CrossEntropyLoss()
local optimizer = optim.Adam(model:parameters(), { lr = opts.lr })
local scheduler = optim.lr_scheduler.StepLR(optimizer, { step_size = 1, gamma = 0.5 })
local loader = data.DataLoader(data.TensorDataset(train.x, train.y), { batch_size = opts.batch_size, shuffle = true })

-- Test loss and accuracy, in batches of 1000, in evaluation mode (batch norm uses its running statistics).
local function evaluate()
  model:eval()
  local loss_sum, correct, n = 0, 0, test.x:size(1)
  torch.no_grad(function()
    for start = 1, n, 1000 do
      local count = math.min(1000, n - start + 1)
      local x, y = test.x:narrow(1, start, count), test.y:narrow(1, start, count)
      local scores = model(x)
      loss_sum = loss_sum + criterion(scores, y):item() * count
      local _, predicted = scores:max(2)
      correct = correct + predicted:eq(y):sum()
    end
  end)
  model:train()
  return loss_sum / n, correct / n
end

-- ---------------------------------------------------------------- training

local curve = {}     -- {epoch (fractional), mean training loss over the last `every` steps}
local test_curve = {} -- {epoch, test loss}
local batches = #loader
local every = math.max(1, math.floor(batches / 40))
local start = now()
for epoch = 1, opts.epochs do
  print(string.format('epoch %d/%d (lr %g)', epoch, opts.epochs, optimizer.param_groups[1].lr))
  local t0, window, in_window, epoch_sum = now(), 0, 0, 0
  local step = 0
  for x, y in loader:iter() do
    optimizer:zero_grad()
    local loss = criterion(model(x), y)
    loss:backward()
    optimizer:step()
    local l = loss:item()
    step = step + 1
    epoch_sum, window, in_window = epoch_sum + l, window + l, in_window + 1
    if in_window == every or step == batches then
      curve[#curve + 1] = { epoch - 1 + step / batches, window / in_window }
      window, in_window = 0, 0
    end
    data.progress(step, batches, string.format('loss %.4f', epoch_sum / step))
  end
  local seconds = now() - t0
  local test_loss, acc = evaluate()
  test_curve[#test_curve + 1] = { epoch, test_loss }
  print(string.format('epoch %d: train loss %.4f, test loss %.4f, test accuracy %.2f%% | %.1f s, %.0f images/s',
                      epoch, epoch_sum / step, test_loss, 100 * acc, seconds, train.x:size(1) / seconds))
  scheduler:step()
end
local total = now() - start

-- Per-class accuracy on the test set.
do
  model:eval()
  local hits, seen = {}, {}
  for c = 1, 10 do hits[c], seen[c] = 0, 0 end
  torch.no_grad(function()
    for s = 1, test.x:size(1), 1000 do
      local count = math.min(1000, test.x:size(1) - s + 1)
      local _, predicted = model(test.x:narrow(1, s, count)):max(2)
      local p, y = predicted:tolist(), test.y:narrow(1, s, count):tolist()
      for i = 1, count do
        seen[y[i]] = seen[y[i]] + 1
        if p[i] == y[i] then hits[y[i]] = hits[y[i]] + 1 end
      end
    end
  end)
  model:train()
  local parts = {}
  for c = 1, 10 do
    parts[#parts + 1] = string.format('%s %.0f%%', class_names[c], seen[c] > 0 and 100 * hits[c] / seen[c] or 0)
  end
  print('per class: ' .. table.concat(parts, ', '))
end
local _, final_acc = evaluate()
print(string.format('test accuracy %.2f%% after %d epoch%s (%.1f s of training)', 100 * final_acc, opts.epochs,
                    opts.epochs == 1 and '' or 's', total))

-- ---------------------------------------------------------------- the weights

torch.save(weights_path, model:state_dict())
do -- read them back into a fresh model and check it computes the same scores
  local copy = model:clone()
  copy:load_state_dict(torch.load(weights_path))
  model:eval()
  copy:eval()
  local x = test.x:narrow(1, 1, math.min(256, test.x:size(1)))
  local diff = torch.no_grad(function() return (model(x) - copy(x)):abs():max() end)
  model:train()
  print(string.format('saved the weights to %s (reloaded: max difference %g)', weights_path, diff))
end

-- ---------------------------------------------------------------- the loss curve (SVG)

-- Round numbers for axis ticks between lo and hi (about n of them).
local function ticks(lo, hi, n)
  local span = hi - lo
  if span <= 0 then span = math.abs(hi) > 0 and math.abs(hi) or 1 end
  local raw = span / n
  local mag = 10 ^ math.floor(math.log10(raw))
  local step = mag
  for _, m in ipairs({ 1, 2, 2.5, 5, 10 }) do
    if m * mag >= raw then
      step = m * mag
      break
    end
  end
  local list = {}
  for k = math.ceil(lo / step - 1e-9), math.floor(hi / step + 1e-9) do
    list[#list + 1] = (k == 0 and 0 or k) * step -- (never -0)
  end
  return list, step
end

local function label(v, step)
  local decimals = math.max(0, -math.floor(math.log10(step) + 1e-9))
  return string.format('%.' .. decimals .. 'f', v)
end

local function xml(s) return (s:gsub('&', '&amp;'):gsub('<', '&lt;'):gsub('>', '&gt;')) end

-- Writes an SVG line chart of one or more series {name=, color=, points={{x, y}, ...}, markers=}.
local function write_svg(path, title, xlabel, ylabel, series)
  local W, H = 720, 440
  local left, right, top, bottom = 70, 20, 50, 60
  local xmin, xmax, ymin, ymax = math.huge, -math.huge, 0, -math.huge
  for _, s in ipairs(series) do
    for _, p in ipairs(s.points) do
      xmin, xmax = math.min(xmin, p[1]), math.max(xmax, p[1])
      ymin, ymax = math.min(ymin, p[2]), math.max(ymax, p[2])
    end
  end
  xmin = math.min(xmin, 0)
  if xmax <= xmin then xmax = xmin + 1 end
  local xt, xstep = ticks(xmin, xmax, 8)
  local yt, ystep = ticks(ymin, ymax * 1.05, 6)
  xmax = math.max(xmax, xt[#xt])
  ymax = math.max(ymax * 1.05, yt[#yt])
  local pw, ph = W - left - right, H - top - bottom
  local function px(x) return left + (x - xmin) / (xmax - xmin) * pw end
  local function py(y) return top + ph - (y - ymin) / (ymax - ymin) * ph end
  local out = {}
  local function add(fmt, ...) out[#out + 1] = string.format(fmt, ...) end
  add('<svg xmlns="http://www.w3.org/2000/svg" width="%d" height="%d" viewBox="0 0 %d %d" '
      .. 'font-family="sans-serif" font-size="12">', W, H, W, H)
  add('<rect width="%d" height="%d" fill="white"/>', W, H)
  add('<text x="%d" y="28" text-anchor="middle" font-size="16" font-weight="bold">%s</text>', W / 2, xml(title))
  for _, v in ipairs(yt) do -- horizontal grid lines and y labels
    add('<line x1="%.1f" y1="%.1f" x2="%.1f" y2="%.1f" stroke="#e0e0e0"/>', left, py(v), left + pw, py(v))
    add('<line x1="%.1f" y1="%.1f" x2="%.1f" y2="%.1f" stroke="black"/>', left - 5, py(v), left, py(v))
    add('<text x="%.1f" y="%.1f" text-anchor="end">%s</text>', left - 8, py(v) + 4, label(v, ystep))
  end
  for _, v in ipairs(xt) do -- x ticks and labels
    add('<line x1="%.1f" y1="%.1f" x2="%.1f" y2="%.1f" stroke="black"/>', px(v), top + ph, px(v), top + ph + 5)
    add('<text x="%.1f" y="%.1f" text-anchor="middle">%s</text>', px(v), top + ph + 20, label(v, xstep))
  end
  add('<line x1="%d" y1="%d" x2="%d" y2="%d" stroke="black"/>', left, top, left, top + ph)
  add('<line x1="%d" y1="%d" x2="%d" y2="%d" stroke="black"/>', left, top + ph, left + pw, top + ph)
  add('<text x="%.1f" y="%d" text-anchor="middle">%s</text>', left + pw / 2, H - 15, xml(xlabel))
  add('<text x="18" y="%.1f" text-anchor="middle" transform="rotate(-90 18 %.1f)">%s</text>', top + ph / 2,
      top + ph / 2, xml(ylabel))
  for k, s in ipairs(series) do
    local pts = {}
    for i, p in ipairs(s.points) do pts[i] = string.format('%.1f,%.1f', px(p[1]), py(p[2])) end
    add('<polyline fill="none" stroke="%s" stroke-width="2" points="%s"/>', s.color, table.concat(pts, ' '))
    if s.markers then
      for _, p in ipairs(s.points) do
        add('<circle cx="%.1f" cy="%.1f" r="4" fill="%s"/>', px(p[1]), py(p[2]), s.color)
      end
    end
    local ly = top + 10 + 18 * (k - 1) -- legend, top right
    add('<line x1="%.1f" y1="%d" x2="%.1f" y2="%d" stroke="%s" stroke-width="2"/>', left + pw - 200, ly,
        left + pw - 175, ly, s.color)
    add('<text x="%.1f" y="%d">%s</text>', left + pw - 168, ly + 4, xml(s.name))
  end
  add('</svg>')
  local f = assert(io.open(path, 'w'))
  f:write(table.concat(out, '\n'), '\n')
  f:close()
end

write_svg(svg_path, string.format('%s CNN: loss (test accuracy %.2f%%)', dataset_name:match('^%S+'), 100 * final_acc),
          'epoch', 'cross-entropy loss', {
            { name = 'training (running mean)', color = '#1f77b4', points = curve },
            { name = 'test (end of epoch)', color = '#ff7f0e', points = test_curve, markers = true },
          })
print('wrote the loss curve to ' .. svg_path)
