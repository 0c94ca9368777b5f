-- tensor.nn.functional.distance: pairwise_distance (row against row) and pdist (every pair of rows of one
-- matrix). F.cosine_similarity is in tensor.nn.functional.
local torch = require 'tensor'

return function(F, h)
  local fail, check_tensor, options, shape_string = h.fail, h.check_tensor, h.options, h.shape_string

  local function norm_order(fn, p)
    if type(p) ~= 'number' or p < 0 then fail(fn, 'p must be a number of at least 0, got %s', tostring(p)) end
    return p
  end

  --- F.pairwise_distance(x1, x2, p=2, eps=1e-6, keepdim=false) -> Tensor
  -- The p-norm of x1 - x2 + eps along the last dim (x1 and x2 broadcast), as PyTorch.
  function F.pairwise_distance(x1, x2, ...)
    check_tensor('pairwise_distance', x1, 'x1')
    check_tensor('pairwise_distance', x2, 'x2')
    local o = options('pairwise_distance', { 'p', 'eps', 'keepdim' }, ...)
    local p = norm_order('pairwise_distance', o.p or 2)
    local a, b = x1:shape(), x2:shape()
    for i = 1, math.min(#a, #b) do
      local sa, sb = a[#a - i + 1], b[#b - i + 1]
      if sa ~= sb and sa ~= 1 and sb ~= 1 then
        fail('pairwise_distance', 'x1 %s and x2 %s do not broadcast', shape_string(x1), shape_string(x2))
      end
    end
    local d = x1 - x2 + (o.eps or 1e-6)
    if d:dim() == 0 then d = d:view(1) end
    return d:norm(p, d:dim(), o.keepdim == true)
  end

  --- F.pdist(input, p=2) -> Tensor
  -- The p-norm distances between the rows of [N x M], pair (i, j) for i < j in row-major order: a tensor of
  -- N*(N-1)/2 elements (the upper triangle of torch.cdist(input, input), flattened).
  function F.pdist(x, ...)
    check_tensor('pdist', x, 'the input')
    local p = norm_order('pdist', options('pdist', { 'p' }, ...).p or 2)
    if x:dim() ~= 2 then fail('pdist', 'expected a 2-d input [N x M], got %s', shape_string(x)) end
    if not x:is_floating_point() then fail('pdist', 'expected a floating point input, got %s', x:dtype()) end
    local n = x:size(1)
    if n < 2 then return torch.empty({ 0 }, { dtype = x:dtype(), device = x:device() }) end
    local first, second = {}, {}
    for i = 1, n - 1 do
      for j = i + 1, n do
        first[#first + 1], second[#second + 1] = i, j
      end
    end
    local opts = { dtype = 'int64', device = x:device() }
    local d = x:index_select(1, torch.tensor(first, opts)) - x:index_select(1, torch.tensor(second, opts))
    return d:norm(p, 2)
  end
end
