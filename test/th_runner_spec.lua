-- bin/th as a script runner and as a shell fed from a pipe: arguments, -e, -l, -i, exit codes, shebang
-- scripts, and the shell's printing, multi-line input and errors without a terminal.
local ROOT = io.popen('pwd'):read('*l')
local TH = ROOT .. '/bin/th'

local shell = require 'helpers.shell'
local quote, read = shell.quote, shell.read

local tmpdir
local function tmp(name) return tmpdir .. '/' .. name end

local function write(path, text)
  local f = assert(io.open(path, 'wb'))
  f:write(text)
  f:close()
end


-- Runs a shell command line with stdin text; returns { out=, err=, rc= }.
local function sh(cmdline, stdin)
  write(tmp('stdin'), stdin or '')
  os.execute(string.format('(%s) < %s > %s 2> %s; echo $? > %s', cmdline, quote(tmp('stdin')), quote(tmp('out')),
                           quote(tmp('err')), quote(tmp('rc'))))
  return { out = read(tmp('out')), err = read(tmp('err')), rc = tonumber(read(tmp('rc'))) }
end

-- Runs th with the given argument string (already quoted as needed).
local function th(args, stdin) return sh(quote(TH) .. ' ' .. (args or ''), stdin) end

setup(function()
  local p = io.popen('mktemp -d /tmp/th_runner_spec.XXXXXX')
  tmpdir = p:read('*l')
  p:close()
end)

teardown(function()
  if tmpdir and tmpdir:match('^/tmp/th_runner_spec%.') then os.execute('rm -rf ' .. quote(tmpdir)) end
end)

describe('th script runner', function()
  it('runs a script with arg and ... set as lua does', function()
    write(tmp('args.lua'), [[
print('arg0=' .. arg[0], 'n=' .. #arg, 'a1=' .. arg[1], 'a2=' .. arg[2])
print('dots=' .. table.concat({...}, ','))
print('neg=' .. tostring(arg[-1] ~= nil))
]])
    local r = th(quote(tmp('args.lua')) .. ' alpha "b c"')
    assert.equal(0, r.rc)
    assert.equal('', r.err)
    assert.matches('arg0=' .. tmp('args.lua'):gsub('%p', '%%%0') .. '\tn=2\ta1=alpha\ta2=b c\n', r.out)
    assert.matches('dots=alpha,b c\n', r.out)
    assert.matches('neg=true\n', r.out)
  end)

  it('preloads torch as a global', function()
    local r = th([[-e "print(type(torch), type(torch.zeros), torch.ones(2):numel())"]])
    assert.equal(0, r.rc)
    assert.equal('table\tfunction\t2\n', r.out)
  end)

  it('runs -e code, several in order', function()
    local r = th([[-e "x = 20" -e "print(x + 22)"]])
    assert.equal(0, r.rc)
    assert.equal('42\n', r.out)
  end)

  it('requires a module with -l and sets its global', function()
    write(tmp('th_spec_mod.lua'), "return { answer = 42 }\n")
    local r = sh('LUA_PATH=' .. quote(tmp('?.lua') .. ';;') .. ' ' .. quote(TH) ..
                 [[ -l th_spec_mod -e "print(th_spec_mod.answer)"]])
    assert.equal('', r.err)
    assert.equal(0, r.rc)
    assert.equal('42\n', r.out)
    r = sh('LUA_PATH=' .. quote(tmp('?.lua') .. ';;') .. ' ' .. quote(TH) ..
           [[ -l m=th_spec_mod -e "print(m.answer)"]])
    assert.equal('42\n', r.out)
  end)

  it('fails clearly on a module that does not exist', function()
    local r = th('-l th_spec_no_such_module')
    assert.equal(1, r.rc)
    assert.matches("module 'th_spec_no_such_module' not found", r.err)
  end)

  it('exits with 1 and a traceback when the script raises an error', function()
    write(tmp('fail.lua'), "local function inner() error('boom') end\ninner()\n")
    local r = th(quote(tmp('fail.lua')))
    assert.equal(1, r.rc)
    assert.matches('^th: [^\n]*fail%.lua:1: boom\n', r.err)
    assert.matches("stack traceback:\n\t[^\n]*fail%.lua:1: in function 'inner'", r.err)
    -- th's own frames are not shown
    assert.is_nil(r.err:find('tensor/shell', 1, true))
  end)

  it('honours os.exit', function()
    write(tmp('exit3.lua'), 'print("before") os.exit(3)\n')
    local r = th(quote(tmp('exit3.lua')))
    assert.equal(3, r.rc)
    assert.equal('before\n', r.out)
    r = th([[-e "os.exit(true)"]])
    assert.equal(0, r.rc)
    r = th([[-e "os.exit(false)"]])
    assert.equal(1, r.rc)
  end)

  it('reports syntax errors and missing scripts with status 1', function()
    write(tmp('syntax.lua'), 'x = = 1\n')
    local r = th(quote(tmp('syntax.lua')))
    assert.equal(1, r.rc)
    assert.matches("syntax%.lua:1: unexpected symbol near '='", r.err)
    r = th(quote(tmp('no_such_script.lua')))
    assert.equal(1, r.rc)
    assert.matches('cannot open', r.err)
    r = th([[-e "x = = 1"]])
    assert.equal(1, r.rc)
  end)

  it('runs #!/usr/bin/env th scripts', function()
    write(tmp('shebang'), '#!/usr/bin/env th\nprint("shebang ok", arg[1], torch ~= nil)\n')
    os.execute('chmod +x ' .. quote(tmp('shebang')))
    local r = sh('PATH=' .. quote(ROOT .. '/bin') .. ':"$PATH" ' .. quote(tmp('shebang')) .. ' one')
    assert.equal('', r.err)
    assert.equal(0, r.rc)
    assert.equal('shebang ok\tone\ttrue\n', r.out)
  end)

  it('works through a symlink to bin/th', function()
    os.execute('ln -sf ' .. quote(TH) .. ' ' .. quote(tmp('th-link')))
    local r = sh('cd / && ' .. quote(tmp('th-link')) .. [[ -e "print(torch.zeros(2):numel())"]])
    assert.equal('', r.err)
    assert.equal('2\n', r.out)
  end)

  it('runs a script from stdin with -', function()
    local r = th('- x y', 'print(select("#", ...), arg[1])\n')
    assert.equal(0, r.rc)
    assert.equal('2\tx\n', r.out)
    r = th('-', '#!/usr/bin/env th\nlocal x = nil\nx.y = 1\n')
    assert.equal(1, r.rc)
    assert.matches('^th: stdin:3: attempt to index local \'x\'', r.err)
  end)

  it('shows the version with -v', function()
    local r = th('-v')
    assert.equal(0, r.rc)
    assert.matches('^tensor %d+%.%d+%.%d+ %(LuaJIT [^)]+%)\n$', r.out)
  end)

  it('prints usage with -h and rejects unknown options', function()
    local r = th('-h')
    assert.equal(0, r.rc)
    assert.matches('^usage: th %[options%] %[script%.lua %[args%.%.%.%]%]', r.out)
    r = th('--bogus')
    assert.equal(1, r.rc)
    assert.matches("th: unrecognized option '%-%-bogus'", r.err)
    r = th('-e')
    assert.equal(1, r.rc)
    assert.matches("option '%-e' needs an argument", r.err)
  end)

  it('stays interactive after the script with -i', function()
    write(tmp('setup.lua'), 'value = 6 * 7\n')
    local r = th('-i ' .. quote(tmp('setup.lua')), 'value\nvalue + 1\n')
    assert.equal('', r.err)
    assert.equal(0, r.rc)
    assert.equal('42\n43\n', r.out)
    r = th([[-i -e "y = 5"]], 'y * 2\n')
    assert.equal('10\n', r.out)
  end)

  it('enters the shell after a failing script with -i', function()
    write(tmp('half.lua'), 'a = 1\nerror("half way")\n')
    local r = th('-i ' .. quote(tmp('half.lua')), 'a + 1\n')
    assert.matches('half way', r.err)
    assert.equal('2\n', r.out)
  end)
end)

describe('th shell fed from a pipe', function()
  it('prints the value of each expression and nothing for statements', function()
    local r = th('', 'x = torch.ones(2, 3)\nx\n1 + 1\n=2 * 21\nprint("hi")\n{1, 2, k = "v"}\n')
    assert.equal('', r.err)
    assert.equal(0, r.rc)
    assert.equal(tostring(require('tensor').ones(2, 3)) .. '\n2\n42\nhi\n{1, 2, k = "v"}\n', r.out)
  end)

  it('keeps top-level locals for the following lines', function()
    local r = th('', 'local a = 20\nlocal function twice(v) return 2 * v end\ntwice(a) + 2\n')
    assert.equal('', r.err)
    assert.equal('42\n', r.out)
  end)

  it('continues incomplete input on the next lines', function()
    local r = th('', 'for i = 1, 3 do\n  print(i * 10)\nend\nfunction f(a,\n b)\n return a + b\n end\nf(1, 2)\n')
    assert.equal('', r.err)
    assert.equal('10\n20\n30\n3\n', r.out)
  end)

  it('shows an error and goes on with the next command; the exit status says a command failed', function()
    local r = th('', 'error("boom")\n1 + 1\nnil_function()\n"still here"\n')
    assert.equal('2\nstill here\n', r.out)
    assert.matches('stdin:1: boom', r.err)
    assert.matches("attempt to call global 'nil_function'", r.err)
    assert.equal(1, r.rc)
  end)

  it('shows a short traceback of the user frames', function()
    local r = th('', 'function g() local t = nil; return t.x end\nfunction f() return g() + 1 end\nf()\n')
    assert.matches("attempt to index local 't' %(a nil value%)\nstack traceback:\n\tstdin:1: in function 'g'", r.err)
    assert.matches("\tstdin:1: in function 'f'\n\tstdin:1: in main chunk\n$", r.err)
  end)

  it('reports a syntax error without waiting for more input', function()
    local r = th('', 'x = = 1\n7\n')
    assert.matches("unexpected symbol near '='", r.err)
    assert.equal('7\n', r.out)
  end)

  it('times a command with %time, and every command with -t', function()
    local r = th('', '%time 1 + 1\n')
    assert.matches('^2\ntime: [%d%.]+ [um]?s\n$', r.out)
    r = th('-t', 'x = 1\nx\n')
    assert.matches('^time: [%d%.]+ [um]?s\n1\ntime: [%d%.]+ [um]?s\n$', r.out)
  end)

  it('shows documentation with ?name and help()', function()
    local r = th('', '?torch.zeros\nhelp(torch.ones)\nhelp()\n?\n')
    assert.equal('', r.err)
    assert.matches('torch%.zeros%(size%.%.%., opts%) %-> Tensor\n\n  A tensor filled with zeros%.', r.out)
    assert.matches('torch%.ones%(size%.%.%., opts%) %-> Tensor\n', r.out)
    assert.matches('th: the tensor shell%.', r.out)
    assert.matches('%%time <command>', r.out)
  end)

  it('answers help for unknown names and undocumented functions plainly', function()
    local r = th('', '?torch.no_such_function\nhelp(function() end)\n')
    assert.matches('help: no documentation for torch%.no_such_function', r.out)
    assert.matches('help: no documentation for this function %(defined at stdin:1%)', r.out)
  end)

  it('runs what is left at the end of input', function()
    local r = th('', 'print("last")')
    assert.equal('last\n', r.out)
  end)

  it('lists the globals of the session with who()', function()
    local r = th('', 'who()\nweights = torch.zeros(2, 3)\nname = "run 1"\nwho()\n')
    assert.equal('', r.err)
    assert.equal('(no globals defined in this session)\nname     "run 1"\nweights  [torch.FloatTensor of size 2x3]\n', r.out)
  end)

  it('sets _ to the last value', function()
    local r = th('', '6 * 7\n_ + 1\n')
    assert.equal('42\n43\n', r.out)
  end)
end)
