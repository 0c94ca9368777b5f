-- All-reduce bandwidth: dist.all_reduce (tensor.distributed on Open MPI) beside Open MPI's own MPI_Allreduce
-- called from C, on float32 buffers of 1 MB to 256 MB, with 2 processes on this machine.
--
--   luajit bench/allreduce.lua [--np=2] [--sizes=1,2,4,...,256] [--rounds=3] [--trials=3] [--markdown]
--                              [--mpirun-args='--mca btl self,vader']
--
-- It compiles bench/allreduce.c with mpicc into a temporary folder, then runs the C program and this file's
-- worker (luajit bench/allreduce.lua --worker ...) under the same mpirun, alternating them --rounds times.
-- Both do the same thing per size: check one sum, warm up, then time --trials runs of back-to-back in-place
-- float32 sums (the slowest rank's time per call); the table shows each side's best. Columns: the time per
-- call, the algorithm bandwidth (buffer bytes / time), the ratio MPI time / tensor time (1: no overhead;
-- below 0.9 is listed under the table), and FFI/tensor: the same ratio for MPI_Allreduce called through the
-- FFI in the tensor worker itself, on the same tensor, in alternate trials (the binding's cost alone, without
-- the noise of a busy machine between separate runs). See bench/README.md.
local function shell_quote(s) return "'" .. tostring(s):gsub("'", "'\\''") .. "'" end

local rel = arg[0]:match('^(.*)bench/allreduce%.lua$') or './'
local root = rel == '' and './' or rel
package.path = root .. 'lua/?.lua;' .. root .. 'lua/?/init.lua;' .. package.path

-- ---------------------------------------------------------------- the worker (one rank, under mpirun)

-- luajit bench/allreduce.lua --worker TRIALS BYTES ITERATIONS [BYTES ITERATIONS ...]: bench/allreduce.c's
-- protocol through dist.all_reduce; each trial is followed by one of the same calls made straight to
-- MPI_Allreduce through the FFI on the same tensor (same process, same memory, same moment: the binding's own
-- cost, free of the noise between separate runs). Rank 0 prints "BYTES dist_seconds ffi_seconds" per size.
if arg[1] == '--worker' then
  local ffi = require 'ffi'
  local torch = require 'tensor'
  local dist = require 'tensor.distributed'
  ffi.cdef [[
  typedef struct { long sec; long nsec; } bench_allreduce_timespec;
  int bench_allreduce_clock_gettime(int clock, bench_allreduce_timespec *ts) __asm__("clock_gettime");
  ]]
  local ts = ffi.new('bench_allreduce_timespec')
  local function now()
    ffi.C.bench_allreduce_clock_gettime(1, ts) -- CLOCK_MONOTONIC
    return tonumber(ts.sec) + tonumber(ts.nsec) * 1e-9
  end

  dist.init() -- the defaults users get (the watchdog included)
  local mpi = require 'tensor.distributed.mpi'
  local lib, world = mpi.lib, ffi.cast('MPI_Comm', mpi.lib.ompi_mpi_comm_world)
  local FLOAT, SUM = mpi.dtypes[0], mpi.ops.sum
  local size = dist.world_size()
  local trials = tonumber(arg[2])
  local slowest = torch.zeros(1, { dtype = 'float64' })
  -- The slowest rank's seconds per call of `iterations` calls of fn.
  local function timed(iterations, fn, buf, ptr, n)
    dist.barrier()
    local t0 = now()
    for _ = 1, iterations do fn(buf, ptr, n) end
    slowest[1] = now() - t0
    dist.all_reduce(slowest, 'max')
    return slowest[1] / iterations
  end
  local function through_dist(buf) dist.all_reduce(buf) end
  local function through_ffi(_, ptr, n) lib.MPI_Allreduce(mpi.IN_PLACE, ptr, n, FLOAT, SUM, world) end
  for a = 3, #arg - 1, 2 do
    local bytes, iterations = tonumber(arg[a]), tonumber(arg[a + 1])
    local buf = torch.ones(bytes / 4) -- float32
    local ptr, n = buf:data_ptr(), buf:numel()
    dist.all_reduce(buf)
    if buf[1] ~= size or buf[n] ~= size then
      error(string.format('allreduce: wrong sum %g, expected %d', buf[1], size))
    end
    buf:zero_()
    for _ = 1, 2 do dist.all_reduce(buf) end
    local best_dist, best_ffi = math.huge, math.huge
    for _ = 1, trials do
      best_dist = math.min(best_dist, timed(iterations, through_dist, buf, ptr, n))
      best_ffi = math.min(best_ffi, timed(iterations, through_ffi, buf, ptr, n))
    end
    if dist.rank() == 0 then print(string.format('%d %.9g %.9g', bytes, best_dist, best_ffi)) end
    io.stdout:flush()
    buf = nil
    collectgarbage()
  end
  dist.finalize()
  return
end

-- ---------------------------------------------------------------- the driver

local usage = [[
usage: luajit bench/allreduce.lua [options]
  --np=N              processes (default 2)
  --sizes=L           comma-separated buffer sizes in MB (default 1,2,4,8,16,32,64,128,256)
  --rounds=R          times both sides run, alternating (default 3)
  --trials=K          timed trials per size and run (default 3); the best of all is reported
  --markdown          print the table as Markdown
  --mpirun-args=S     extra mpirun arguments for both sides (e.g. '--mca btl self,tcp')]]

local opts = { np = 2, rounds = 3, trials = 3, markdown = false, mpirun_args = '',
               sizes = { 1, 2, 4, 8, 16, 32, 64, 128, 256 } }
for _, a in ipairs(arg) do
  local key, value = a:match('^%-%-([%w-]+)=(.*)$')
  local n = tonumber(value)
  if key == 'np' and n and n >= 1 and n % 1 == 0 then opts.np = n
  elseif key == 'rounds' and n and n >= 1 and n % 1 == 0 then opts.rounds = n
  elseif key == 'trials' and n and n >= 1 and n % 1 == 0 then opts.trials = n
  elseif key == 'mpirun-args' then opts.mpirun_args = value
  elseif key == 'sizes' then
    opts.sizes = {}
    for s in value:gmatch('[^,]+') do
      local mb = tonumber(s)
      if not mb or mb <= 0 then io.stderr:write('bad --sizes: ', value, '\n'); os.exit(2) end
      opts.sizes[#opts.sizes + 1] = mb
    end
  elseif a == '--markdown' then opts.markdown = true
  else
    io.stderr:write((a == '--help' or a == '-h') and '' or ('unknown argument ' .. a .. '\n'), usage, '\n')
    os.exit(2)
  end
end

local function output(cmd)
  local p = assert(io.popen(cmd))
  local out = p:read('*a')
  local ok, _, code = p:close()
  return out, ok == true or ok == 0 or code == 0
end

local function need(tool, package)
  local _, ok = output('command -v ' .. tool .. ' >/dev/null 2>&1')
  if not ok then
    io.stderr:write(string.format('bench/allreduce.lua: %s not found (apt-get install %s)\n', tool, package))
    os.exit(1)
  end
end
need('mpirun', 'openmpi-bin')
need('mpicc', 'libopenmpi-dev')

local tmp = output('mktemp -d /tmp/bench-allreduce.XXXXXX'):gsub('%s+$', '')
local function cleanup() os.execute('rm -rf ' .. shell_quote(tmp)) end
local exe = tmp .. '/allreduce'
local log, ok = output(string.format('mpicc -O2 -o %s %s 2>&1', shell_quote(exe), shell_quote(root ..
                                     'bench/allreduce.c')))
if not ok then
  cleanup()
  io.stderr:write('bench/allreduce.lua: mpicc failed:\n', log)
  os.exit(1)
end

-- The argument list both sides take: trials, then bytes and iterations per size (about 0.5 GB moved per
-- trial, 3 to 200 calls).
local spec = { tostring(opts.trials) }
local bytes_of = {}
for i, mb in ipairs(opts.sizes) do
  local bytes = math.floor(mb * 2 ^ 20 / 4) * 4
  bytes_of[i] = bytes
  spec[#spec + 1] = string.format('%d %d', bytes, math.max(3, math.min(200, math.floor(2 ^ 29 / bytes))))
end
spec = table.concat(spec, ' ')

local is_root = output('id -u'):match('^0') ~= nil
local nproc = tonumber((output('nproc'))) or 1
local mpirun = string.format('mpirun -np %d%s%s %s', opts.np, is_root and ' --allow-run-as-root' or '',
                             nproc < opts.np and ' --oversubscribe' or '', opts.mpirun_args)
local sides = {
  { name = 'MPI_Allreduce (C)', cmd = string.format('%s %s %s', mpirun, shell_quote(exe), spec) },
  { name = 'dist.all_reduce', cmd = string.format('%s luajit %s --worker %s', mpirun,
                                                  shell_quote(root .. 'bench/allreduce.lua'), spec) },
}

local best = { {}, {}, ffi = {} }
for round = 1, opts.rounds do
  for s, side in ipairs(sides) do
    local out, fine = output(side.cmd .. ' 2>&1')
    if not fine then
      cleanup()
      io.stderr:write(string.format('bench/allreduce.lua: %s failed (round %d):\n%s\n%s\n', side.name, round,
                                    side.cmd, out))
      os.exit(1)
    end
    for line in out:gmatch('[^\n]+') do
      local bytes, t, t_ffi = line:match('^(%d+) ([%d.e+-]+) ?([%d.e+-]*)$')
      if bytes then
        bytes, t, t_ffi = tonumber(bytes), tonumber(t), tonumber(t_ffi)
        best[s][bytes] = math.min(best[s][bytes] or math.huge, t)
        if t_ffi then best.ffi[bytes] = math.min(best.ffi[bytes] or math.huge, t_ffi) end
      end
    end
  end
  io.stderr:write(string.format('round %d of %d done\n', round, opts.rounds))
end
cleanup()

local mpi_version = output(mpirun:match('^%S+') .. ' --version 2>/dev/null'):match('^[^\n]*') or '?'
local cpu = output("sed -n 's/^model name[[:space:]]*: //p' /proc/cpuinfo | head -1"):gsub('%s+$', '')
local header = {
  string.format('%d processes on one machine (%s, %d CPUs), %s', opts.np, cpu, nproc, mpi_version),
  string.format('in-place float32 sum; best of %d rounds x %d trials; bandwidth = buffer bytes / time', opts.rounds,
                opts.trials),
}
local rows = { { 'size', 'MPI_Allreduce (C)', 'GB/s', 'dist.all_reduce', 'GB/s', 'MPI/tensor', 'FFI/tensor' } }
local slow = {}
local function ms(t) return string.format('%.3f ms', t * 1e3) end
for i, mb in ipairs(opts.sizes) do
  local bytes = bytes_of[i]
  local c, l, f = best[1][bytes], best[2][bytes], best.ffi[bytes]
  if not c or not l or not f then
    io.stderr:write(string.format('bench/allreduce.lua: no result for %g MB\n', mb))
    os.exit(1)
  end
  local ratio = c / l
  rows[#rows + 1] = { string.format('%g MB', mb), ms(c), string.format('%.2f', bytes / c / 1e9), ms(l),
                      string.format('%.2f', bytes / l / 1e9), string.format('%.2f', ratio),
                      string.format('%.2f', f / l) }
  if ratio < 0.9 then slow[#slow + 1] = string.format('%g MB (%.2f)', mb, ratio) end
end

local widths = {}
for _, r in ipairs(rows) do
  for j, cell in ipairs(r) do widths[j] = math.max(widths[j] or 0, #cell) end
end
if opts.markdown then
  for _, h in ipairs(header) do print('- ' .. h) end
  print()
  for k, r in ipairs(rows) do
    print('| ' .. table.concat(r, ' | ') .. ' |')
    if k == 1 then print('|' .. string.rep(' ---: |', #r)) end
  end
else
  for _, h in ipairs(header) do print(h) end
  print()
  for _, r in ipairs(rows) do
    local cells = {}
    for j, cell in ipairs(r) do cells[j] = j == 1 and cell .. string.rep(' ', widths[j] - #cell)
                                            or string.rep(' ', widths[j] - #cell) .. cell end
    print(table.concat(cells, '   '))
  end
end
if #slow > 0 then print('\nbelow 0.9 of MPI_Allreduce: ' .. table.concat(slow, ', ')) end
