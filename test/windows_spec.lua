-- The signal windows (tensor.windows) against PyTorch's: periodic and symmetric, the lengths 0, 1 and 2, dtypes,
-- the Hamming and Kaiser parameters; their errors.
local torch = require 'tensor'
local message = require 'helpers.failure'

local cases = require('helpers.cases').new()

for _, name in ipairs({ 'hann_window', 'hamming_window', 'blackman_window', 'bartlett_window', 'kaiser_window' }) do
  for _, n in ipairs({ 0, 1, 2, 7, 64 }) do
    cases:add(string.format('%s(%d), periodic and symmetric', name, n), function()
      return { torch[name](n), torch[name](n, false), torch[name](n, true, { dtype = 'float64' }) }
    end, string.format('out = [torch.%s(%d), torch.%s(%d, periodic=False), torch.%s(%d, True, dtype=torch.float64)]',
                       name, n, name, n, name, n))
  end
end
cases:add('hamming_window with alpha and beta, kaiser_window with beta', function()
  return { torch.hamming_window(9, false, 0.5, 0.25), torch.hamming_window(9, { alpha = 0.6 }),
           torch.kaiser_window(9, false, 5.5, { dtype = 'float64' }), torch.kaiser_window(8, { beta = 0.5 }) }
end, 'out = [torch.hamming_window(9, False, 0.5, 0.25), torch.hamming_window(9, True, 0.6), ' ..
     'torch.kaiser_window(9, False, 5.5, dtype=torch.float64), torch.kaiser_window(8, True, 0.5)]')
cases:add('the default dtype and dtype names', function()
  return { torch.hann_window(4):dtype() == 'float32', torch.hann_window(4, { dtype = 'float64' }):dtype() == 'float64' }
end, 'out = [torch.hann_window(4).dtype == torch.float32, torch.hann_window(4, dtype=torch.float64).dtype == torch.float64]')
cases:describe('signal windows match PyTorch')

describe('signal windows', function()
  it('take requires_grad', function()
    assert.is_true(torch.hann_window(4, { requires_grad = true }).requires_grad)
  end)
  it('refuse bad arguments, naming the function', function()
    assert.matches('hann_window: window_length must be a non-negative integer, got -1',
                   message(function() return torch.hann_window(-1) end), 1, true)
    assert.matches('blackman_window: window_length must be a non-negative integer, got 2.5',
                   message(function() return torch.blackman_window(2.5) end), 1, true)
    assert.matches('bartlett_window: periodic must be a boolean, got number',
                   message(function() return torch.bartlett_window(4, 1) end), 1, true)
    assert.matches('kaiser_window: expects a floating dtype, got int64',
                   message(function() return torch.kaiser_window(4, { dtype = 'int64' }) end), 1, true)
    assert.matches('hamming_window: alpha and beta must be numbers, got string and number',
                   message(function() return torch.hamming_window(4, true, 'a') end), 1, true)
  end)
end)
