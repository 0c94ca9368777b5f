-- tensor.doc: parsing the doc-comment blocks, naming function values, and the text help() shows; and the
-- API reference docs/api.md, which must match the blocks (CI runs this spec).
local doc = require 'tensor.doc'
local torch = require 'tensor'
local core = require 'tensor.core'

describe('doc: parsing blocks', function()
  local text = [[
-- mod.x: a module for testing.
-- Second line of the summary.

--- torch.alpha(a, b) -> Tensor
-- First line.
-- Second line.
-- Example: torch.alpha(1, 2)
function torch.alpha(a, b) end

-- ---- a section separator, not a block ----
local function helper() end

--- Tensor:beta(dim) -> number
--- Tensor:beta() -> table
function Tensor:beta(d) end

--- Tensor:one() -> Tensor
--- Tensor:two() -> Tensor
-- Both at once.
Tensor.one, Tensor.two = f, g
]]

  it('reads signatures, text and the definition that follows', function()
    local entries = doc.parse(text, 'x.lua')
    assert.equal(3, #entries)
    local a = entries[1]
    assert.equal('torch.alpha', a.name)
    assert.same({ 'torch.alpha(a, b) -> Tensor' }, a.signatures)
    assert.same({ 'First line.', 'Second line.', 'Example: torch.alpha(1, 2)' }, a.text)
    assert.equal(4, a.line)
    assert.equal('function torch.alpha(a, b) end', a.def)
    assert.equal('x.lua', a.file)
  end)

  it('takes several signature lines as alternatives, naming every function they name', function()
    local entries = doc.parse(text)
    assert.same({ 'Tensor:beta(dim) -> number', 'Tensor:beta() -> table' }, entries[2].signatures)
    assert.same({ 'Tensor:beta' }, entries[2].names)
    assert.same({}, entries[2].text)
    assert.same({ 'Tensor:one', 'Tensor:two' }, entries[3].names)
  end)

  it('reads a module summary from the leading comment', function()
    assert.equal('a module for testing. Second line of the summary.', doc.module_summary(text))
  end)

  it('names modules after their files', function()
    assert.equal('tensor.creation', doc.module_name('creation.lua'))
    assert.equal('tensor.nn', doc.module_name('nn/init.lua'))
    assert.equal('tensor.nn.linear', doc.module_name('nn/linear.lua'))
  end)
end)

describe('doc: help text', function()
  it('finds the package of the checkout', function()
    local dir = doc.package_dir()
    assert.is_truthy(dir)
    assert.truthy(io.open(dir .. '/creation.lua'))
  end)

  it('shows the block of a function given by value', function()
    local text = doc.text(torch.zeros)
    assert.matches('^torch%.zeros%(size%.%.%., opts%) %-> Tensor\n\n  A tensor filled with zeros%.', text)
    assert.matches('Defined in tensor%.creation %(.*creation%.lua:%d+%)', text)
  end)

  it('names functions by walking the namespaces', function()
    local names = doc.names_of(torch.zeros)
    assert.equal('torch.zeros', names[1])
    local method_names = doc.names_of(core.Tensor.narrow)
    local found = false
    for _, n in ipairs(method_names) do if n == 'Tensor:narrow' then found = true end end
    assert.is_true(found)
  end)

  it('finds a block through an alias', function()
    -- x:nDimension is x:dim under its Torch7 name
    local text = doc.text(core.Tensor.nDimension)
    assert.matches('^Tensor:dim%(%) %-> number', text)
    assert.matches('Also: .*Tensor:nDimension', text)
  end)

  it('documents torch.f(x, ...) by the method x:f(...)', function()
    assert.matches('^Tensor:narrow%(dim, start, length%)', doc.text(torch.narrow))
  end)

  it('looks names up, by full name or by their last part', function()
    assert.matches('^torch%.randperm%(n, opts%)', doc.text('torch.randperm'))
    assert.matches('^torch%.randperm%(n, opts%)', doc.text('randperm'))
    assert.matches('^Tensor:narrow', doc.text('x:narrow'))
    assert.equal('help: no documentation for no_such_thing', doc.text('no_such_thing'))
  end)

  it('says plainly when a function has no documentation', function()
    local function undocumented() end
    assert.matches('^help: no documentation for this function %(defined at .*doc_spec%.lua:%d+%)$',
                   doc.text(undocumented))
    assert.matches('^help: got nil', doc.text(nil))
    assert.matches('^help: expected a function, a module or a name, got number 3', doc.text(3))
  end)

  it('lists what a namespace holds', function()
    local text = doc.text(torch)
    assert.matches('^torch holds %d+ functions and tables %(help%(torch%.name%) for one%):\n', text)
    assert.matches('zeros_like', text)
  end)

  it('documents an object by its class', function()
    local Class = { step = function() end }
    Class.__index = Class
    torch.th_spec_class = Class
    local entries = doc.entries()
    entries['torch.th_spec_class'] = { name = 'torch.th_spec_class', names = { 'torch.th_spec_class' },
                                       signatures = { 'torch.th_spec_class(opts) -> object' },
                                       text = { 'A class for this spec.' }, line = 1, file = 'spec' }
    local ok, text = pcall(doc.text, setmetatable({}, Class))
    torch.th_spec_class, entries['torch.th_spec_class'] = nil, nil
    assert(ok, text)
    assert.matches('^torch%.th_spec_class%(opts%) %-> object\n\n  A class for this spec%.', text)
  end)

  it('lists the methods of a tensor', function()
    local text = doc.text(torch.zeros(2, 3))
    assert.matches('^A Tensor %[torch%.FloatTensor of size 2x3%]%. Its %d+ methods', text)
    assert.matches('narrow', text)
  end)

  it('documents only names that exist (a typo in a signature fails here)', function()
    local missing = {}
    for key, e in pairs(doc.entries()) do
      local root, rest = key:match('^(%a+)%.(.+)$')
      local value
      if root == 'torch' then
        value = torch
        for part in rest:gmatch('[^%.]+') do value = type(value) == 'table' and value[part] or nil end
      elseif root == 'Tensor' then
        value = core.Tensor[rest]
      end
      if (root == 'torch' or root == 'Tensor') and value == nil then missing[#missing + 1] = e.name .. ' (' .. key .. ')' end
    end
    table.sort(missing)
    assert.same({}, missing)
  end)
end)

describe('doc: docs/api.md', function()
  local gen = dofile('tools/gen-api-docs.lua')

  it('is up to date with the doc comments (regenerate: luajit tools/gen-api-docs.lua)', function()
    local f = assert(io.open('docs/api.md', 'rb'))
    local current = f:read('*a')
    f:close()
    local fresh = gen.generate()
    if current ~= fresh then
      -- name the first line that differs, to make the failure readable
      local i, a, b = 0, current:gmatch('[^\n]*\n'), fresh:gmatch('[^\n]*\n')
      local la, lb
      repeat i, la, lb = i + 1, a(), b() until la ~= lb
      error(string.format('docs/api.md is out of date: run `luajit tools/gen-api-docs.lua` and commit it.\n' ..
        'First difference at line %d:\n  file:      %s  generated: %s', i, tostring(la), tostring(lb)))
    end
  end)

  it('renders headings, anchors, a table of contents, prose and code', function()
    local modules = { {
      name = 'tensor.demo', file = 'demo.lua', summary = 'A demo.',
      entries = doc.parse([[
--- torch.demo(x) -> Tensor
--- torch.demo(x, y) -> Tensor
-- Adds things
-- together.
-- Example: torch.demo(1)
--
-- Another paragraph.
function torch.demo() end
]], 'demo.lua'),
    } }
    local md = gen.render(modules)
    assert.matches('\n%- %[tensor%.demo%]%(#tensor%.demo%): A demo%.\n  <br>%[torch%.demo%]%(#torch%.demo%)\n', md)
    assert.matches('\n<a id="torch%.demo"></a>\n\n### `torch%.demo%(x%) %-> Tensor`\n\n```lua\ntorch%.demo%(x, y%) %-> Tensor\n```\n', md)
    assert.matches('\nAdds things together%.\n\n```lua\ntorch%.demo%(1%)\n```\n\nAnother paragraph%.\n', md)
    assert.matches('Source: `lua/tensor/demo%.lua`', md)
  end)
end)
