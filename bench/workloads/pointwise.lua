-- Element-wise workloads (issue 3): add/mul/exp on 10^3, 10^5 and 10^7 float32, a broadcast add, the per-op
-- overhead on a 16-element tensor, and a transposed (strided) input. See bench/README.md.
local rows = {}

local function add_row(name, size, lua, py, bytes)
  rows[#rows + 1] = {
    name = name, group = 'pointwise',
    setup = string.format('local a, b = torch.randn(%d), torch.randn(%d)', size, size),
    lua = lua,
    py_setup = string.format('a, b = torch.randn(%d), torch.randn(%d)', size, size),
    py = py,
    bytes = bytes,
    min_time = size >= 1e7 and 0.5 or nil,
  }
end

for _, n in ipairs({ 1000, 100000, 10000000 }) do
  local label = n == 1000 and '10^3' or n == 100000 and '10^5' or '10^7'
  add_row('a + b, ' .. label .. ' float32', n, 'local c = a + b', 'c = a + b', 12 * n)
  add_row('a * b, ' .. label .. ' float32', n, 'local c = a * b', 'c = a * b', 12 * n)
  add_row('a:exp(), ' .. label .. ' float32', n, 'local c = a:exp()', 'c = a.exp()', 8 * n)
end

rows[#rows + 1] = {
  name = 'a + b, 16 float32 (per-op overhead)', group = 'pointwise',
  setup = 'local a, b = torch.randn(16), torch.randn(16)',
  lua = 'local c = a + b',
  py_setup = 'a, b = torch.randn(16), torch.randn(16)',
  py = 'c = a + b',
}
rows[#rows + 1] = {
  name = 'a * 2 + 1, 16 float32 (two ops with numbers)', group = 'pointwise',
  setup = 'local a = torch.randn(16)',
  lua = 'local c = a * 2 + 1',
  py_setup = 'a = torch.randn(16)',
  py = 'c = a * 2 + 1',
}
rows[#rows + 1] = {
  name = 'a:add_(b), 16 float32 (in place)', group = 'pointwise',
  setup = 'local a, b = torch.randn(16), torch.randn(16)',
  lua = 'a:add_(b)',
  py_setup = 'a, b = torch.randn(16), torch.randn(16)',
  py = 'a.add_(b)',
}
rows[#rows + 1] = {
  name = 'broadcast add 1000x1000 + 1000', group = 'pointwise',
  setup = 'local a, b = torch.randn(1000, 1000), torch.randn(1000)',
  lua = 'local c = a + b',
  py_setup = 'a, b = torch.randn(1000, 1000), torch.randn(1000)',
  py = 'c = a + b',
  bytes = 8e6,
}
rows[#rows + 1] = {
  name = 'transposed add 1000x1000', group = 'pointwise',
  setup = 'local a, b = torch.randn(1000, 1000), torch.randn(1000, 1000)',
  lua = 'local c = a:t() + b',
  py_setup = 'a, b = torch.randn(1000, 1000), torch.randn(1000, 1000)',
  py = 'c = a.t() + b',
  bytes = 12e6,
}
rows[#rows + 1] = {
  name = 'a:tanh(), 10^5 float32', group = 'pointwise',
  setup = 'local a = torch.randn(100000)',
  lua = 'local c = a:tanh()',
  py_setup = 'a = torch.randn(100000)',
  py = 'c = a.tanh()',
  bytes = 8e5,
}
rows[#rows + 1] = {
  name = 'a:sigmoid(), 10^5 float32', group = 'pointwise',
  setup = 'local a = torch.randn(100000)',
  lua = 'local c = a:sigmoid()',
  py_setup = 'a = torch.randn(100000)',
  py = 'c = a.sigmoid()',
  bytes = 8e5,
}
rows[#rows + 1] = {
  name = 'a:gelu(), 10^5 float32', group = 'pointwise',
  setup = 'local a = torch.randn(100000)',
  lua = 'local c = a:gelu()',
  py_setup = 'a = torch.randn(100000); import torch.nn.functional as F',
  py = 'c = F.gelu(a)',
  bytes = 8e5,
}

return rows
