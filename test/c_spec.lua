-- Runs the C test executables (test/c, built next to libtensor.so in <build>/test/c) and requires each to pass.
-- The list of tests comes from test/c/CMakeLists.txt, so a test that was not built fails here too.
local function read(path)
  local f = assert(io.open(path, 'rb'))
  local text = f:read('*a')
  f:close()
  return text
end

local function exists(path)
  local f = io.open(path, 'rb')
  if f then f:close() end
  return f ~= nil
end

-- The build folder: the one holding the library under test, else build/.
local function build_dir()
  local lib = os.getenv('TENSOR_LIBRARY')
  local dir = lib and lib:match('^(.*)/[^/]+$')
  if dir and exists(dir .. '/test/c/CTestTestfile.cmake') then return dir end
  return 'build'
end

local names = {}
for list in read('test/c/CMakeLists.txt'):gmatch('foreach%s*%(%s*name%s+([^)]*)%)') do
  for name in list:gmatch('[%w_]+') do names[#names + 1] = name end
end

describe('C tests', function()
  it('test/c/CMakeLists.txt lists the tests', function()
    assert.is_true(#names >= 1)
    for _, name in ipairs(names) do assert.truthy(exists('test/c/' .. name .. '.c'), name .. '.c') end
  end)

  for _, name in ipairs(names) do
    it(name .. ' passes', function()
      local exe = build_dir() .. '/test/c/' .. name
      assert.truthy(exists(exe), exe .. ' was not built (configure with -DTENSOR_TESTS=ON)')
      local p = io.popen("'" .. exe .. "' 2>&1; echo \"exit=$?\"")
      local out = p:read('*a')
      p:close()
      assert.truthy(out:find('exit=0', 1, true), out)
      assert.truthy(out:find(name .. ': ok (0 failures)', 1, true), out)
    end)
  end
end)
