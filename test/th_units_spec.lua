-- The th shell's parts, in-process: the lexer and `local` rewriting, completion, value printing, and the
-- compile step that tells complete input from incomplete input.
local source = require 'tensor.shell.source'
local complete = require 'tensor.shell.complete'
local pretty = require 'tensor.shell.pretty'
local shell = require 'tensor.shell'
local torch = require 'tensor'

describe('th: tensor.shell.source', function()
  it('tokenises names, keywords, numbers, strings, long strings, comments and operators', function()
    local toks = source.tokens([=[local x = 1.5e3 .. "a\"b" --c
[[long]] x:y ~= 0x1F]=])
    local got = {}
    for _, t in ipairs(toks) do got[#got + 1] = t.type .. ':' .. (t.value or '') end
    assert.same({ 'keyword:local', 'name:x', 'op:=', 'number:1.5e3', 'op:..', 'string:a\\"b', 'comment:',
                  'string:long', 'name:x', 'op::', 'name:y', 'op:~=', 'number:0x1F' }, got)
  end)

  it('marks unterminated strings as open', function()
    local toks = source.tokens("require 'tensor.n")
    assert.equal('string', toks[2].type)
    assert.is_true(toks[2].open)
    assert.equal('tensor.n', toks[2].value)
  end)

  it('turns top-level locals into globals', function()
    assert.equal('x = 1', (source.globalize_locals('local x = 1')))
    assert.equal('a, b = 1, 2', (source.globalize_locals('local a, b = 1, 2')))
    assert.equal('z = nil', (source.globalize_locals('local z')))
    assert.equal('function f() return 1 end', (source.globalize_locals('local function f() return 1 end')))
    assert.equal('x = 1; y = x + 1', (source.globalize_locals('local x = 1; local y = x + 1')))
  end)

  it('leaves locals inside functions and blocks alone', function()
    local src = 'function f() local a = 1 return a end'
    assert.equal(src, (source.globalize_locals(src)))
    src = 'for i = 1, 2 do local t = i end'
    assert.equal(src, (source.globalize_locals(src)))
    src = 'if x then local y = 1 end local z = 2'
    assert.equal('if x then local y = 1 end z = 2', (source.globalize_locals(src)))
    src = 'repeat local k = 1 until k'
    assert.equal(src, (source.globalize_locals(src)))
  end)

  it('ignores the word local inside strings and comments', function()
    local src = 'print("local x = 1") -- local y'
    local out, changed = source.globalize_locals(src)
    assert.equal(src, out)
    assert.is_false(changed)
  end)

  it('finds what the text before the cursor is completing', function()
    assert.same({ kind = 'chain', path = { 'x' }, sep = ':', partial = 'ad' }, source.context('y = x:ad'))
    assert.same({ kind = 'chain', path = { 'torch', 'nn' }, sep = '.', partial = 'Lin' },
                source.context('m = torch.nn.Lin'))
    assert.same({ kind = 'chain', path = {}, partial = 'pri' }, source.context('pri'))
    assert.same({ kind = 'string', text = 'tensor.', require = true }, source.context("require 'tensor."))
    assert.same({ kind = 'string', text = 'tensor.', require = true }, source.context('require("tensor.'))
    assert.same({ kind = 'string', text = 'data/tr', require = false }, source.context("dofile('data/tr"))
    assert.same({ kind = 'none' }, source.context('-- torch.ze'))
    assert.same({ kind = 'none' }, source.context('x[1]:s'))
  end)
end)

describe('th: completion', function()
  local env = setmetatable({ x = torch.ones(2), torch = torch, t = { alpha = 1, beta = function() end } },
                           { __index = _G })

  local function has(list, name)
    for _, v in ipairs(list) do if v == name then return true end end
    return false
  end

  it('offers tensor methods after x:', function()
    local list = complete.complete('x:', '', env)
    assert.is_true(has(list, 'narrow'))
    assert.is_true(has(list, 'view'))
    assert.is_true(has(list, 'size'))
    assert.is_false(has(list, '_c'))
  end)

  it('completes a partial method name', function()
    local list = complete.complete('x:diag_em', 'diag_em', env)
    assert.same({ 'diag_embed' }, list)
  end)

  it('completes fields of modules', function()
    local list = complete.complete('torch.ze', 'ze', env)
    assert.is_true(has(list, 'zeros'))
    assert.is_true(has(list, 'zeros_like'))
    for _, name in ipairs(list) do assert.equal('ze', name:sub(1, 2)) end
  end)

  it('offers only callable fields after a colon', function()
    assert.same({ 'beta' }, complete.complete('t:', '', env))
    assert.same({ 'alpha', 'beta' }, complete.complete('t.', '', env))
  end)

  it('completes globals and keywords', function()
    local list = complete.complete('pri', 'pri', env)
    assert.is_true(has(list, 'print'))
    list = complete.complete('whi', 'whi', env)
    assert.is_true(has(list, 'while'))
  end)

  it('completes module paths inside require', function()
    local list = complete.complete("require 'tensor.she", 'tensor.she', env)
    assert.same({ 'tensor.shell' }, list)
    list = complete.complete("require 'tensor.sh", 'tensor.sh', env)
    assert.same({ 'tensor.shape_ops', 'tensor.shell' }, list)
    list = complete.complete("require 'tensor.shell.co", 'tensor.shell.co', env)
    assert.same({ 'tensor.shell.complete' }, list)
  end)

  it('returns replacements for the word readline will replace', function()
    -- readline split the word after the dot: the candidates are the rest of the names.
    assert.same({ 'diag_embed' }, complete.complete('x:diag_em', 'diag_em', env))
    -- a word that includes more than the name: the candidates keep that prefix.
    assert.same({ '(x:diag_embed' }, complete.complete('(x:diag_em', '(x:diag_em', env))
  end)

  it('offers tensor properties after x. but not after x:', function()
    local core = require 'tensor.core'
    core.getters.th_spec_property = function() return 1 end
    local ok, err = pcall(function()
      assert.same({ 'th_spec_property' }, complete.complete('x.th_spec_p', 'th_spec_p', env))
      assert.same({}, complete.complete('x:th_spec_p', 'th_spec_p', env))
    end)
    core.getters.th_spec_property = nil
    assert(ok, err)
  end)

  it('asks for file name completion in other strings', function()
    assert.equal('files', complete.complete("dofile('/tm", '/tm', env))
  end)

  it('offers nothing inside comments', function()
    assert.same({}, complete.complete('-- torch.ze', 'ze', env))
  end)
end)

describe('th: value printing', function()
  it('prints tensors through tostring', function()
    local x = torch.ones(2, 2)
    assert.equal(tostring(x), pretty.format(x))
  end)

  it('prints short tables on one line and long ones indented', function()
    assert.equal('{1, 2, 3}', pretty.format({ 1, 2, 3 }))
    assert.equal('{1, a = "x", b = {c = true}}', pretty.format({ 1, a = 'x', b = { c = true } }))
    local long = {}
    for i = 1, 30 do long['key' .. string.format('%02d', i)] = i end
    local text = pretty.format(long)
    assert.matches('^{\n  key01 = 1,\n  key02 = 2,\n', text)
    assert.matches('\n}$', text)
  end)

  it('stops at the depth limit and marks cycles', function()
    local deep = { a = { b = { c = { d = { e = 1 } } } } }
    assert.equal('{a = {b = {c = {...}}}}', pretty.format(deep))
    local a, b = { name = 'a' }, { name = 'b' }
    a.other, b.other = b, a
    assert.matches('^{name = "a", other = {name = "b", other = <cycle: table: 0x%x+>}}$', pretty.format(a))
  end)

  it('prints a loaded module as its name and fields, and as its name inside a table', function()
    package.loaded['th_spec_module'] = { beta = 2, alpha = function() end }
    local text = pretty.format(package.loaded['th_spec_module'])
    local inner = pretty.format({ m = package.loaded['th_spec_module'] })
    package.loaded['th_spec_module'] = nil
    assert.equal("<module 'th_spec_module'> with 2 fields:\n  alpha, beta", text)
    assert.equal("{m = <module 'th_spec_module'>}", inner)
  end)

  it('marks a table that refers to itself (a class whose __index is itself)', function()
    local class = { name = 'C' }
    class.__index = class
    assert.equal('{__index = <self>, name = "C"}', pretty.format(class))
  end)

  it('shows tensors inside tables by their summary line', function()
    assert.equal('{w = [torch.FloatTensor of size 2x3]}', pretty.format({ w = torch.zeros(2, 3) }))
  end)

  it('prints top-level strings as they are and nested strings quoted', function()
    assert.equal('a "b"', pretty.format('a "b"'))
    assert.equal('{"a\\"b"}', pretty.format({ 'a"b' }))
  end)

  it('lists many entries with a count of the rest', function()
    local t = {}
    for i = 1, 150 do t[i] = i end
    assert.matches('%.%.%. %(50 more%)', pretty.format(t))
  end)

  it('separates several results by tabs, or by lines when one spans lines', function()
    assert.equal('1\t2\tnil', pretty.format_all(3, { 1, 2, nil }))
    local x = torch.zeros(2)
    assert.equal('1\n' .. tostring(x), pretty.format_all(2, { 1, x }))
  end)
end)

describe('th: compiling input', function()
  it('treats expressions as values to print', function()
    local f = shell.compile('1 + 1')
    assert.equal(2, f())
    f = shell.compile('=2 * 3')
    assert.equal(6, f())
  end)

  it('keeps the frame of the input in error positions (no tail call)', function()
    local f = shell.compile("error('boom')")
    local ok, err = pcall(f)
    assert.is_false(ok)
    assert.equal('stdin:1: boom', err)
  end)

  it('reports incomplete input', function()
    for _, code in ipairs({ 'for i = 1, 3 do', 'function f()', 'x = ', 'print("a",', 'y = [[long', 'if x then' }) do
      local f, status = shell.compile(code)
      assert.is_nil(f)
      assert.equal('incomplete', status, code)
    end
  end)

  it('reports syntax errors with their message', function()
    local f, status, err = shell.compile('x = = 1')
    assert.is_nil(f)
    assert.equal('error', status)
    assert.matches("stdin:1: unexpected symbol near '='", err)
  end)

  it('runs statements with top-level locals as globals', function()
    local f = shell.compile('local th_units_value = 41 + 1')
    f()
    assert.equal(42, rawget(_G, 'th_units_value'))
    _G.th_units_value = nil
  end)

  it('accepts an expression followed by a comment', function()
    local f = shell.compile('40 + 2 -- the answer')
    assert.equal(42, f())
  end)
end)

describe('th: preloading', function()
  after_each(function()
    package.preload['th_spec_broken'] = nil
    package.preload['th_spec_fine'] = nil
    package.preload['th_spec_needs_missing'] = nil
    package.loaded['th_spec_fine'] = nil
    _G.th_fine, _G.th_broken, _G.th_missing, _G.th_inner = nil, nil, nil, nil
  end)

  it('sets globals of modules that exist and skips missing ones silently', function()
    package.preload['th_spec_fine'] = function() return { ok = true } end
    local warnings = shell.preload_globals({ { 'th_fine', 'th_spec_fine' }, { 'th_missing', 'th_spec_no_such_module' } })
    assert.same({}, warnings)
    assert.same({ ok = true }, _G.th_fine)
    assert.is_nil(_G.th_missing)
  end)

  it('reports errors inside an existing module instead of hiding them', function()
    package.preload['th_spec_broken'] = function() error('inner failure') end
    package.preload['th_spec_needs_missing'] = function() return require('th_spec_really_missing') end
    local warnings = shell.preload_globals({ { 'th_broken', 'th_spec_broken' }, { 'th_inner', 'th_spec_needs_missing' } })
    assert.equal(2, #warnings)
    assert.matches('th_spec_broken failed to load: .*inner failure', warnings[1])
    assert.matches("th_spec_needs_missing failed to load: .*module 'th_spec_really_missing' not found", warnings[2])
    assert.is_nil(_G.th_broken)
  end)
end)
