-- helpers.failure: the error message of a call that must fail.
--   local failure = require 'helpers.failure'
--   assert.matches('cat: sizes must match', failure(function() return torch.cat({ a, b }) end))
return function(fn)
  local ok, err = pcall(fn)
  if ok then error('expected an error, the call succeeded', 2) end
  return tostring(err)
end
