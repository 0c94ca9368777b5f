-- Core tensor workloads (issue 2): creating small tensors, views, element indexing, and the copy
-- bandwidth of 10^7 float32 beside memcpy. See bench/README.md for the fields of an entry.
--
-- Element reads in Lua feed an accumulator and vary the index, so that the JIT compiler can neither drop
-- nor hoist them out of the loop; the PyTorch side does the cheapest equivalent (`x[k]`, a 0-d tensor).
return {
  { name = 'torch.empty(16)', group = 'create',
    lua = 'local y = torch.empty(16)',
    py = 'y = torch.empty(16)' },

  { name = 'torch.zeros(4, 4)', group = 'create',
    lua = 'local y = torch.zeros(4, 4)',
    py = 'y = torch.zeros(4, 4)' },

  { name = 'x:view(4, 4)', group = 'view',
    setup = 'local x = torch.empty(16)',
    lua = 'local y = x:view(4, 4)',
    py_setup = 'x = torch.empty(16)',
    py = 'y = x.view(4, 4)' },

  { name = 'x:narrow(1, 2, 8)', group = 'view',
    setup = 'local x = torch.empty(16)',
    lua = 'local y = x:narrow(1, 2, 8)',
    py_setup = 'x = torch.empty(16)',
    py = 'y = x.narrow(0, 1, 8)' },

  { name = 'x:t()', group = 'view',
    setup = 'local x = torch.empty(4, 4)',
    lua = 'local y = x:t()',
    py_setup = 'x = torch.empty(4, 4)',
    py = 'y = x.t()' },

  { name = 'x[i] read, 1-d', group = 'index',
    setup = 'local x = torch.randn(100); local s = 0',
    lua = 's = s + x[i % 100 + 1]',
    py_setup = 'x = torch.randn(100)',
    py = 'v = x[i % 100]' },

  { name = 'x[{i, j}] read, 2-d', group = 'index',
    setup = 'local x = torch.randn(10, 10); local s = 0',
    lua = 's = s + x[{i % 10 + 1, 3}]',
    py_setup = 'x = torch.randn(10, 10)',
    py = 'v = x[i % 10, 2]' },

  { name = 'x[i] = v write, 1-d', group = 'index',
    setup = 'local x = torch.zeros(100)',
    lua = 'x[i % 100 + 1] = i',
    py_setup = 'x = torch.zeros(100)',
    py = 'x[i % 100] = i' },

  { name = 'memcpy 4e7 bytes (ffi.copy)', group = 'copy', short = 'memcpy',
    setup = [[
local n = 10000000
local src, dst = torch.randn(n), torch.zeros(n)
local s, d = src:data_ptr(), dst:data_ptr()]],
    lua = 'ffi.copy(d, s, 4 * n)',
    bytes = 4e7 },

  { name = 'y:copy_(x), 10^7 float32', group = 'copy',
    setup = 'local x, y = torch.randn(10000000), torch.zeros(10000000)',
    lua = 'y:copy_(x)',
    py_setup = 'x, y = torch.randn(10000000), torch.zeros(10000000)',
    py = 'y.copy_(x)',
    bytes = 4e7, baseline = 'memcpy 4e7 bytes (ffi.copy)' },

  { name = 'x:clone(), 10^7 float32', group = 'copy',
    setup = 'local x = torch.randn(10000000)',
    lua = 'local y = x:clone()',
    py_setup = 'x = torch.randn(10000000)',
    py = 'y = x.clone()',
    bytes = 4e7, baseline = 'memcpy 4e7 bytes (ffi.copy)' },
}
