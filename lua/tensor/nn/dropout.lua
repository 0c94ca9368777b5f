-- tensor.nn.dropout: Dropout, Dropout1d, Dropout2d and Dropout3d (whole channels), AlphaDropout and
-- FeatureAlphaDropout (for SELU networks).
local common = require 'tensor.nn.common'
local F = require 'tensor.nn.functional'

return function(nn)
  local Module = nn.Module

  -- A dropout module over F[fname](x, p, training, inplace); identity in evaluation.
  local function define(name, fname)
    local class = Module:extend(name)
    nn[name] = class
    class.__keeps_no_tensors = true -- (see nn.Sequential)
    function class:init(p, inplace)
      local o = common.options(name, { 'p', 'inplace' }, p, inplace)
      self.p, self.inplace = o.p or 0.5, o.inplace == true
      if type(self.p) ~= 'number' or self.p < 0 or self.p > 1 then
        error(string.format('%s: p must be a probability in [0, 1], got %s', name, tostring(self.p)), 3)
      end
    end
    function class:forward(x) return F[fname](x, self.p, self.training, self.inplace) end
    function class:extra_repr() return string.format('p=%s, inplace=%s', self.p, common.bool(self.inplace)) end
  end

  --- nn.Dropout(p=0.5, inplace=false) -> module
  -- In training, zeroes each element with probability p and scales the rest by 1/(1-p); identity in eval.
  define('Dropout', 'dropout')
  --- nn.Dropout1d(p=0.5, inplace=false) -> module
  -- In training, zeroes whole channels of [N x C x L] (or [C x L]) with probability p and scales the rest by
  -- 1/(1-p) (F.dropout1d).
  define('Dropout1d', 'dropout1d')
  --- nn.Dropout2d(p=0.5, inplace=false) -> module
  -- Zeroes whole channels of [N x C x H x W] (or [C x H x W]) inputs (F.dropout2d).
  define('Dropout2d', 'dropout2d')
  --- nn.Dropout3d(p=0.5, inplace=false) -> module
  -- Zeroes whole channels of [N x C x D x H x W] (or [C x D x H x W]) inputs (F.dropout3d).
  define('Dropout3d', 'dropout3d')
  --- nn.AlphaDropout(p=0.5, inplace=false) -> module
  -- Dropout that keeps zero mean and unit variance, for SELU networks (F.alpha_dropout).
  define('AlphaDropout', 'alpha_dropout')
  --- nn.FeatureAlphaDropout(p=0.5, inplace=false) -> module
  -- AlphaDropout of whole channels (F.feature_alpha_dropout).
  define('FeatureAlphaDropout', 'feature_alpha_dropout')
end
