-- Side-by-side benchmarks: every workload of bench/workloads/*.lua through tensor (LuaJIT) and PyTorch
-- (/usr/bin/python3) on this machine, with the same thread count and the same OPENBLAS_CORETYPE, printed as
-- one table with both times and the ratio PyTorch/tensor (> 1: tensor is faster).
--
--   luajit bench/run.lua [options] [filter ...]
--
-- Filters select workloads whose name, group or file name contains one of them.
-- Options: --threads=1,2  --rounds=3  --trials=3  --min-time=0.1  --no-torch  --markdown  --list
-- See bench/README.md.
local function shell_quote(s) return "'" .. tostring(s):gsub("'", "'\\''") .. "'" end

local function command_output(cmd)
  local p = assert(io.popen(cmd))
  local out = p:read('*a')
  p:close()
  return (out:gsub('%s+$', ''))
end

local rel = arg[0]:match('^(.*)bench/run%.lua$') or './'
local root = command_output('cd ' .. shell_quote(rel == '' and '.' or rel) .. ' && pwd') .. '/'
package.path = root .. 'bench/?.lua;' .. root .. 'lua/?.lua;' .. root .. 'lua/?/init.lua;' .. package.path

local harness = require 'harness'

local usage = [[
usage: luajit bench/run.lua [options] [filter ...]
  filter        run the workloads whose name, group or file contains it (case-insensitive); all by default
  --threads=L   comma-separated thread counts (default 1,2)
  --rounds=R    times the whole comparison runs, alternating the two sides (default 3)
  --trials=K    timed trials per workload and round (default 3); the best of all is reported
  --min-time=S  seconds each timed trial lasts at least (default 0.1)
  --no-torch    time tensor only
  --markdown    print the table as Markdown (for bench/RESULTS.md)
  --list        list the workloads and exit]]

local opts = { threads = { 1, 2 }, rounds = 3, min_time = 0.1, trials = 3, torch = true, markdown = false, list = false }
local filters = {}
for _, a in ipairs(arg) do
  local key, value = a:match('^%-%-([%w-]+)=(.*)$')
  if key == 'threads' then
    opts.threads = {}
    for t in value:gmatch('[^,]+') do
      local n = tonumber(t)
      if not n or n < 1 or n % 1 ~= 0 then io.stderr:write('bad --threads: ', value, '\n'); os.exit(2) end
      opts.threads[#opts.threads + 1] = n
    end
  elseif key == 'min-time' and tonumber(value) and tonumber(value) > 0 then opts.min_time = tonumber(value)
  elseif key == 'trials' and tonumber(value) and tonumber(value) >= 1 then opts.trials = math.floor(tonumber(value))
  elseif key == 'rounds' and tonumber(value) and tonumber(value) >= 1 then opts.rounds = math.floor(tonumber(value))
  elseif a == '--no-torch' then opts.torch = false
  elseif a == '--markdown' then opts.markdown = true
  elseif a == '--list' then opts.list = true
  elseif a == '-h' or a == '--help' then print(usage); os.exit(0)
  elseif a:sub(1, 1) == '-' then io.stderr:write('unknown option ', a, '\n', usage, '\n'); os.exit(2)
  else filters[#filters + 1] = a end
end

local function loadavg()
  local f = io.open('/proc/loadavg')
  local text = f and f:read('*l') or ''
  if f then f:close() end
  return text:match('^(%S+ %S+ %S+)') or '?'
end
local load_before = loadavg()

local all, by_name = harness.load_workloads(root)
local selected = harness.select(all, filters)
if opts.list then
  for _, e in ipairs(all) do
    print(string.format('%-16s %-10s %s%s', e.file, e.group, e.name, e.py and '' or '   (tensor only)'))
  end
  os.exit(0)
end
if #selected == 0 then
  io.stderr:write('bench: no workload matches ', table.concat(filters, ' '), ' (--list shows them)\n')
  os.exit(2)
end
-- A baseline is timed whenever a workload that refers to it is.
do
  local chosen = {}
  for _, e in ipairs(selected) do
    chosen[e.name] = true
    if e.baseline then chosen[e.baseline] = true end
  end
  selected = {}
  for _, e in ipairs(all) do
    if chosen[e.name] then selected[#selected + 1] = e end
  end
end

-- The OpenBLAS core type both sides run with: the user's, or the one tensor picks from the CPU flags.
local openblas_env = require 'tensor.openblas_env'
openblas_env.configure()
local coretype = os.getenv('OPENBLAS_CORETYPE')
local python = os.getenv('PYTHON') or '/usr/bin/python3'

local function environment(threads)
  local env = string.format('OMP_NUM_THREADS=%d OPENBLAS_NUM_THREADS=%d MKL_NUM_THREADS=%d', threads, threads, threads)
  if coretype then env = env .. ' OPENBLAS_CORETYPE=' .. shell_quote(coretype) end
  return 'env ' .. env .. ' '
end

local function json_string(s)
  return '"' .. s:gsub('[%c"\\]', function(c)
    local named = { ['"'] = '\\"', ['\\'] = '\\\\', ['\n'] = '\\n', ['\t'] = '\\t', ['\r'] = '\\r' }
    return named[c] or string.format('\\u%04x', c:byte())
  end) .. '"'
end

-- Runs one worker and folds its result lines into `results`: results[name] = {best=} (the least seconds
-- per iteration seen in any trial of any round) or {error=} (an error in any round wins). A worker that dies
-- (a crash in the library, say) leaves its unfinished workloads marked as errors.
local function run_worker(cmd, names, results, info)
  local seen = {}
  local p = assert(io.popen(cmd))
  for line in p:lines() do
    local fields = {}
    for f in (line .. '\t'):gmatch('([^\t]*)\t') do fields[#fields + 1] = f end
    local kind, name = fields[1], fields[2]
    if kind == 'ok' or kind == 'error' then
      seen[name] = true
      local r = results[name] or {}
      results[name] = r
      if kind == 'error' then
        r.error = fields[3]
      else
        local least = tonumber(fields[4])
        r.best = math.min(r.best or math.huge, least)
      end
    elseif kind == 'info' then
      info[name] = fields[3]
    else
      io.stderr:write(line, '\n')
    end
  end
  p:close()
  for _, name in ipairs(names) do
    if not seen[name] then
      results[name] = results[name] or {}
      results[name].error = 'the worker exited before this workload finished'
    end
  end
end

-- The work: for each round, each thread count, the tensor worker then the PyTorch worker, so that a burst of
-- load from elsewhere on the machine spoils one round of one side, not the whole comparison.
local names, py_names, py = {}, {}, {}
for _, e in ipairs(selected) do
  names[#names + 1] = e.name
  if e.py then
    py_names[#py_names + 1] = e.name
    py[#py + 1] = string.format('{"name": %s, "setup": %s, "code": %s, "min_time": %s, "cuda": %s}',
      json_string(e.name), json_string(e.py_setup or ''), json_string(e.py), e.min_time and tostring(e.min_time) or 'null',
      tostring(e.cuda == true))
  end
end
local names_file, spec_file = os.tmpname(), os.tmpname()
local f = assert(io.open(names_file, 'w'))
f:write(table.concat(names, '\n'), '\n')
f:close()

local lua_results, torch_results, info = {}, {}, { lua = {}, torch = {} }
for _, threads in ipairs(opts.threads) do lua_results[threads], torch_results[threads] = {}, {} end
for round = 1, opts.rounds do
  for _, threads in ipairs(opts.threads) do
    local what = string.format('round %d/%d, %d thread%s', round, opts.rounds, threads, threads > 1 and 's' or '')
    io.stderr:write(string.format('bench: %s: tensor, %d workloads\n', what, #names))
    run_worker(environment(threads) .. 'luajit ' .. shell_quote(root .. 'bench/worker.lua') ..
      string.format(' %d %g %d ', threads, opts.min_time, opts.trials) .. shell_quote(names_file),
      names, lua_results[threads], info.lua)
    if opts.torch and #py > 0 then
      f = assert(io.open(spec_file, 'w'))
      f:write(string.format('{"threads": %d, "min_time": %g, "trials": %d, "workloads": [\n%s\n]}\n',
        threads, opts.min_time, opts.trials, table.concat(py, ',\n')))
      f:close()
      io.stderr:write(string.format('bench: %s: PyTorch, %d workloads\n', what, #py))
      run_worker(environment(threads) .. shell_quote(python) .. ' ' .. shell_quote(root .. 'bench/worker.py') .. ' ' ..
        shell_quote(spec_file), py_names, torch_results[threads], info.torch)
    end
  end
end
os.remove(names_file)
os.remove(spec_file)

-- The report.
local function fmt_time(s)
  if s < 1e-6 then return string.format('%.1f ns', s * 1e9) end
  if s < 1e-3 then return string.format('%.2f µs', s * 1e6) end
  if s < 1 then return string.format('%.2f ms', s * 1e3) end
  return string.format('%.3f s', s)
end

local function width(s) return select(2, s:gsub('[^\128-\191]', '')) end

local rows, slower, errors = {}, {}, {}
for _, e in ipairs(selected) do
  for _, threads in ipairs(opts.threads) do
    local l, t = lua_results[threads][e.name], e.py and torch_results[threads][e.name]
    local row = { e.name, tostring(threads), '', '-', '-', '' }
    local notes = {}
    if l.error then
      row[3] = 'error'
      errors[#errors + 1] = string.format('tensor, %s, %d thread(s): %s', e.name, threads, l.error)
    else
      row[3] = fmt_time(l.best)
      if e.bytes or e.flops then
        local note = e.bytes and string.format('%.1f GB/s', e.bytes / l.best / 1e9)
                     or string.format('%.1f GFLOP/s', e.flops / l.best / 1e9)
        local b = e.baseline and lua_results[threads][e.baseline]
        if b and b.best then
          -- rates, not times: the baseline may move a different number of bytes (a copy beside an add)
          local base = by_name[e.baseline]
          local rate, base_rate = (e.bytes or e.flops) / l.best, (base.bytes or base.flops) / b.best
          note = note .. string.format(' = %.0f%% of %s', 100 * rate / base_rate, base.short or e.baseline)
        end
        notes[#notes + 1] = note
      end
      if e.items then notes[#notes + 1] = string.format('%.0f %s/s', e.items / l.best, e.unit or 'items') end
    end
    if t then
      if t.error then
        row[4] = 'error'
        errors[#errors + 1] = string.format('PyTorch, %s, %d thread(s): %s', e.name, threads, t.error)
      else
        row[4] = fmt_time(t.best)
        if e.bytes then notes[#notes + 1] = string.format('PyTorch %.1f GB/s', e.bytes / t.best / 1e9) end
        if e.flops then notes[#notes + 1] = string.format('PyTorch %.1f GFLOP/s', e.flops / t.best / 1e9) end
        if e.items then notes[#notes + 1] = string.format('PyTorch %.0f %s/s', e.items / t.best, e.unit or 'items') end
        if l.best then
          local ratio = t.best / l.best
          row[5] = string.format('%.2f', ratio)
          if ratio < 1 then slower[#slower + 1] = string.format('%s (%d thread%s): %.2f', e.name, threads, threads > 1 and 's' or '', ratio) end
        end
      end
    end
    row[6] = table.concat(notes, '; ')
    rows[#rows + 1] = row
  end
end

local function cpu_model()
  local f = io.open('/proc/cpuinfo')
  local text = f and f:read('*a') or ''
  if f then f:close() end
  return text:match('model name%s*:%s*([^\n]+)') or '?'
end

local header = {
  'machine: ' .. cpu_model() .. ', ' .. command_output('nproc') .. ' CPUs, ' .. command_output('uname -sr'),
  'load average (1, 5, 15 min): ' .. load_before .. ' before, ' .. loadavg() .. ' after (other processes skew the times)',
  'OPENBLAS_CORETYPE: ' .. (coretype or 'unset (OpenBLAS detects)') .. ', same for both sides',
  'tensor ' .. (info.lua.version or '?') .. ' (' .. (info.lua.library or '?') .. '), LuaJIT',
  opts.torch and ('PyTorch ' .. (info.torch.version or '?') .. ' (' .. python .. ')') or 'PyTorch: not run (--no-torch)',
  string.format('timing: best of %d rounds x %d trials of at least %g s each, after warm-up', opts.rounds, opts.trials,
    opts.min_time),
}
local titles = { 'Workload', 'Threads', 'tensor', 'PyTorch', 'PyTorch/tensor', 'Note' }
local right = { false, true, true, true, true, false }

if opts.markdown then
  for _, h in ipairs(header) do print('- ' .. h) end
  print()
  print('| ' .. table.concat(titles, ' | ') .. ' |')
  local rule = {}
  for k = 1, #titles do rule[k] = right[k] and '---:' or '---' end
  print('| ' .. table.concat(rule, ' | ') .. ' |')
  for _, row in ipairs(rows) do print('| ' .. table.concat(row, ' | ') .. ' |') end
else
  for _, h in ipairs(header) do print(h) end
  print()
  local widths = {}
  for k, title in ipairs(titles) do
    widths[k] = width(title)
    for _, row in ipairs(rows) do widths[k] = math.max(widths[k], width(row[k])) end
  end
  local function line(cells)
    local out = {}
    for k, c in ipairs(cells) do
      local pad = string.rep(' ', widths[k] - width(c))
      out[k] = right[k] and pad .. c or c .. pad
    end
    print((table.concat(out, '  '):gsub('%s+$', '')))
  end
  line(titles)
  local rule = {}
  for k = 1, #titles do rule[k] = string.rep('-', widths[k]) end
  line(rule)
  for _, row in ipairs(rows) do line(row) end
end

if #slower > 0 then
  print()
  print('tensor is slower than PyTorch on: ' .. table.concat(slower, ', '))
end
if #errors > 0 then
  io.stderr:write('\nbench: errors:\n  ' .. table.concat(errors, '\n  ') .. '\n')
  os.exit(1)
end
