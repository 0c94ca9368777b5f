-- The FFI declarations (lua/tensor/ffi.lua) are exactly the FFI region of lib/include/tensor.h, and every
-- function declared there exists in the loaded libtensor.
local ffi = require 'ffi'
local torch = require 'tensor'
local C = require 'tensor.lib'
local bindings = require 'tensor.ffi'

local function read(path)
  local f = assert(io.open(path, 'rb'), 'cannot open ' .. path)
  local text = f:read('*a')
  f:close()
  return text
end

local header = read('lib/include/tensor.h')
local region = header:match('/%* FFI%-BEGIN %*/\n(.-)/%* FFI%-END %*/')

-- The names of the functions a block of C declarations declares.
local function declared_functions(text)
  text = text:gsub('/%*.-%*/', ' '):gsub('%b{}', ' ')
  local names = {}
  for statement in text:gmatch('[^;]+') do
    statement = statement:gsub('%s+', ' ')
    if not statement:match('^%s*typedef') and not statement:match('^%s*enum') then
      local name = statement:match('([%a_][%w_]*)%s*%(')
      if name then names[#names + 1] = name end
    end
  end
  return names
end

describe('lua/tensor/ffi.lua', function()
  it('the header has one FFI region without preprocessor lines', function()
    assert.is_string(region)
    local _, count = header:gsub('/%* FFI%-BEGIN %*/', '')
    assert.equals(1, count)
    assert.is_nil(region:match('\n%s*#'), 'a preprocessor line inside the FFI region')
  end)

  it('declares exactly the FFI region of lib/include/tensor.h', function()
    assert.equals(region, bindings.declarations)
  end)

  it('is the file tools/sync-ffi.lua writes (no hand edits around the declarations)', function()
    local text = read('lua/tensor/ffi.lua')
    local expected = '-- tensor.ffi: the C declarations of libtensor, copied from the FFI region of lib/include/tensor.h\n' ..
      '-- by tools/sync-ffi.lua. Do not edit by hand; test/ffi_header_spec.lua checks that the two agree.\n' ..
      "local ffi = require 'ffi'\n\n" .. 'local declarations = [==[\n' .. region .. ']==]\n\n' ..
      'ffi.cdef(declarations)\n\n' .. 'return { declarations = declarations }\n'
    assert.equals(expected, text)
  end)

  it('every declared function resolves in the loaded library', function()
    local names = declared_functions(region)
    assert.is_true(#names >= 50, 'found only ' .. #names .. ' function declarations')
    local missing = {}
    for _, name in ipairs(names) do
      local ok, value = pcall(function() return C[name] end)
      if not ok or value == nil then missing[#missing + 1] = name end
    end
    assert.are.same({}, missing)
  end)

  it('the parser of this spec finds known functions and skips types', function()
    local names = declared_functions(region)
    local set = {}
    for _, n in ipairs(names) do set[n] = true end
    assert.is_true(set.tn_empty and set.tn_copy_ and set.tn_randperm and set.tn_last_error or false)
    assert.is_nil(set.tn_storage)
    assert.is_nil(set.deleter)
  end)

  it('the struct layouts the FFI sees match the C library (sizes written by C are read back)', function()
    local x = torch.zeros(2, 3, 4):transpose(1, 3):narrow(2, 2, 2)
    local c = x._c
    assert.equals(3, c.ndim)
    assert.are.same({ 4, 2, 2 }, x:shape())
    assert.are.same({ 1, 4, 12 }, x:stride())
    assert.equals(4, tonumber(c.offset))
    assert.equals(16, tonumber(c.numel))
    assert.equals(2 * 3 * 4 * 4, tonumber(c.storage.nbytes))
    assert.equals(ffi.sizeof('int64_t') * 16, ffi.sizeof(c.sizes))
  end)
end)
