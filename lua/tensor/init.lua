-- tensor: NumPy-like tensors for LuaJIT, in the Torch tradition.
--   local torch = require 'tensor'
local core = require 'tensor.core'

require 'tensor.views'
require 'tensor.creation'
require 'tensor.windows'
require 'tensor.random'
require 'tensor.indexing'
require 'tensor.convert'
require 'tensor.type_info'
require 'tensor.pointwise'
require 'tensor.reduce'
require 'tensor.index_ops'    -- with tensor.sort_ops and tensor.join_ops
require 'tensor.linalg'
require 'tensor.linalg_solvers' -- lu, triangular, Cholesky and least-squares solvers, matrix_exp
require 'tensor.linalg_factor'  -- geqrf, householder_product, ormqr, LDL^T
require 'tensor.shape_ops'
require 'tensor.builders'
require 'tensor.compare'
require 'tensor.composite_ops'
require 'tensor.scans'
require 'tensor.statistics'
require 'tensor.lua_functions'
require 'tensor.spellings'     -- other names of the ops above, so it comes after them
require 'tensor.print'
require 'tensor.system'
require 'tensor.serialization'


-- Autograd wraps the ops loaded above with their differentiable versions, so it comes last.
require 'tensor.autograd'

return core.torch
