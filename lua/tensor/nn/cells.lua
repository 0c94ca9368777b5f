-- tensor.nn.cells: RNNCell, LSTMCell and GRUCell, one time step of nn.RNN, nn.LSTM and nn.GRU (the same step code),
-- with PyTorch's parameter names (weight_ih, weight_hh, bias_ih, bias_hh), gate orders and initialisation.
local torch = require 'tensor'
local common = require 'tensor.nn.common'
local F = require 'tensor.nn.functional'
local init = require 'tensor.nn.initializers'
local rnn_step = require 'tensor.nn.rnn_step'

return function(nn)
  local Module = nn.Module

  local function define(name, mode_of)
    local class = Module:extend(name)
    nn[name] = class
    class.__keeps_no_tensors = true -- (see nn.Sequential)

    function class:init(input_size, hidden_size, ...)
      local names = name == 'RNNCell' and { 'bias', 'nonlinearity' } or { 'bias' }
      local opts = common.mixed_options(name, names, nil, ...)
      common.positive_int(name, 'input_size', input_size)
      common.positive_int(name, 'hidden_size', hidden_size)
      self.input_size, self.hidden_size, self.bias = input_size, hidden_size, opts.bias ~= false
      self.nonlinearity = opts.nonlinearity or 'tanh'
      if self.nonlinearity ~= 'tanh' and self.nonlinearity ~= 'relu' then
        error(string.format("%s: nonlinearity must be 'tanh' or 'relu', got %s", name, tostring(self.nonlinearity)), 3)
      end
      self.mode = mode_of(self)
      local gates = rnn_step.GATES[self.mode] * hidden_size
      self.weight_ih = common.parameter({ gates, input_size }, opts)
      self.weight_hh = common.parameter({ gates, hidden_size }, opts)
      if self.bias then
        self.bias_ih = common.parameter({ gates }, opts)
        self.bias_hh = common.parameter({ gates }, opts)
      end
      self:reset_parameters()
    end

    function class:reset_parameters()
      local bound = 1 / math.sqrt(self.hidden_size)
      for _, p in ipairs(self:parameters()) do init.uniform_(p, -bound, bound) end
    end

    -- a state tensor given for the input x ([N x in], or [in] unbatched): [N x H] (or [H])
    local function check_state(self, what, s, x)
      local want = x:dim() == 2 and { x:size(1), self.hidden_size } or { self.hidden_size }
      local ok = torch.is_tensor(s) and s:dim() == #want
      for d = 1, #want do ok = ok and s:size(d) == want[d] end
      if not ok then
        common.fail(self, 'expected the %s for the input %s to be [%s], got %s', what, common.shape(x),
                    table.concat(want, ' x '), torch.is_tensor(s) and common.shape(s) or type(s))
      end
      return s
    end

    -- forward(input, hx): input [N x input_size] or unbatched [input_size]; hx the state h ([N x H] or [H];
    -- LSTMCell: {h, c}), zeros when nil. Returns the next h (LSTMCell: h, c).
    function class:forward(x, hx)
      if not torch.is_tensor(x) or (x:dim() ~= 1 and x:dim() ~= 2) or x:size(-1) ~= self.input_size then
        common.fail(self, 'expected an input [N x %d] or [%d], got %s', self.input_size, self.input_size,
                    torch.is_tensor(x) and common.shape(x) or type(x))
      end
      local lstm = self.mode == 'LSTM'
      local h, c
      if hx == nil then
        local shape = x:dim() == 2 and { x:size(1), self.hidden_size } or { self.hidden_size }
        h = torch.zeros(shape, { dtype = x:dtype(), device = x:device() })
        c = lstm and h or nil
      elseif lstm then
        if torch.is_tensor(hx) or type(hx) ~= 'table' then
          common.fail(self, 'hx must be {h, c}, a table of two tensors, got %s', torch.is_tensor(hx) and 'a tensor' or type(hx))
        end
        h, c = check_state(self, 'hidden state h', hx[1], x), check_state(self, 'cell state c', hx[2], x)
      else
        h = check_state(self, 'hidden state', hx, x)
      end
      local unbatched = x:dim() == 1
      if unbatched then
        x, h = x:unsqueeze(1), h:unsqueeze(1)
        if c then c = c:unsqueeze(1) end
      end
      -- outside GRU (whose new gate scales W_hn h + b_hn by the reset gate) both biases join the input's projection
      local b_ih, b_hh = self.bias_ih, self.bias_hh
      local gru = self.mode == 'GRU'
      local gx = F.linear(x, self.weight_ih, (b_ih ~= nil and not gru) and b_ih + b_hh or b_ih)
      local hproj = F.linear(h, self.weight_hh, gru and b_hh or nil)
      h, c = rnn_step.step(self.mode, gx, hproj, h, c)
      if unbatched then
        h = h:squeeze(1)
        if c then c = c:squeeze(1) end
      end
      if lstm then return h, c end
      return h
    end

    function class:extra_repr()
      local s = string.format('%d, %d', self.input_size, self.hidden_size)
      if not self.bias then s = s .. ', bias=False' end
      if self.nonlinearity ~= 'tanh' then s = s .. ', nonlinearity=' .. self.nonlinearity end
      return s
    end
  end

  --- nn.RNNCell(input_size, hidden_size, bias=true, nonlinearity='tanh') -> module
  -- One Elman RNN step: h' = tanh(W_ih x + b_ih + W_hh h + b_hh) (or relu). m(x, h) returns h'; x is
  -- [N x input_size] or [input_size], h (zeros when nil) [N x hidden_size] or [hidden_size].
  define('RNNCell', function(self) return self.nonlinearity == 'relu' and 'RNN_RELU' or 'RNN_TANH' end)
  --- nn.LSTMCell(input_size, hidden_size, bias=true) -> module
  -- One LSTM step: m(x, {h, c}) returns h', c' (two values); gate order (i, f, g, o) as in PyTorch.
  define('LSTMCell', function() return 'LSTM' end)
  --- nn.GRUCell(input_size, hidden_size, bias=true) -> module
  -- One GRU step: m(x, h) returns h'; gate order (r, z, n) as in PyTorch.
  define('GRUCell', function() return 'GRU' end)
end
