-- tensor.nn.distance: CosineSimilarity and PairwiseDistance.
local common = require 'tensor.nn.common'
local F = require 'tensor.nn.functional'

return function(nn)
  local Module = nn.Module

  --- nn.CosineSimilarity(dim=2, eps=1e-8) -> module
  -- m(x1, x2): the cosine similarity of x1 and x2 along dim (1-based: the default is PyTorch's dim=1), with
  -- F.cosine_similarity.
  local CosineSimilarity = Module:extend('CosineSimilarity')
  nn.CosineSimilarity = CosineSimilarity
  CosineSimilarity.__keeps_no_tensors = true -- (see nn.Sequential)
  function CosineSimilarity:init(dim, eps)
    local o = common.options('CosineSimilarity', { 'dim', 'eps' }, dim, eps)
    self.dim, self.eps = o.dim or 2, o.eps or 1e-8
  end
  function CosineSimilarity:forward(x1, x2) return F.cosine_similarity(x1, x2, self.dim, self.eps) end

  --- nn.PairwiseDistance(p=2, eps=1e-6, keepdim=false) -> module
  -- m(x1, x2): the p-norm of x1 - x2 + eps along the last dim (F.pairwise_distance).
  local PairwiseDistance = Module:extend('PairwiseDistance')
  nn.PairwiseDistance = PairwiseDistance
  PairwiseDistance.__keeps_no_tensors = true
  function PairwiseDistance:init(p, eps, keepdim)
    local o = common.options('PairwiseDistance', { 'p', 'eps', 'keepdim' }, p, eps, keepdim)
    self.norm, self.eps, self.keepdim = o.p or 2, o.eps or 1e-6, o.keepdim == true
  end
  function PairwiseDistance:forward(x1, x2) return F.pairwise_distance(x1, x2, self.norm, self.eps, self.keepdim) end
end
