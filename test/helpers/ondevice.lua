-- helpers.ondevice: the device the CUDA blocks of the specs test: 'cuda', or 'cpu' when TENSOR_CUDA_OPS_DEVICE=cpu
-- (a check of a block itself on a machine without a GPU).
--   local ondevice = require 'helpers.ondevice'
--   describe('on CUDA, ...', function()
--     if ondevice.skipped() then return end      -- pending, with SKIPPED: no CUDA device, where there is none
--     ondevice.check('lu', function(a) return torch.linalg.lu(a) end, { a }, 1e-9)
local torch = require 'tensor'

local M = { device = os.getenv('TENSOR_CUDA_OPS_DEVICE') or 'cuda' }

-- Marks the calling describe block pending and returns true when the device is CUDA and there is none.
function M.skipped()
  if M.device == 'cuda' and not torch.cuda.is_available() then
    getfenv(2).pending('SKIPPED: no CUDA device')
    return true
  end
  return false
end

-- fn on CPU inputs and on device copies of them: every result must be on the device, with the CPU result's shape
-- and dtype, and within tol of its values.
function M.check(name, fn, inputs, tol)
  local assert = getfenv(2).assert
  local want = { fn(unpack(inputs)) }
  local moved = {}
  for i, x in ipairs(inputs) do moved[i] = x:to(M.device) end
  local got = { fn(unpack(moved)) }
  assert.are.equal(#want, #got, name)
  for i = 1, #want do
    assert.are.equal(M.device == 'cuda' and 'cuda:0' or 'cpu', got[i]:device(), name)
    assert.are.same(want[i]:shape(), got[i]:shape(), name)
    assert.are.equal(want[i]:dtype(), got[i]:dtype(), name)
    local diff = want[i]:numel() == 0 and 0 or (got[i]:cpu():double() - want[i]:double()):abs():max()
    assert(diff <= tol, string.format('%s: result %d differs by %g', name, i, diff))
  end
end

return M
