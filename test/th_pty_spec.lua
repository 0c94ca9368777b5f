-- The th shell in a real terminal (tmux): line editing with readline, tab completion, history across two
-- sessions, multi-line input, errors, Ctrl-C, help, and Ctrl-D. Every wait polls the screen with a timeout.
local tmux = require 'helpers.tmux'

local ROOT = io.popen('pwd'):read('*l')
local PROMPT, MORE = 'th> ', '..> '

local quote = require('helpers.shell').quote

local home

setup(function()
  assert(tmux.available(), 'these specs need tmux (apt-get install tmux)')
  local p = io.popen('mktemp -d /tmp/th_pty_spec.XXXXXX')
  home = p:read('*l')
  p:close()
end)

teardown(function()
  if home and home:match('^/tmp/th_pty_spec%.') then os.execute('rm -rf ' .. quote(home)) end
end)

-- Starts th in a terminal, with HOME in the spec's temporary folder; waits for the first prompt.
local function start(extra_env)
  local env = { HOME = home, TERM = 'xterm', TENSOR_LIBRARY = os.getenv('TENSOR_LIBRARY') or '', INPUTRC = '/dev/null' }
  for k, v in pairs(extra_env or {}) do env[k] = v end
  local s = tmux.start(quote(ROOT .. '/bin/th'), { env = env, cwd = ROOT })
  s:wait_for(PROMPT, 20)
  return s
end

-- Types a line and waits until the shell shows its n-th prompt.
local function enter(s, text, prompts)
  s:line(text)
  return s:wait_prompts(PROMPT, prompts)
end

describe('th in a terminal', function()
  local s
  after_each(function() if s then s:kill() s = nil end end)

  it('starts with a banner and uses readline', function()
    s = start()
    local screen = s:screen()
    assert.matches('Type help%(%) for help', screen)
    -- without readline the banner carries a note about installing it
    assert.is_nil(screen:find('no line editing', 1, true))
  end)

  it('completes tensor methods after x:', function()
    s = start()
    enter(s, 'x = torch.ones(2, 3)', 2)
    s:type('x:nar')
    s:keys('Tab')
    s:wait_for(PROMPT .. 'x:narrow')
    s:keys('C-u')
    s:type('x:')
    s:keys('Tab', 'Tab')
    -- readline asks before listing many names, and may page them
    local screen = s:wait_for(function(sc) return sc:find('Display all', 1, true) or sc:find('transpose', 1, true) end)
    if screen:find('Display all', 1, true) then s:type('y') end
    screen = s:wait_for(function(sc)
      if sc:find('--More--', 1, true) then s:type(' ') end
      return sc:find('unsqueeze', 1, true) ~= nil
    end)
    for _, method in ipairs({ 'narrow', 'view', 'transpose', 'clone', 'unsqueeze' }) do
      assert.is_truthy(screen:find(method, 1, true), method)
    end
  end)

  it('completes module fields, globals and require paths', function()
    s = start()
    s:type('torch.zeros_l')
    s:keys('Tab')
    s:wait_for(PROMPT .. 'torch.zeros_like')
    s:keys('C-u')
    s:type('torch.ze')
    s:keys('Tab') -- completes the common part, 'zero'; two more Tabs list the candidates
    s:wait_for(PROMPT .. 'torch.zero')
    s:keys('Tab', 'Tab')
    local screen = s:wait_for('zeros_like')
    assert.is_truthy(screen:find('zeros ', 1, true))
    s:keys('C-u')
    s:type("require 'tensor.she")
    s:keys('Tab')
    s:wait_for("require 'tensor.shell")
  end)

  it('recalls a line of the previous session with the up arrow', function()
    s = start()
    enter(s, 'history_marker = 1234 + 1', 2)
    s:keys('C-d')
    assert.equal(0, s:wait_exit())
    s:kill()
    local f = assert(io.open(home .. '/.th_history'))
    assert.matches('history_marker = 1234 %+ 1', f:read('*a'))
    f:close()

    s = start()
    s:keys('Up')
    s:wait_for(PROMPT .. 'history_marker = 1234 + 1')
    s:keys('Enter')
    s:wait_prompts(PROMPT, 2)
    enter(s, 'history_marker', 3)
    assert.is_truthy(s:screen():find('\n1235\n', 1, true))
  end)

  it('continues incomplete statements with a .. prompt', function()
    s = start()
    s:line('for i = 1, 3 do')
    s:wait_for(MORE)
    s:line('  print(i * 11)')
    s:wait_prompts(MORE, 2)
    s:line('end')
    local screen = s:wait_prompts(PROMPT, 2)
    assert.is_truthy(screen:find('11\n22\n33\n', 1, true))
  end)

  it('takes a pasted block line by line', function()
    s = start()
    s:paste('pasted = 20\npasted + 1\nfor i = 1, 2 do\n  print(i * 100)\nend\n')
    s:wait_for('print(i * 100)\nend') -- the pasted text waits for Enter
    s:keys('Enter')
    local screen = s:wait_prompts(PROMPT, 2)
    assert.is_truthy(screen:find('\n21\n100\n200\n', 1, true))
  end)

  it('shows an error and keeps going', function()
    s = start()
    local screen = enter(s, "error('boom')", 2)
    assert.is_truthy(screen:find('stdin:1: boom', 1, true))
    screen = enter(s, '6 * 7', 3)
    assert.is_truthy(screen:find('\n42\n', 1, true))
  end)

  it('interrupts a long loop with Ctrl-C and stays alive', function()
    s = start()
    -- a loop the JIT compiles (hooks alone can't stop it) ...
    s:line('n = 0; while true do n = n + 1 end')
    s:wait_for('while true do n = n + 1 end\n')
    tmux.sleep_ms(300)
    s:keys('C-c')
    local screen = s:wait_prompts(PROMPT, 2)
    assert.is_truthy(screen:find('interrupted (Ctrl-C)', 1, true))
    -- ... one calling into the library ...
    s:line('for i = 1, 1e12 do local t = torch.ones(3) + 1 end')
    s:wait_for('torch.ones(3) + 1 end\n')
    tmux.sleep_ms(300)
    s:keys('C-c')
    screen = s:wait_prompts(PROMPT, 3)
    local _, count = screen:gsub('interrupted %(Ctrl%-C%)', '')
    assert.equal(2, count)
    -- and the shell still works, its globals intact
    screen = enter(s, 'n > 0', 4)
    assert.is_truthy(screen:find('\ntrue\n', 1, true))
  end)

  it('clears the line being typed with Ctrl-C at the prompt', function()
    s = start()
    s:type('this line is abandoned')
    -- (a Ctrl-C before readline has read the text would make the terminal discard it unread)
    s:wait_for(PROMPT .. 'this line is abandoned')
    s:keys('C-c')
    s:wait_prompts(PROMPT, 2)
    local screen = enter(s, '1 + 2', 3)
    assert.is_truthy(screen:find('this line is abandoned^C', 1, true))
    assert.is_truthy(screen:find('\n3\n', 1, true))
    -- Ctrl-C in the middle of a multi-line statement drops the whole statement
    s:line('if true then')
    s:wait_for(MORE)
    s:keys('C-c')
    s:wait_prompts(PROMPT, 4)
    screen = enter(s, '"fresh"', 5)
    assert.is_truthy(screen:find('\nfresh\n', 1, true))
  end)

  it('shows documentation with help() and ?', function()
    s = start()
    local screen = enter(s, '?torch.zeros', 2)
    assert.is_truthy(screen:find('torch.zeros(size..., opts) -> Tensor', 1, true))
    assert.is_truthy(screen:find('A tensor filled with zeros.', 1, true))
    screen = enter(s, 'help(torch.randn)', 3)
    assert.is_truthy(screen:find('torch.randn(size..., opts) -> Tensor', 1, true))
  end)

  it('reads plain lines without readline, and says how to get line editing', function()
    s = start({ TH_NO_READLINE = '1' })
    assert.is_truthy(s:screen():find('no line editing', 1, true))
    local screen = enter(s, '1 + 1', 2)
    assert.is_truthy(screen:find('\n2\n', 1, true))
    s:type('abandoned')
    s:wait_for(PROMPT .. 'abandoned')
    s:keys('C-c')
    s:wait_prompts(PROMPT, 3)
    s:line('while true do end')
    s:wait_for('while true do end\n')
    tmux.sleep_ms(300)
    s:keys('C-c')
    screen = s:wait_prompts(PROMPT, 4)
    assert.is_truthy(screen:find('interrupted (Ctrl-C)', 1, true))
    s:line('for i = 1, 2 do')
    s:wait_for(MORE)
    s:line('print(i * 5) end')
    screen = s:wait_prompts(PROMPT, 5)
    assert.is_truthy(screen:find('\n5\n10\n', 1, true))
    s:keys('C-d')
    assert.equal(0, s:wait_exit())
  end)

  it('prints tensors Torch7-style and exits with Ctrl-D', function()
    s = start()
    local screen = enter(s, 'torch.ones(2, 2)', 2)
    assert.is_truthy(screen:find(' 1  1\n 1  1\n[torch.FloatTensor of size 2x2]', 1, true))
    s:keys('C-d')
    assert.equal(0, s:wait_exit())
  end)
end)
