-- helpers.failure: the error message of a call that must fail.
--   local failure = require 'helpers.failure'
--   assert.matches('cat: sizes must match', failure(function() return torch.cat({ a, b }) end))
--   failure.containing(function() F.pad(x, {1}) end, 'F.pad', '[2 x 3]')   -- each plain substring must appear
local function message(fn)
  local ok, err = pcall(fn)
  if ok then error('expected an error, the call succeeded', 3) end
  return tostring(err)
end

local M = setmetatable({}, { __call = function(_, fn) return message(fn) end })

-- The message of fn's error, which must contain every one of the plain strings given.
function M.containing(fn, ...)
  local msg = message(fn)
  for _, part in ipairs({ ... }) do
    if not msg:find(part, 1, true) then error(string.format('message %q should contain %q', msg, part), 2) end
  end
  return msg
end

return M
