-- tensor.nn.dropout: Dropout and Dropout2d (whole channels).
local common = require 'tensor.nn.common'
local F = require 'tensor.nn.functional'

return function(nn)
  local Module = nn.Module

  local function check_p(name, p)
    if type(p) ~= 'number' or p < 0 or p > 1 then
      error(string.format('%s: p must be a probability in [0, 1], got %s', name, tostring(p)), 4)
    end
  end

  --- nn.Dropout(p=0.5, inplace=false) -> module
  -- In training, zeroes each element with probability p and scales the rest by 1/(1-p); identity in eval.
  local Dropout = Module:extend('Dropout')
  nn.Dropout = Dropout
  Dropout.__keeps_no_tensors = true -- (see nn.Sequential)
  function Dropout:init(p, inplace)
    local o = common.options('Dropout', { 'p', 'inplace' }, p, inplace)
    self.p, self.inplace = o.p or 0.5, o.inplace == true
    check_p('Dropout', self.p)
  end
  function Dropout:forward(x) return F.dropout(x, self.p, self.training, self.inplace) end
  function Dropout:extra_repr() return string.format('p=%s, inplace=%s', self.p, common.bool(self.inplace)) end

  --- nn.Dropout2d(p=0.5) -> module
  -- Zeroes whole channels of [N x C x H x W] (or [C x H x W]) inputs.
  local Dropout2d = Module:extend('Dropout2d')
  nn.Dropout2d = Dropout2d
  Dropout2d.__keeps_no_tensors = true
  function Dropout2d:init(p)
    self.p = common.options('Dropout2d', { 'p', 'inplace' }, p).p or 0.5
    check_p('Dropout2d', self.p)
  end
  function Dropout2d:forward(x)
    if self.training and self.p > 0 and x:dim() ~= 3 and x:dim() ~= 4 then
      common.fail(self, 'expected a 3-d or 4-d input, got %s', common.shape(x))
    end
    return F.dropout2d(x, self.p, self.training)
  end
  function Dropout2d:extra_repr() return string.format('p=%s, inplace=False', self.p) end
end
