-- Autograd workloads (issue 4): the per-op overhead of recording and replaying the tape, as a chain of 1,000
-- small ops (x = x * 1.0001 + 0.001 on 16 elements) forward and backward, and a small MLP step.
return {
  { name = 'chain of 1000 ops on 16 floats, forward+backward', group = 'autograd',
    setup = 'local w = torch.randn(16, {requires_grad = true})',
    lua = [[
local h = w
for _ = 1, 500 do h = h * 1.0001 + 0.001 end
h:sum():backward()
w.grad = nil]],
    py_setup = 'w = torch.randn(16, requires_grad=True)',
    py = [[
h = w
for _ in range(500):
    h = h * 1.0001 + 0.001
h.sum().backward()
w.grad = None]] },

  { name = 'chain of 1000 ops on 16 floats, forward only (no grad)', group = 'autograd',
    setup = 'local w = torch.randn(16)',
    lua = [[
local h = w
for _ = 1, 500 do h = h * 1.0001 + 0.001 end]],
    py_setup = 'w = torch.randn(16)',
    py = [[
h = w
for _ in range(500):
    h = h * 1.0001 + 0.001]] },
}
