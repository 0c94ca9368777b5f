-- tensor.cuda_device: whether CUDA can be used, and the checks for 'cuda' device arguments.
-- The CUDA backend lives in libtensor_cuda, loaded on first use when it was built.
local M = {}

local state = { checked = false, available = false, reason = nil, current = 0 }

function M.probe()
  if state.checked then return state.available, state.reason end
  state.checked = true
  local ok, backend = pcall(require, 'tensor.cuda_backend')
  if ok and backend then
    state.available, state.reason = backend.available()
  else
    state.available, state.reason = false, 'this build has no CUDA backend (libtensor_cuda was not built)'
  end
  return state.available, state.reason
end

function M.current_device() return state.current end
function M.set_current(index) state.current = index end

function M.require_device(fn, index)
  local available, reason = M.probe()
  if not available then error(string.format('%s: CUDA is not available: %s', fn, reason), 4) end
  return require('tensor.cuda_backend').check_index(fn, index)
end

return M
