-- Failing 2-rank runs (test/distributed_spec.lua): mpirun -np 2 th test/distributed/failures.lua CASE
--
--   exit      rank 1 calls os.exit(3) before the collective rank 0 waits in
--   error     rank 1 raises a Lua error before it (th exits with status 1)
--   hang      rank 1 sleeps 30 s before it; dist.init's timeout of 1 s ends rank 0
--   mismatch  the ranks all-reduce tensors of different sizes in debug mode
-- Each must end the whole job with a non-zero status and a message, never hang.
local ffi = require 'ffi'
local torch = require 'tensor'
local dist = require 'tensor.distributed'

local case = arg[1]
dist.init({ timeout = case == 'hang' and 1 or 60, debug = case == 'mismatch' })
local r = dist.rank()
if r == 1 then
  if case == 'exit' then os.exit(3) end
  if case == 'error' then error('rank 1 gives up') end
  if case == 'hang' then -- asleep in this process (killed with it), not in a child
    ffi.cdef 'unsigned int distributed_failures_sleep(unsigned int seconds) __asm__("sleep");'
    ffi.C.distributed_failures_sleep(30)
  end
end
local n = case == 'mismatch' and 4 + 1000 * r or 4
dist.all_reduce(torch.ones(n))
print('rank ' .. r .. ' finished the all_reduce')
