-- Indexing, ordering and joining workloads (issue 3, item 4): cat, index_select, gather, scatter/index_add,
-- masked_select, sort, topk, and the per-op overhead of a small index_select. See bench/README.md for the
-- fields of an entry. Index tensors are 1-based on the tensor side and 0-based on the PyTorch side; both
-- hold the same positions.
return {
  { name = 'cat 100 x [64 x 64] float32, dim 1', group = 'cat',
    setup = [[
local list = {}
for i = 1, 100 do list[i] = torch.randn(64, 64) end]],
    lua = 'local y = torch.cat(list, 1)',
    py_setup = 'lst = [torch.randn(64, 64) for i in range(100)]',
    py = 'y = torch.cat(lst, 0)',
    bytes = 2 * 100 * 64 * 64 * 4 },

  { name = 'cat 100 x [64 x 64] float32, dim 2', group = 'cat',
    setup = [[
local list = {}
for i = 1, 100 do list[i] = torch.randn(64, 64) end]],
    lua = 'local y = torch.cat(list, 2)',
    py_setup = 'lst = [torch.randn(64, 64) for i in range(100)]',
    py = 'y = torch.cat(lst, 1)',
    bytes = 2 * 100 * 64 * 64 * 4 },

  { name = 'cat 2 x [1000 x 1000] float32, dim 2', group = 'cat',
    setup = 'local a, b = torch.randn(1000, 1000), torch.randn(1000, 1000)',
    lua = 'local y = torch.cat({ a, b }, 2)',
    py_setup = 'a, b = torch.randn(1000, 1000), torch.randn(1000, 1000)',
    py = 'y = torch.cat([a, b], 1)',
    bytes = 2 * 2e6 * 4 },

  { name = 'cat 4 x [16] float32 (overhead)', group = 'cat',
    setup = 'local l = { torch.randn(16), torch.randn(16), torch.randn(16), torch.randn(16) }',
    lua = 'local y = torch.cat(l)',
    py_setup = 'l = [torch.randn(16) for i in range(4)]',
    py = 'y = torch.cat(l)' },

  { name = 'torch.stack 64 x [256] float32', group = 'cat',
    setup = [[
local list = {}
for i = 1, 64 do list[i] = torch.randn(256) end]],
    lua = 'local y = torch.stack(list)',
    py_setup = 'lst = [torch.randn(256) for i in range(64)]',
    py = 'y = torch.stack(lst)' },

  { name = 'index_select rows [10^4 x 128] float32, 4096 indices', group = 'index',
    setup = 'local x, idx = torch.randn(10000, 128), torch.randint(1, 10001, { 4096 })',
    lua = 'local y = x:index_select(1, idx)',
    py_setup = 'x, idx = torch.randn(10000, 128), torch.randint(0, 10000, (4096,))',
    py = 'y = x.index_select(0, idx)',
    bytes = 2 * 4096 * 128 * 4 },

  { name = 'index_select columns [1000 x 1000] float32, 500 indices', group = 'index',
    setup = 'local x, idx = torch.randn(1000, 1000), torch.randint(1, 1001, { 500 })',
    lua = 'local y = x:index_select(2, idx)',
    py_setup = 'x, idx = torch.randn(1000, 1000), torch.randint(0, 1000, (500,))',
    py = 'y = x.index_select(1, idx)' },

  { name = 'index_select [16] float32, 4 indices (overhead)', group = 'index',
    setup = 'local x, idx = torch.randn(16), torch.tensor({ 2, 4, 6, 8 })',
    lua = 'local y = x:index_select(1, idx)',
    py_setup = 'x, idx = torch.randn(16), torch.tensor([1, 3, 5, 7])',
    py = 'y = x.index_select(0, idx)' },

  { name = 'gather dim 2 [1000 x 1000] float32, [1000 x 100] index', group = 'index',
    setup = 'local x, idx = torch.randn(1000, 1000), torch.randint(1, 1001, { 1000, 100 })',
    lua = 'local y = x:gather(2, idx)',
    py_setup = 'x, idx = torch.randn(1000, 1000), torch.randint(0, 1000, (1000, 100))',
    py = 'y = x.gather(1, idx)' },

  { name = 'gather dim 1 [1000 x 1000] float32, [100 x 1000] index', group = 'index',
    setup = 'local x, idx = torch.randn(1000, 1000), torch.randint(1, 1001, { 100, 1000 })',
    lua = 'local y = x:gather(1, idx)',
    py_setup = 'x, idx = torch.randn(1000, 1000), torch.randint(0, 1000, (100, 1000))',
    py = 'y = x.gather(0, idx)' },

  { name = 'scatter_add_ dim 2 [1000 x 1000] float32, [1000 x 1000] index', group = 'index',
    setup = [[
local x, idx, src = torch.zeros(1000, 1000), torch.randint(1, 1001, { 1000, 1000 }), torch.randn(1000, 1000)]],
    lua = 'x:scatter_add_(2, idx, src)',
    py_setup = 'x, idx, src = torch.zeros(1000, 1000), torch.randint(0, 1000, (1000, 1000)), torch.randn(1000, 1000)',
    py = 'x.scatter_add_(1, idx, src)' },

  { name = 'index_add_ rows [10^4 x 128] float32, 4096 indices', group = 'index',
    setup = 'local x, idx, src = torch.zeros(10000, 128), torch.randint(1, 10001, { 4096 }), torch.randn(4096, 128)',
    lua = 'x:index_add_(1, idx, src)',
    py_setup = 'x, idx, src = torch.zeros(10000, 128), torch.randint(0, 10000, (4096,)), torch.randn(4096, 128)',
    py = 'x.index_add_(0, idx, src)' },

  { name = 'masked_select 10^6 float32, half selected', group = 'index',
    setup = 'local x = torch.randn(1000, 1000); local m = x:gt(0)',
    lua = 'local y = x:masked_select(m)',
    py_setup = 'x = torch.randn(1000, 1000); m = x > 0',
    py = 'y = x.masked_select(m)' },

  { name = 'nonzero 10^6 bool, 10% set', group = 'index',
    setup = 'local m = torch.rand(1000, 1000):lt(0.1)',
    lua = 'local y = m:nonzero()',
    py_setup = 'm = torch.rand(1000, 1000) < 0.1',
    py = 'y = m.nonzero()' },

  { name = 'sort 10^6 float32', group = 'sort',
    setup = 'local x = torch.randn(1000000)',
    lua = 'local v, i = x:sort()',
    py_setup = 'x = torch.randn(1000000)',
    py = 'v, i = x.sort()',
    min_time = 0.5 },

  { name = 'sort 10^6 float32, stable on both sides', group = 'sort',
    setup = 'local x = torch.randn(1000000)',
    lua = 'local v, i = x:sort()',
    py_setup = 'x = torch.randn(1000000)',
    py = 'v, i = torch.sort(x, stable=True)',
    min_time = 0.5 },

  { name = 'sort 10^6 int64', group = 'sort',
    setup = 'local x = torch.randint(-1000000, 1000000, { 1000000 })',
    lua = 'local v, i = x:sort()',
    py_setup = 'x = torch.randint(-1000000, 1000000, (1000000,))',
    py = 'v, i = x.sort()',
    min_time = 0.5 },

  { name = 'sort [1000 x 1000] float32 along dim 2', group = 'sort',
    setup = 'local x = torch.randn(1000, 1000)',
    lua = 'local v, i = x:sort(2)',
    py_setup = 'x = torch.randn(1000, 1000)',
    py = 'v, i = x.sort(1)',
    min_time = 0.5 },

  { name = 'sort [10^4 x 32] float32 along dim 2', group = 'sort',
    setup = 'local x = torch.randn(10000, 32)',
    lua = 'local v, i = x:sort(2)',
    py_setup = 'x = torch.randn(10000, 32)',
    py = 'v, i = x.sort(1)' },

  { name = 'topk 10 of 10^6 float32', group = 'sort',
    setup = 'local x = torch.randn(1000000)',
    lua = 'local v, i = x:topk(10)',
    py_setup = 'x = torch.randn(1000000)',
    py = 'v, i = x.topk(10)' },

  { name = 'topk 100 of [1000 x 1000] float32 along dim 2', group = 'sort',
    setup = 'local x = torch.randn(1000, 1000)',
    lua = 'local v, i = x:topk(100, 2)',
    py_setup = 'x = torch.randn(1000, 1000)',
    py = 'v, i = x.topk(100, 1)' },

  { name = 'topk 5 of [256 x 1000] float32 (classifier outputs)', group = 'sort',
    setup = 'local x = torch.randn(256, 1000)',
    lua = 'local v, i = x:topk(5, 2)',
    py_setup = 'x = torch.randn(256, 1000)',
    py = 'v, i = x.topk(5, 1)' },

  { name = 'unique 10^6 int64 (1000 values)', group = 'sort',
    setup = 'local x = torch.randint(0, 1000, { 1000000 })',
    lua = 'local v = x:unique()',
    py_setup = 'x = torch.randint(0, 1000, (1000000,))',
    py = 'v = x.unique()',
    min_time = 0.5 },

  { name = 'flip [1000 x 1000] float32 dim 2', group = 'reorder',
    setup = 'local x = torch.randn(1000, 1000)',
    lua = 'local y = x:flip(2)',
    py_setup = 'x = torch.randn(1000, 1000)',
    py = 'y = x.flip(1)',
    bytes = 8e6 },

  { name = 'tril [1000 x 1000] float32', group = 'reorder',
    setup = 'local x = torch.randn(1000, 1000)',
    lua = 'local y = x:tril()',
    py_setup = 'x = torch.randn(1000, 1000)',
    py = 'y = x.tril()',
    bytes = 8e6 },

  { name = 'repeatTensor [256 x 256] float32 (4, 4)', group = 'reorder',
    setup = 'local x = torch.randn(256, 256)',
    lua = 'local y = x:repeatTensor(4, 4)',
    py_setup = 'x = torch.randn(256, 256)',
    py = 'y = x.repeat(4, 4)',
    bytes = 17 * 256 * 256 * 4 },
}
