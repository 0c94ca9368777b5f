#!/usr/bin/env bash
# Where a CUDA training step of examples/fashion_cnn.lua's network spends its time, in tensor and in PyTorch:
# milliseconds per forward, forward + backward, and whole step (with Adam), at batches of 64, 256 and 1024.
# Times that barely grow with the batch are the host's (launches, Lua/Python); times that grow are the GPU's.
# Run on a GPU machine with TENSOR_LIBRARY set (tools/gpu-check.sh does): bash tools/cuda-step-profile.sh
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
python=${PYTHON:-python3}
luajit - <<'LUA'
package.path = './lua/?.lua;./lua/?/init.lua;' .. package.path
local torch, nn, optim = require 'tensor', require 'tensor.nn', require 'tensor.optim'
local ffi = require 'ffi'
ffi.cdef 'int clock_gettime(int, struct timespec *); struct timespec { long tv_sec; long tv_nsec; };'
local ts = ffi.new('struct timespec')
local function now() ffi.C.clock_gettime(1, ts); return tonumber(ts.tv_sec) + tonumber(ts.tv_nsec) * 1e-9 end
torch.manual_seed(0)
local model = nn.Sequential(
  nn.Conv2d(1, 16, 3, { padding = 1 }), nn.ReLU(), nn.BatchNorm2d(16), nn.MaxPool2d(2),
  nn.Conv2d(16, 32, 3, { padding = 1 }), nn.ReLU(), nn.BatchNorm2d(32), nn.MaxPool2d(2),
  nn.Flatten(), nn.Linear(32 * 7 * 7, 128), nn.ReLU(), nn.Linear(128, 10)):cuda()
local criterion = nn.CrossEntropyLoss()
local opt = optim.Adam(model:parameters(), { lr = 1e-3 })
local function timed(f)
  for _ = 1, 5 do f() end
  torch.cuda.synchronize()
  local t0, n = now(), 50
  for _ = 1, n do f() end
  torch.cuda.synchronize()
  return (now() - t0) / n * 1e3
end
for _, batch in ipairs({ 64, 256, 1024 }) do
  local x, y = torch.randn(batch, 1, 28, 28):cuda(), torch.randint(1, 11, { batch }):cuda()
  local fwd = timed(function() return criterion(model(x), y) end)
  local fb = timed(function() opt:zero_grad(); criterion(model(x), y):backward() end)
  local step = timed(function() opt:zero_grad(); criterion(model(x), y):backward(); opt:step() end)
  print(string.format('tensor   batch %4d: forward %.3f ms, +backward %.3f ms, +Adam %.3f ms', batch, fwd, fb, step))
end
LUA
"$python" - <<'PY'
import time, torch, torch.nn as nn
torch.backends.cudnn.allow_tf32 = False
torch.manual_seed(0)
model = nn.Sequential(
    nn.Conv2d(1, 16, 3, padding=1), nn.ReLU(), nn.BatchNorm2d(16), nn.MaxPool2d(2),
    nn.Conv2d(16, 32, 3, padding=1), nn.ReLU(), nn.BatchNorm2d(32), nn.MaxPool2d(2),
    nn.Flatten(), nn.Linear(32 * 7 * 7, 128), nn.ReLU(), nn.Linear(128, 10)).cuda()
criterion = nn.CrossEntropyLoss()
opt = torch.optim.Adam(model.parameters(), lr=1e-3)
def timed(f):
    for _ in range(5): f()
    torch.cuda.synchronize(); t0 = time.perf_counter()
    for _ in range(50): f()
    torch.cuda.synchronize(); return (time.perf_counter() - t0) / 50 * 1e3
def fb():
    opt.zero_grad(); criterion(model(x), y).backward()
def step():
    fb(); opt.step()
for batch in (64, 256, 1024):
    x, y = torch.randn(batch, 1, 28, 28).cuda(), torch.randint(0, 10, (batch,)).cuda()
    print(f"PyTorch  batch {batch:4d}: forward {timed(lambda: criterion(model(x), y)):.3f} ms, "
          f"+backward {timed(fb):.3f} ms, +Adam {timed(step):.3f} ms")
with torch.profiler.profile(activities=[torch.profiler.ProfilerActivity.CUDA]) as prof:
    for _ in range(5): step()
    torch.cuda.synchronize()
print(prof.key_averages().table(sort_by="cuda_time_total", row_limit=15))
PY
