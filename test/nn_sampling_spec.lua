-- F.grid_sample and F.affine_grid against PyTorch: every mode, padding mode and align_corners setting on 4-d and
-- 5-d inputs, with grids reaching past [-1, 1] so that every padding rule is exercised; outputs and the
-- gradients of the input and the grid (theta for affine_grid), in float64 and float32. Then the errors.
local torch = require 'tensor'
local F = require('tensor.nn').F
local cases = require('helpers.cases').new()
local message = require 'helpers.failure'

torch.manual_seed(2024)

local TOL = { float64 = { atol = 1e-9, rtol = 1e-9 }, float32 = { atol = 2e-4, rtol = 2e-4 } }

-- ours: y and the gradients of sum(y * y) for input and grid (the grid's omitted for 'nearest')
local function sample(mode, padding_mode, align_corners)
  return function(t)
    local x, g = t.x:clone():requires_grad_(), t.g:clone():requires_grad_()
    local y = F.grid_sample(x, g, { mode = mode, padding_mode = padding_mode, align_corners = align_corners })
    y:mul(y):sum():backward()
    if mode == 'nearest' then return { y:detach(), x.grad } end
    return { y:detach(), x.grad, g.grad }
  end
end

local function python(mode, padding_mode, align_corners)
  return ([[
import torch.nn.functional as F
x.requires_grad_(); g.requires_grad_()
y = F.grid_sample(x, g, mode='%s', padding_mode='%s', align_corners=%s)
(y * y).sum().backward()
out = [y, x.grad] if '%s' == 'nearest' else [y, x.grad, g.grad]
]]):format(mode, padding_mode, align_corners and 'True' or 'False', mode)
end

for _, dtype in ipairs({ 'float64', 'float32' }) do
  local inputs4 = { x = torch.randn(2, 3, 5, 6, { dtype = dtype }),
                    g = torch.rand(2, 4, 3, 2, { dtype = dtype }) * 2.6 - 1.3 }
  local inputs5 = { x = torch.randn(2, 2, 3, 4, 5, { dtype = dtype }),
                    g = torch.rand(2, 2, 3, 4, 3, { dtype = dtype }) * 2.6 - 1.3 }
  for _, padding_mode in ipairs({ 'zeros', 'border', 'reflection' }) do
    for _, align_corners in ipairs({ false, true }) do
      for _, mode in ipairs({ 'bilinear', 'nearest', 'bicubic' }) do
        cases:add(('grid_sample 4-d %s, %s, align_corners=%s, %s'):format(mode, padding_mode, tostring(align_corners),
                                                                          dtype),
                  sample(mode, padding_mode, align_corners), python(mode, padding_mode, align_corners), inputs4,
                  TOL[dtype])
      end
      for _, mode in ipairs({ 'bilinear', 'nearest' }) do
        cases:add(('grid_sample 5-d %s, %s, align_corners=%s, %s'):format(mode, padding_mode, tostring(align_corners),
                                                                          dtype),
                  sample(mode, padding_mode, align_corners), python(mode, padding_mode, align_corners), inputs5,
                  TOL[dtype])
      end
    end
  end
  -- a grid on the pixel centres and corners exactly (the ends of the clip and of the reflection)
  local exact = torch.tensor({ -1, -0.5, 0, 0.5, 1 }, { dtype = dtype })
  local grid = torch.stack({ exact:reshape(1, 5):expand(5, 5), exact:reshape(5, 1):expand(5, 5) }, 3):unsqueeze(1)
  for _, padding_mode in ipairs({ 'border', 'reflection' }) do
    cases:add('grid_sample on the grid of -1, -0.5, 0, 0.5, 1, ' .. padding_mode .. ', ' .. dtype,
              sample('bilinear', padding_mode, true), python('bilinear', padding_mode, true),
              { x = torch.randn(1, 2, 3, 5, { dtype = dtype }), g = grid }, TOL[dtype])
  end
  for _, align_corners in ipairs({ false, true }) do
    for _, size in ipairs({ { 2, 3, 4, 5 }, { 2, 1, 3, 4, 2 }, { 1, 1, 1, 3 } }) do
      local n = #size - 2
      cases:add(('affine_grid %s, align_corners=%s, %s'):format(table.concat(size, 'x'), tostring(align_corners), dtype),
                function(t)
                  local theta = t.theta:clone():requires_grad_()
                  local grid_out = F.affine_grid(theta, size, align_corners)
                  grid_out:pow(2):sum():backward()
                  return { grid_out:detach(), theta.grad }
                end, ([[
import torch.nn.functional as F, warnings
warnings.filterwarnings('ignore') # (1.13 warns of its unit-size grids with align_corners)
theta.requires_grad_()
grid = F.affine_grid(theta, (%s), align_corners=%s)
grid.pow(2).sum().backward()
out = [grid, theta.grad]
]]):format(table.concat(size, ', '), align_corners and 'True' or 'False'),
                { theta = torch.randn(size[1], n, n + 1, { dtype = dtype }) }, TOL[dtype])
    end
  end
end
cases:add('a spatial transformer: grid_sample of affine_grid, the gradient reaching theta', function(t)
  local theta = t.theta:clone():requires_grad_()
  local y = F.grid_sample(t.x, F.affine_grid(theta, { 2, 3, 4, 4 }), { padding_mode = 'border' })
  y:sum():backward()
  return { y:detach(), theta.grad }
end, [[
import torch.nn.functional as F
theta.requires_grad_()
y = F.grid_sample(x, F.affine_grid(theta, (2, 3, 4, 4), align_corners=False), padding_mode='border', align_corners=False)
y.sum().backward()
out = [y, theta.grad]
]], { x = torch.randn(2, 3, 6, 5, { dtype = 'float64' }), theta = torch.randn(2, 2, 3, { dtype = 'float64' }) * 0.5 },
  TOL.float64)
cases:describe('grid_sample and affine_grid match PyTorch')

describe('grid_sample and affine_grid refuse bad input', function()
  local x, g = torch.randn(1, 2, 4, 4), torch.rand(1, 3, 3, 2)
  local fails = require('helpers.failure').containing
  it('names the function and the shapes or values', function()
    fails(function() F.grid_sample(x, g, 'cubic') end, 'F.grid_sample', 'cubic')
    fails(function() F.grid_sample(x, g, 'bilinear', 'wrap') end, 'F.grid_sample', 'wrap')
    fails(function() F.grid_sample(torch.randn(2, 4, 4), g) end, 'F.grid_sample', '[2 x 4 x 4]')
    fails(function() F.grid_sample(x, torch.rand(1, 3, 3, 3)) end, 'F.grid_sample', '[1 x 3 x 3 x 3]')
    fails(function() F.grid_sample(x, torch.rand(2, 3, 3, 2)) end, 'F.grid_sample', '[2 x 3 x 3 x 2]')
    fails(function() F.grid_sample(x, g:double()) end, 'F.grid_sample', 'float64')
    fails(function() F.grid_sample(torch.randn(1, 1, 2, 2, 2), torch.rand(1, 1, 1, 1, 3), 'bicubic') end,
          'F.grid_sample', 'bicubic')
    fails(function() F.grid_sample(x, g, { mode = 'nearest', align = true }) end, 'F.grid_sample', 'align')
    fails(function() F.affine_grid(torch.randn(1, 2, 3), { 1, 2, 3 }) end, 'F.affine_grid', 'size')
    fails(function() F.affine_grid(torch.randn(2, 2, 3), { 1, 2, 3, 3 }) end, 'F.affine_grid', '[2 x 2 x 3]')
    fails(function() F.affine_grid(torch.randn(1, 2, 3), { 1, 2, 3, 3, 3 }) end, 'F.affine_grid', '[1 x 3 x 4]')
  end)
  it('samples an empty grid to an empty result', function()
    local y = F.grid_sample(x, torch.rand(1, 0, 3, 2))
    assert.are.same({ 1, 2, 0, 3 }, y:shape())
  end)
end)
