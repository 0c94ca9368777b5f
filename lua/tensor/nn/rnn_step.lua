-- tensor.nn.rnn_step: one time step of an RNN, LSTM or GRU cell, shared by the sequence layers (nn.RNN, nn.LSTM,
-- nn.GRU) and the single cells (nn.RNNCell, nn.LSTMCell, nn.GRUCell).
local torch = require 'tensor'

local M = {}

-- gates per cell kind: RNN 1, LSTM 4 (input, forget, cell, output), GRU 3 (reset, update, new)
M.GATES = { RNN_TANH = 1, RNN_RELU = 1, LSTM = 4, GRU = 3 }

-- The gates of a step as one differentiable operation: the backward joins the pieces' gradients with one cat.
-- (Taking the pieces one by one with narrow would make each piece's backward write a zero tensor of the whole
-- input's size.)
local Chunk = torch.autograd.Function { name = 'RNNChunk',
  forward = function(ctx, x, n) return unpack(x:chunk(n, 2)) end,
  backward = function(ctx, ...) return torch.cat({ ... }, 2) end }

-- The next state of a cell of kind `mode` from gx, the input's projection [N x gates*H] (with both biases,
-- except GRU's b_hh), hproj, the state's projection h W_hh' (with GRU's b_hh), and the state h (and LSTM's c).
-- Returns h (and c).
function M.step(mode, gx, hproj, h, c)
  if mode == 'LSTM' then
    local i, f, g, o = Chunk.apply(gx + hproj, 4)
    c = f:sigmoid() * c + i:sigmoid() * g:tanh()
    return o:sigmoid() * c:tanh(), c
  elseif mode == 'GRU' then
    local xr, xz, xn = Chunk.apply(gx, 3)
    local hr, hz, hn = Chunk.apply(hproj, 3)
    local r = (xr + hr):sigmoid()
    local z = (xz + hz):sigmoid()
    local n = (xn + r * hn):tanh()
    return n + z * (h - n)
  elseif mode == 'RNN_TANH' then
    return (gx + hproj):tanh()
  end
  return (gx + hproj):relu()
end

return M
