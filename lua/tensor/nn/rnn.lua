-- tensor.nn.rnn: RNN, LSTM and GRU (multi-layer, bidirectional, batch_first), with PyTorch's parameter names,
-- shapes, gate orders and initialisation, so PyTorch state dicts load unchanged. Each layer projects the
-- whole input sequence with one matrix product, then runs the recurrence step by step.
local torch = require 'tensor'
local common = require 'tensor.nn.common'
local F = require 'tensor.nn.functional'
local init = require 'tensor.nn.initializers'
local rnn_step = require 'tensor.nn.rnn_step'

-- The steps of a sequence as one differentiable operation: the backward joins the pieces' gradients with one
-- stack. (Taking the steps one by one with select would make each one's backward write a zero tensor of the
-- whole input's size: quadratic in the sequence length.)
local Unbind = torch.autograd.Function { name = 'RNNUnbind',
  forward = function(ctx, x) return unpack(x:unbind(1)) end,
  backward = function(ctx, ...) return torch.stack({ ... }, 1) end }

return function(nn)
  local Module = nn.Module

  local GATES, step = rnn_step.GATES, rnn_step.step

  local function define(name, mode_of)
    local class = Module:extend(name)
    nn[name] = class

    function class:init(input_size, hidden_size, ...)
      -- positional options as in PyTorch (RNN alone takes a nonlinearity), or one table
      local names = name == 'RNN' and { 'num_layers', 'nonlinearity', 'bias', 'batch_first', 'dropout', 'bidirectional' }
        or { 'num_layers', 'bias', 'batch_first', 'dropout', 'bidirectional', name == 'LSTM' and 'proj_size' or nil }
      local opts = common.options(name, names, ...)
      if (opts.proj_size or 0) ~= 0 then
        error(string.format('%s: proj_size (projected hidden states) is not supported, got %s', name,
                            tostring(opts.proj_size)), 3)
      end
      common.positive_int(name, 'input_size', input_size)
      common.positive_int(name, 'hidden_size', hidden_size)
      self.input_size, self.hidden_size = input_size, hidden_size
      self.num_layers = opts.num_layers or 1
      common.positive_int(name, 'num_layers', self.num_layers)
      self.mode = mode_of(opts)
      self.nonlinearity = opts.nonlinearity or 'tanh'
      if name == 'RNN' and self.nonlinearity ~= 'tanh' and self.nonlinearity ~= 'relu' then
        error(string.format("RNN: nonlinearity must be 'tanh' or 'relu', got %s", tostring(self.nonlinearity)), 3)
      end
      self.bias, self.batch_first = opts.bias ~= false, opts.batch_first == true
      self.dropout, self.bidirectional = opts.dropout or 0, opts.bidirectional == true
      if type(self.dropout) ~= 'number' or self.dropout < 0 or self.dropout > 1 then
        error(string.format('%s: dropout must be a probability, got %s', name, tostring(self.dropout)), 3)
      end
      local gate = GATES[self.mode] * hidden_size
      local directions = self.bidirectional and 2 or 1
      for layer = 0, self.num_layers - 1 do
        local layer_input = layer == 0 and input_size or hidden_size * directions
        for dir = 0, directions - 1 do
          local suffix = 'l' .. layer .. (dir == 1 and '_reverse' or '')
          self['weight_ih_' .. suffix] = common.parameter({ gate, layer_input }, opts)
          self['weight_hh_' .. suffix] = common.parameter({ gate, hidden_size }, opts)
          if self.bias then
            self['bias_ih_' .. suffix] = common.parameter({ gate }, opts)
            self['bias_hh_' .. suffix] = common.parameter({ gate }, opts)
          end
        end
      end
      self:reset_parameters()
    end

    function class:reset_parameters()
      local bound = 1 / math.sqrt(self.hidden_size)
      for _, p in ipairs(self:parameters()) do init.uniform_(p, -bound, bound) end
    end

    -- One direction of one layer over a [L x N x in] sequence; returns the [L x N x H] outputs and the last
    -- state (h, or {h, c} for LSTM).
    function class:_run(x, suffix, h, c, reverse)
      local w_ih, w_hh = self['weight_ih_' .. suffix], self['weight_hh_' .. suffix]
      local b_ih, b_hh = self['bias_ih_' .. suffix], self['bias_hh_' .. suffix]
      local L, N = x:size(1), x:size(2)
      local mode = self.mode
      -- the input projection of every step in one product; outside GRU (whose new gate scales W_hn h + b_hn by
      -- the reset gate) the recurrent bias joins it there too
      local bias = b_ih
      if b_hh ~= nil and mode ~= 'GRU' then bias, b_hh = b_ih + b_hh, nil end
      local xproj = F.linear(x:reshape(L * N, x:size(3)), w_ih, bias):view(L, N, -1)
      local steps = { Unbind.apply(xproj) }
      local w_hh_t = w_hh:t()
      local outputs = {}
      for k = 1, L do
        local t = reverse and (L - k + 1) or k
        local hproj = h:matmul(w_hh_t)
        if b_hh ~= nil then hproj = hproj + b_hh end
        h, c = step(mode, steps[t], hproj, h, c)
        outputs[t] = h
      end
      return torch.stack(outputs, 1), h, c
    end

    -- forward(input, hx): input [L x N x in] ([N x L x in] with batch_first, or unbatched [L x in]);
    -- hx: h0 [layers*directions x N x H] (LSTM: {h0, c0}). Returns output, h_n (LSTM: output, {h_n, c_n}).
    function class:forward(x, hx)
      local nd = x:dim()
      if nd ~= 2 and nd ~= 3 then
        common.fail(self, 'expected a 2-d (unbatched) or 3-d input, got %s', common.shape(x))
      end
      if x:size(-1) ~= self.input_size then
        common.fail(self, 'expected input_size %d in the last dim, got %s', self.input_size, common.shape(x))
      end
      local unbatched = nd == 2
      if unbatched then x = x:unsqueeze(2) elseif self.batch_first then x = x:transpose(1, 2) end
      local N, H = x:size(2), self.hidden_size
      local directions = self.bidirectional and 2 or 1
      local layers = self.num_layers * directions
      local lstm = self.mode == 'LSTM'
      local h0, c0
      if hx ~= nil then
        if lstm then
          if torch.is_tensor(hx) or type(hx) ~= 'table' or not torch.is_tensor(hx[1]) or not torch.is_tensor(hx[2]) then
            common.fail(self, 'hx must be {h0, c0}, a table of two tensors')
          end
          h0, c0 = hx[1], hx[2]
        else
          if not torch.is_tensor(hx) then common.fail(self, 'hx must be a tensor h0, got a %s', type(hx)) end
          h0 = hx
        end
        if unbatched then
          h0 = h0:unsqueeze(2)
          if c0 then c0 = c0:unsqueeze(2) end
        end
        local want = '[' .. layers .. ' x ' .. N .. ' x ' .. H .. ']'
        if h0:dim() ~= 3 or h0:size(1) ~= layers or h0:size(2) ~= N or h0:size(3) ~= H then
          common.fail(self, 'expected the initial hidden state to be %s, got %s', want, common.shape(h0))
        end
        if c0 and (c0:dim() ~= 3 or c0:size(1) ~= layers or c0:size(2) ~= N or c0:size(3) ~= H) then
          common.fail(self, 'expected the initial cell state to be %s, got %s', want, common.shape(c0))
        end
      else
        h0 = torch.zeros(layers, N, H, { dtype = x:dtype(), device = x:device() })
        if lstm then c0 = h0 end
      end
      local hs, cs = {}, {}
      local layer_input = x
      for layer = 0, self.num_layers - 1 do
        local outs = {}
        for dir = 0, directions - 1 do
          local idx = layer * directions + dir + 1
          local suffix = 'l' .. layer .. (dir == 1 and '_reverse' or '')
          local out, h, c = self:_run(layer_input, suffix, h0[idx], lstm and c0[idx] or nil, dir == 1)
          outs[#outs + 1] = out
          hs[idx], cs[idx] = h, c
        end
        layer_input = #outs == 1 and outs[1] or torch.cat(outs, 3)
        if self.dropout > 0 and self.training and layer < self.num_layers - 1 then
          layer_input = F.dropout(layer_input, self.dropout, true)
        end
      end
      local output, h_n = layer_input, torch.stack(hs, 1)
      local c_n = lstm and torch.stack(cs, 1) or nil
      if unbatched then
        output, h_n = output:squeeze(2), h_n:squeeze(2)
        if c_n then c_n = c_n:squeeze(2) end
      elseif self.batch_first then
        output = output:transpose(1, 2)
      end
      if lstm then return output, { h_n, c_n } end
      return output, h_n
    end

    function class:extra_repr()
      local s = string.format('%d, %d', self.input_size, self.hidden_size)
      if self.num_layers ~= 1 then s = s .. ', num_layers=' .. self.num_layers end
      if name == 'RNN' and self.nonlinearity ~= 'tanh' then s = s .. ", nonlinearity='" .. self.nonlinearity .. "'" end
      if not self.bias then s = s .. ', bias=False' end
      if self.batch_first then s = s .. ', batch_first=True' end
      if self.dropout ~= 0 then s = s .. ', dropout=' .. self.dropout end
      if self.bidirectional then s = s .. ', bidirectional=True' end
      return s
    end
  end

  --- nn.RNN(input_size, hidden_size, {num_layers=1, nonlinearity='tanh', bias=true, batch_first=false, dropout=0, bidirectional=false})
  -- Elman RNN: h_t = tanh(W_ih x_t + b_ih + W_hh h_{t-1} + b_hh). m(x, h0) returns output, h_n.
  define('RNN', function(opts) return opts.nonlinearity == 'relu' and 'RNN_RELU' or 'RNN_TANH' end)
  --- nn.LSTM(input_size, hidden_size, {num_layers=1, bias=true, batch_first=false, dropout=0, bidirectional=false})
  -- Long short-term memory; m(x, {h0, c0}) returns output, {h_n, c_n}. Gate order (i, f, g, o) as in PyTorch.
  define('LSTM', function() return 'LSTM' end)
  --- nn.GRU(input_size, hidden_size, {num_layers=1, bias=true, batch_first=false, dropout=0, bidirectional=false})
  -- Gated recurrent unit; m(x, h0) returns output, h_n. Gate order (r, z, n) as in PyTorch.
  define('GRU', function() return 'GRU' end)
end
