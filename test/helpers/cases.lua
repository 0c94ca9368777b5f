-- helpers.cases: ops run through tensor and through PyTorch on the same inputs, compared result by result.
--
--   local cases = require('helpers.cases').new()
--   cases:add('median over a dim', function(a) return { a.x:median(2) } end,
--             'out = [torch.median(x, 1).values, torch.median(x, 1).indices + 1]', { x = t }, tolerance)
--   cases:describe('sort ops match PyTorch')   -- one `it` per case; the PyTorch side runs in one process
--
-- fn gets the inputs table and returns a tensor, a number, a boolean or a list of them; the snippet assigns
-- `out` the same (a list for a list). Tensors compare with the tolerance given, else ref.tolerance of their dtype.
local ref = require 'helpers.torchref'
local torch = require 'tensor'

local M = {}
local Cases = {}
Cases.__index = Cases

function M.new() return setmetatable({ list = {} }, Cases) end

function Cases:add(name, fn, python, inputs, tolerance)
  self.list[#self.list + 1] = { name = name, fn = fn, python = python, inputs = inputs or {}, tolerance = tolerance }
end

local function compare(got, want, tolerance)
  if torch.is_tensor(got) then
    if type(want) ~= 'table' or not want.values then return false, 'a tensor, expected ' .. tostring(want) end
    return ref.compare(got, want, tolerance or ref.tolerance(got:dtype()))
  end
  if type(got) == 'number' and type(want) == 'number' then
    local t = tolerance or { atol = 1e-6, rtol = 1e-6 }
    if got == want or (got ~= got and want ~= want) or math.abs(got - want) <= t.atol + t.rtol * math.abs(want) then
      return true
    end
    return false, string.format('%.17g, expected %.17g', got, want)
  end
  if got == want then return true end
  return false, string.format('%s, expected %s', tostring(got), tostring(want))
end

function Cases:describe(title)
  local list = self.list
  -- busted's describe and it live in the spec file's environment, not in this module's
  local env = getfenv(2)
  local describe, it, assert = env.describe, env.it, env.assert
  describe(title, function()
    local batch = {}
    for i, c in ipairs(list) do batch[i] = { c.python, c.inputs } end
    local results = ref.batch(batch)
    for i, c in ipairs(list) do
      it(c.name, function()
        local got, want = c.fn(c.inputs), results[i]
        if type(got) == 'table' and not torch.is_tensor(got) then
          assert.are.equal(#want, #got, 'number of results')
          for k = 1, #want do
            local ok, msg = compare(got[k], want[k], c.tolerance)
            assert(ok, 'result ' .. k .. ': ' .. tostring(msg))
          end
        else
          local ok, msg = compare(got, want, c.tolerance)
          assert(ok, msg)
        end
      end)
    end
  end)
end

return M
