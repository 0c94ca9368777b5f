-- helpers.shell: what the specs that run commands (bin/th, mpirun, examples) share: shell quoting, reading a
-- file whole, a private temporary folder, and running a command line with its output captured.
local M = {}

-- s as one shell word
function M.quote(s) return "'" .. tostring(s):gsub("'", "'\\''") .. "'" end

-- The contents of path, or nil when it cannot be read.
function M.read(path)
  local f = io.open(path, 'rb')
  if not f then return nil end
  local s = f:read('*a')
  f:close()
  return s
end

-- A new folder /tmp/<prefix>.XXXXXX; the caller removes it with M.remove.
function M.temp_dir(prefix)
  local p = io.popen('mktemp -d /tmp/' .. prefix .. '.XXXXXX')
  local dir = p:read('*l')
  p:close()
  return dir
end

function M.remove(dir) os.execute('rm -rf ' .. M.quote(dir)) end

-- Runs cmdline through sh, stdout and stderr together into dir, under `timeout` seconds when given;
-- returns { out = the output, rc = the exit status } (124 when the time ran out).
function M.run(dir, cmdline, timeout)
  local out = dir .. '/cmd.out'
  local limit = timeout and string.format('timeout %d ', timeout) or ''
  os.execute(string.format('%ssh -c %s > %s 2>&1; echo $? > %s', limit, M.quote(cmdline), M.quote(out),
                           M.quote(out .. '.rc')))
  return { out = M.read(out) or '', rc = tonumber(M.read(out .. '.rc')) }
end

return M
