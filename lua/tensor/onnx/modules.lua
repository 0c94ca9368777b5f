-- tensor.onnx.modules: modules exported whole, as the ONNX operator made for them, instead of op by op.
--
-- nn.LSTM, nn.GRU and nn.RNN become one ONNX LSTM / GRU / RNN node per layer (both directions in one node), with
-- their weights rearranged into ONNX's layout: W [directions x gates*H x input], R [directions x gates*H x H] and
-- B [directions x 2*gates*H] (the input biases, then the recurrent ones), and the gate blocks reordered from
-- PyTorch's order (LSTM: input, forget, cell, output; GRU: reset, update, new) to ONNX's (LSTM: input, output,
-- forget, cell; GRU: update, reset, hidden). GRU uses linear_before_reset=1, which is PyTorch's formula. Missing
-- initial states are left out of the node (ONNX then starts from zeros, whatever the batch size).
local core = require 'tensor.core'
local graph = require 'tensor.onnx.graph'
local ops = require 'tensor.onnx.ops'

local A = graph.A
local is_tensor = core.is_tensor

local M = {}

-- ONNX gate block k (1-based) takes PyTorch's block ORDER[k].
local ORDER = { LSTM = { 1, 4, 2, 3 }, GRU = { 2, 1, 3 }, RNN_TANH = { 1 }, RNN_RELU = { 1 } }
local OP = { LSTM = 'LSTM', GRU = 'GRU', RNN_TANH = 'RNN', RNN_RELU = 'RNN' }

-- The rows of w ([gates*H x ...] or [gates*H]) with the gate blocks in ONNX's order.
local function reorder(w, mode, H)
  local torch = core.torch
  local blocks = {}
  for k, src in ipairs(ORDER[mode]) do blocks[k] = w:narrow(1, (src - 1) * H + 1, H) end
  return torch.cat(blocks, 1)
end

local function recurrent(g, ev)
  local torch = core.torch
  local m = ev.module
  local x, hx = ev.args[1], ev.args[2]
  local mode, H = m.mode, m.hidden_size
  local dirs = m.bidirectional and 2 or 1
  local dt = x:dtype()
  local unbatched = x:dim() == 2
  local xv = g:val(x)
  if unbatched then
    xv = g:node('Unsqueeze', { xv, g:ints({ 1 }) })
  elseif m.batch_first then
    xv = ops.transpose(g, xv, { 1, 0, 2 })
  end
  local h0, c0
  if hx ~= nil then
    if mode == 'LSTM' then h0, c0 = hx[1], hx[2] else h0 = hx end
    h0 = g:val(h0, dt)
    if c0 ~= nil then c0 = g:val(c0, dt) end
    if unbatched then
      h0 = g:node('Unsqueeze', { h0, g:ints({ 1 }) })
      if c0 then c0 = g:node('Unsqueeze', { c0, g:ints({ 1 }) }) end
    end
  end
  local hs, cs = {}, {}
  local layer_input = xv
  for layer = 0, m.num_layers - 1 do
    local W, R, B = {}, {}, {}
    for dir = 0, dirs - 1 do
      local suffix = 'l' .. layer .. (dir == 1 and '_reverse' or '')
      local w_ih, w_hh = m['weight_ih_' .. suffix], m['weight_hh_' .. suffix]
      W[dir + 1] = reorder(w_ih:detach(), mode, H)
      R[dir + 1] = reorder(w_hh:detach(), mode, H)
      if m.bias then
        B[dir + 1] = torch.cat({ reorder(m['bias_ih_' .. suffix]:detach(), mode, H),
                                 reorder(m['bias_hh_' .. suffix]:detach(), mode, H) }, 1)
      end
    end
    local prefix = (ev.path ~= '' and (ev.path .. '.') or '') .. 'onnx_'
    local inputs = { layer_input, g:initializer(prefix .. 'W_l' .. layer, torch.stack(W, 1):to(dt)),
                     g:initializer(prefix .. 'R_l' .. layer, torch.stack(R, 1):to(dt)),
                     m.bias and g:initializer(prefix .. 'B_l' .. layer, torch.stack(B, 1):to(dt)) or '', '' }
    local function slice(v)
      return g:node('Slice', { v, g:ints({ layer * dirs }), g:ints({ (layer + 1) * dirs }), g:ints({ 0 }) })
    end
    inputs[6] = h0 and slice(h0) or ''
    if mode == 'LSTM' then inputs[7] = c0 and slice(c0) or '' end
    while inputs[#inputs] == '' do inputs[#inputs] = nil end
    local attrs = { hidden_size = A.i(H), direction = A.s(dirs == 2 and 'bidirectional' or 'forward') }
    if mode == 'GRU' then attrs.linear_before_reset = A.i(1) end
    if mode == 'RNN_TANH' or mode == 'RNN_RELU' then
      local act = mode == 'RNN_TANH' and 'Tanh' or 'Relu'
      attrs.activations = A.strings(dirs == 2 and { act, act } or { act })
    end
    local y, yh, yc = g:node(OP[mode], inputs, attrs, mode == 'LSTM' and 3 or 2)
    -- Y [L x dirs x N x H] -> [L x N x dirs*H]
    y = ops.transpose(g, y, { 0, 2, 1, 3 })
    layer_input = g:node('Reshape', { y, g:ints({ 0, 0, dirs * H }) })
    hs[#hs + 1], cs[#cs + 1] = yh, yc
  end
  local out = layer_input
  local h_n = #hs == 1 and hs[1] or g:node('Concat', hs, { axis = A.i(0) })
  local c_n = mode == 'LSTM' and (#cs == 1 and cs[1] or g:node('Concat', cs, { axis = A.i(0) })) or nil
  if unbatched then
    out = g:node('Squeeze', { out, g:ints({ 1 }) })
    h_n = g:node('Squeeze', { h_n, g:ints({ 1 }) })
    if c_n then c_n = g:node('Squeeze', { c_n, g:ints({ 1 }) }) end
  elseif m.batch_first then
    out = ops.transpose(g, out, { 1, 0, 2 })
  end
  if mode == 'LSTM' then return { out, h_n, c_n } end
  return { out, h_n }
end

-- The module exporters, by module type name.
M.exporters = { LSTM = recurrent, GRU = recurrent, RNN = recurrent }

return M
