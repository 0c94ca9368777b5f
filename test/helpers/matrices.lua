-- helpers.matrices: the inputs and tolerances of the linear-algebra specs.
local torch = require 'tensor'

local M = {}

-- Tolerances for factorisations of well-conditioned n x n matrices: `factor` ulps of the dtype per row.
function M.tol(dtype, n, factor)
  local eps = dtype == 'float64' and 2.2e-16 or 1.2e-7
  n = math.max(n or 1, 1)
  return { atol = factor * eps * n, rtol = factor * eps * n }
end

-- Well-conditioned random matrices (of any shape): randn plus min(rows, columns) on the diagonal, so that
-- partial pivoting meets no ties.
function M.wellcond(size, dtype)
  local n = math.min(size[#size], size[#size - 1])
  local a = torch.randn(size, { dtype = dtype })
  return a + torch.eye(size[#size - 1], size[#size], { dtype = dtype }) * n
end

-- Symmetric positive definite random matrices: a a' + n I.
function M.spd(size, dtype)
  local n = size[#size]
  local a = torch.randn(size, { dtype = dtype })
  return a:matmul(a:transpose(-2, -1)) + torch.eye(n, { dtype = dtype }) * n
end

return M
