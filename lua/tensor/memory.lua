-- tensor.memory: keeps the Lua collector in step with the C allocator.
--
-- A Tensor costs the Lua collector a few dozen bytes while its storage may hold megabytes, so on its own
-- the collector would let dead tensors pile up. After each allocation we compare the C byte counter with
-- a threshold; past it, a full collection frees every unreachable tensor and the threshold becomes what is
-- still live plus a budget of garbage (at least `minimum`, more with a larger Lua heap or live set: see
-- set_threshold). Peak memory thus stays within the live set plus the larger of a quarter of it and 32-64 MB
-- (on the CPU).
--
-- It also owns the C tensors behind Lua objects. LuaJIT's per-object finalizers (ffi.gc) cost about a
-- microsecond each (a hash-table entry, then a protected call through the FFI at collection), several times
-- the cost of a small op. Instead each C tensor takes a slot: its pointer in a C array, and the Lua box of
-- the pointer (the object's `_c`) in a weak-valued table, which each collection cycle clears of dead boxes.
-- A sweep then frees the tensors of the cleared slots. One userdata finalizer per cycle notes its end:
-- after an explicit collectgarbage() the finalizer sweeps at once, so the memory (and a foreign buffer's
-- deleter) is released before collectgarbage returns; after the collector's own steps the next allocation
-- or memory query sweeps, in compiled code (finalizers run interpreted, several times slower).
-- The frees go to C in batches from a function kept out of the JIT: freeing a tensor may release foreign
-- memory whose deleter is a Lua callback (torch.from_pointer), and LuaJIT cannot enter a callback from a
-- C function that compiled code called.
--
-- A tensor the library knows nothing else can reach need not wait for the collector: M.release frees it at
-- once and frees its slot (found through the header's owner_slot) for the next tensor. The memory
-- goes back to the allocator still in cache, and the next op of its size writes there instead of into a block
-- untouched for a whole collection cycle. The autograd engine does this with the gradients it has used, and
-- zero_grad with a .grad the engine made and nobody has read.
local ffi = require 'ffi'
local C = require 'tensor.lib'

local M = {}

-- slot -> the pointer's box while it lives; nil once collected; false when the slot is free
local boxes = setmetatable({}, { __mode = 'v' })
local capacity = 0
local pointers -- slot -> the C tensor
-- The free slots, a stack. It never runs empty (the table grows when it would), so that own() has no branch
-- that flips with the collector's rhythm: a guard that fails now and then in a compiled caller grows a side
-- trace, recorded on into whatever op called own() until it is too long.
local free_slots, free_count = {}, 0

local dead -- the slots a sweep found dead, in increasing order (as many as there are slots)

-- Doubles the table; the new slots start free.
local function add_capacity()
  local new_capacity = math.max(1024, 2 * capacity)
  local bigger = ffi.new('tn_tensor *[?]', new_capacity + 1)
  if capacity > 0 then ffi.copy(bigger, pointers, ffi.sizeof('tn_tensor *') * (capacity + 1)) end
  pointers = bigger
  dead = ffi.new('int32_t[?]', new_capacity)
  for slot = new_capacity, capacity + 1, -1 do
    boxes[slot] = false
    free_count = free_count + 1
    free_slots[free_count] = slot
  end
  capacity = new_capacity
end
add_capacity()

-- The C side prefetches a batch's headers before freeing them; a batch should fit in the cache.
local BATCH = 256
local function free_dead(first, count) C.tn_tensor_free_slots(pointers, dead + first, count) end
jit.off(free_dead)

local cycles, swept_cycles = 0, 0 -- collection cycles finished, and the last one swept after
-- Tensors owned since the last sweep, and how many may be before a full collection is forced. The
-- collector paces itself by Lua bytes, and a tensor's box is a few dozen of them (often the only Lua
-- allocation of an op, once the JIT has sunk the rest), so without a count dead tensors could pile up by
-- the million between cycles. The budget grows with the Lua heap, which bounds the collection cost per op.
local owned_since_sweep, sweep_budget = 0, 32768
local sweeping, collecting = false, false

local live_bytes = C.tn_memory_live_bytes
-- The floor of each device type's garbage budget: the bytes of new tensors, beyond those the last collection
-- left live, that may be made before the next one. On the CPU it trades the collection's cost (about 0.4 ms for
-- the library's own heap) against the cache: a dead tensor's block is written again about a cycle later,
-- and past the last-level cache's share of one core (32-64 MB on the development Xeon) every write of a
-- result misses. 32 MiB of tensors (about 40 MB of blocks) against 64: an add of 1000 floats in ~460 ns
-- instead of ~660, of 10^5 floats in ~33 us instead of ~60. A collection marks the whole live Lua heap, so a
-- larger heap makes each one dearer (2-3 ms in the middle of an LSTM's unrolled forward pass, whose graph
-- holds 2.8 MB): the garbage allowed between two collections also grows with the heap the last one left,
-- GARBAGE_PER_HEAP_BYTE times it. With 32 MiB the LSTM step of bench/ collected 2.7 times per step, 13% of
-- its time. (The collection's own duration would be a worse guide: it grows with the garbage it frees, and
-- the threshold would feed on itself.) A GPU op takes microseconds of host time, so CUDA memory gets a higher
-- floor: with 64 MiB, a 4096x4096 softmax or a training step of 256 images collected on every call. Dead
-- CUDA tensors wait at most 1 GiB of new device memory (more with a large live set) before they return to
-- the caching allocator.
local minimum = { [0] = 32 * 1024 * 1024, [1] = 1024 * 1024 * 1024 }
local threshold = { [0] = minimum[0], [1] = minimum[1] }

-- A loop of small ops (1.1-1.3 MB of heap) stays at the 32 MiB floor. The heap's share stops at 2 floors (64
-- MiB on the CPU, the floor of old), so that a program holding large Lua tables keeps a bounded peak.
local GARBAGE_PER_HEAP_BYTE, HEAP_SHARE_LIMIT = 24, 2
-- The garbage budget comes on top of the live set, and grows with it only by a quarter of it. A collection's
-- cost follows the Lua heap, not the bytes the live tensors hold, so a large live set is no reason to let
-- more garbage wait, and every byte of it is a byte of cache the next results miss: with the budget at the
-- live set (a threshold of twice the live set, as before), 80 MB of live tensors made a loop of 64 x 64
-- products cycle through 160 MB of blocks, 48 us a product instead of 15. The quarter keeps the number of
-- collections while a live set of many small tensors grows logarithmic in its size, as doubling did.
local LIVE_SHARE = 0.25

local heap_bytes = 0 -- the Lua heap the last full collection left

-- The threshold of a device type after a collection: the live set plus the garbage budget. Every sweep sets
-- it, whichever collection it follows (ours, the user's collectgarbage() or the collector's own steps): a
-- threshold set while a large live set was in hand and kept after it died made every later result cycle
-- through all that memory until the next collection of ours, fresh pages first.
local function set_threshold(device_type)
  local live, floor = tonumber(live_bytes(device_type)), minimum[device_type]
  threshold[device_type] = live + math.max(floor, LIVE_SHARE * live,
                                           math.min(heap_bytes * GARBAGE_PER_HEAP_BYTE, HEAP_SHARE_LIMIT * floor))
end

-- Frees the tensors whose box a finished cycle collected. It may run as a finalizer, so it must not
-- raise; a collection step inside it finds it busy and leaves the work to it or to the next sweep.
--
-- The order matters for speed. The allocator hands out the block freed last first, and a block is warm in
-- the cache only if it was written recently, so the tensors should go back oldest first. Slots are taken
-- from the top of the free stack, and the sweep stacks the dead ones so that the smallest is on top: a
-- cycle's tensors then hold increasing slots in the order they were made, and freeing in increasing slot
-- order returns the newest block last. (Freeing in the other order handed every block of a loop of
-- `c = a + b` out again exactly one cycle after its last use, out of every cache; now the first blocks of a
-- cycle come back after a few ops, and the median after a cycle, as before.)
local function sweep()
  if sweeping then return end
  sweeping, swept_cycles, owned_since_sweep = true, cycles, 0
  local count = 0
  for slot = 1, capacity do
    if boxes[slot] == nil then
      boxes[slot] = false
      dead[count] = slot
      count = count + 1
    end
  end
  for first = 0, count - 1, BATCH do free_dead(first, math.min(BATCH, count - first)) end
  for i = count - 1, 0, -1 do
    free_count = free_count + 1
    free_slots[free_count] = dead[i]
  end
  set_threshold(0)
  set_threshold(1)
  sweeping = false
end

-- A fresh userdata per cycle: its finalizer runs once the cycle has cleared the weak table.
local function watch_cycle()
  local sentinel = newproxy(true)
  getmetatable(sentinel).__gc = function()
    cycles = cycles + 1
    -- level 2 is what ran the collector: collectgarbage itself when the user asked for it
    local caller = debug.getinfo(2, 'f')
    if not collecting and caller and caller.func == collectgarbage then sweep() end
    watch_cycle()
  end
end
watch_cycle()

local function collect()
  collecting = true
  collectgarbage('collect')
  collecting = false
  -- (less this module's slot tables, 16 bytes a slot: they grow with the tensors made between two
  -- collections, which the heap's share of the threshold decides, and the threshold would feed on itself)
  heap_bytes = collectgarbage('count') * 1024 - 16 * capacity
  sweep()
  sweep_budget = math.max(32768, heap_bytes / 128) -- one tensor per 128 bytes of live heap
end

-- Takes ownership of a new C tensor; returns the box to keep (the tensor lives as long as it).
function M.own(ptr)
  if cycles ~= swept_cycles then sweep() end
  owned_since_sweep = owned_since_sweep + 1
  if owned_since_sweep > sweep_budget then collect() end
  local slot = free_slots[free_count]
  free_count = free_count - 1
  if free_count == 0 then add_capacity() end
  pointers[slot] = ptr
  boxes[slot] = ptr
  ptr.owner_slot = slot
  return ptr
end

-- True if no other tensor shares t's storage. A CPU tensor made by an op holds two references to its storage:
-- its own, and its header's (the header lives in the storage's memory block).
function M.sole_owner(t)
  local c = t._c
  local s = c.storage
  return s.refcount == (c.home == s and 2 or 1)
end

-- Frees tensor t now (see the top of the file). The caller guarantees that nothing else can reach t and that
-- no view shares its storage. t loses its header (_c), so that a use of it, should one ever happen, raises an
-- error (core's getter of _c) instead of reading freed memory. False, with nothing done, if this module does
-- not own t's header.
function M.release(t)
  local box = rawget(t, '_c')
  local slot = box.owner_slot
  if slot < 1 or slot > capacity or pointers[slot] ~= box then return false end
  C.tn_tensor_free(box)
  rawset(t, '_c', nil)
  -- the slot is free at once: the box, now garbage, is no longer what boxes[slot] refers to
  pointers[slot], boxes[slot] = nil, false
  free_count = free_count + 1
  free_slots[free_count] = slot
  return true
end

function M.after_alloc(device_type)
  if tonumber(live_bytes(device_type)) > threshold[device_type] then collect() end
end

-- Sets the floor of a device type's garbage budget (0: the CPU, 1: CUDA); M.minimum(device_type) reads it.
function M.set_minimum(device_type, bytes)
  minimum[device_type] = bytes
  set_threshold(device_type)
end
function M.minimum(device_type) return minimum[device_type] end

function M.live(device_type)
  if cycles ~= swept_cycles then sweep() end
  return tonumber(live_bytes(device_type or 0))
end
function M.peak(device_type) return tonumber(C.tn_memory_peak_bytes(device_type or 0)) end
function M.reset_peak(device_type) C.tn_memory_reset_peak(device_type or 0) end

return M
