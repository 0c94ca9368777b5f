-- tensor.autograd.mode: whether operations are being recorded (grad mode), shared by every wrapper.
local M = { enabled = true }

-- Runs fn(...) with grad mode set to `enabled`, restoring the previous mode even if fn raises.
function M.with(enabled, fn, ...)
  local previous = M.enabled
  M.enabled = enabled
  local results = { pcall(fn, ...) }
  M.enabled = previous
  if not results[1] then error(results[2], 0) end
  return unpack(results, 2, table.maxn(results))
end

return M
