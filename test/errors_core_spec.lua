-- Bad input to views, shape queries and in-place header changes: each raises an error whose message names the
-- function and the values (1-based dims and indices, as the user gave them). Creation, random, indexing and
-- conversion errors are asserted in their own specs; copy_ errors in reference_spec.
local torch = require 'tensor'

local function A() return torch.arange(24):float():view(2, 3, 4) end

-- { pattern the message must match, function raising it }
local cases = {
  -- view / reshape
  { 'view: shape %[5 x 5%] is invalid for input of 24 elements', function() return A():view(5, 5) end },
  { 'view: only one dimension can be %-1 in %[%-1 x %-1%]', function() return A():view(-1, -1) end },
  { 'view: invalid size %-2 in %[%-2 x 12%]', function() return A():view(-2, 12) end },
  { 'view: shape %[0 x %-1%] is invalid for input of 0 elements', function() return torch.zeros(0):view(0, -1) end },
  { 'view: size 2 must be an integer, got a', function() return A():view(4, 'a') end },
  { 'view: size 1 must be an integer, got 1.5', function() return A():view({ 1.5, 16 }) end },
  { 'view: at most 16 dimensions are supported, got 17', function() return A():view(1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 24) end },
  { 'view: a tensor of size %[3 x 2 x 4%] with strides %[4 x 12 x 1%] cannot be viewed as %[24%] without a copy; use reshape',
    function() return A():transpose(1, 2):view(24) end },
  { 'view: shape %[6 x 4611686018427387904 x 6%] is invalid for input of 0 elements',
    function() return torch.zeros(2, 0):view(6, 2 ^ 62, 6) end },
  { 'view: size %[0 x 4 x 4611686018427387904%] is too large', function() return torch.zeros(0):view(0, 4, 2 ^ 62) end },
  { 'view_as: expected a tensor for other, got number', function() return A():view_as(3) end },
  { 'reshape: shape %[7 x %-1%] is invalid for input of 24 elements', function() return A():reshape(7, -1) end },
  { 'reshape_as: expected a tensor for other, got table', function() return A():reshape_as({ 24 }) end },
  -- narrow / select
  { 'narrow: start 5 and length 1 are out of range for dimension 3 of size 4', function() return A():narrow(3, 5, 1) end },
  { 'narrow: start 0 and length 1 are out of range for dimension 1 of size 2', function() return A():narrow(1, 0, 1) end },
  { 'narrow: start 2 and length 2 are out of range for dimension 1 of size 2', function() return A():narrow(1, 2, 2) end },
  { 'narrow: start 1 and length %-1 are out of range', function() return A():narrow(2, 1, -1) end },
  { 'narrow: start and length must be integers, got 1.5 and 1', function() return A():narrow(2, 1.5, 1) end },
  { 'narrow: dimension 4 out of range for a tensor of 3 dimensions', function() return A():narrow(4, 1, 1) end },
  { 'narrow: dimension 0 is invalid: dimensions are numbered from 1', function() return A():narrow(0, 1, 1) end },
  { 'narrow: cannot narrow a 0%-d tensor', function() return torch.tensor(1):narrow(1, 1, 1) end },
  { 'select: index 5 is out of range for dimension 3 of size 4', function() return A():select(3, 5) end },
  { 'select: index %-3 is out of range for dimension 1 of size 2', function() return A():select(1, -3) end },
  { 'select: index must be an integer, got nil', function() return A():select(2) end },
  { 'select: dimension %-4 out of range for a tensor of 3 dimensions', function() return A():select(-4, 1) end },
  { 'select: cannot select on a 0%-d tensor', function() return torch.tensor(1):select(1, 1) end },
  -- transpose / t / permute
  { 'transpose: dimension 4 out of range for a tensor of 3 dimensions', function() return A():transpose(1, 4) end },
  { 'transpose: dimension must be an integer, got nil', function() return A():transpose(1) end },
  { 't: expects a tensor with at most 2 dimensions, got 3', function() return A():t() end },
  { 'permute: expected 3 dimensions, got 2', function() return A():permute(1, 2) end },
  { 'permute: expected 3 dimensions, got 20', function() return A():permute(-1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1) end },
  { 'permute: dimension 1 appears twice', function() return A():permute(1, 1, 2) end },
  { 'permute: dimension 5 out of range for a tensor of 3 dimensions', function() return A():permute(1, 2, 5) end },
  -- squeeze / unsqueeze
  { 'squeeze: dimension 4 out of range for a tensor of 3 dimensions', function() return A():squeeze(4) end },
  { 'squeeze: dimension must be an integer, got a', function() return A():squeeze('a') end },
  { 'unsqueeze: dimension 5 out of range', function() return A():unsqueeze(5) end },
  { 'unsqueeze: dimension %-5 out of range', function() return A():unsqueeze(-5) end },
  { 'unsqueeze: a tensor has at most 16 dimensions', function() return torch.zeros(1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1):unsqueeze(1) end },
  -- expand
  { 'expand: cannot expand size %[2 x 3 x 4%] to %[3 x 3 x 4%] %(size 2 at dimension 1 is not 1%)', function() return A():expand(3, 3, 4) end },
  { 'expand: cannot expand size %[2 x 3 x 4%] to %[3 x 4%]', function() return A():expand(3, 4) end },
  { 'expand: %-1 is not allowed for the new leading dimension 1', function() return A():expand(-1, 2, 3, 4) end },
  { 'expand: invalid size %-2', function() return A():expand(2, -2, 4) end },
  { 'expand: size %[4611686018427387904 x 4%] is too large', function() return torch.zeros(1, 1):expand(2 ^ 62, 4) end },
  { 'expand: size 1 must be an integer, got x', function() return A():expand('x') end },
  { 'expand_as: expected a tensor for other, got number', function() return A():expand_as(3) end },
  -- flatten / unflatten / unfold / diagonal
  { 'flatten: start dimension 3 comes after end dimension 1', function() return A():flatten(3, 1) end },
  { 'flatten: dimension 4 out of range', function() return A():flatten(4) end },
  { 'flatten: dimension 2 out of range for a tensor of 0 dimensions', function() return torch.tensor(1):flatten(2) end },
  { 'unfold: size 5 exceeds size 4 of dimension 3', function() return A():unfold(3, 5, 1) end },
  { 'unfold: step must be positive, got 0', function() return A():unfold(3, 2, 0) end },
  { 'unfold: size must be an integer, got nil', function() return A():unfold(1) end },
  { 'unfold: step must be an integer, got 1.5', function() return A():unfold(1, 1, 1.5) end },
  { 'diagonal: expects a tensor with at least 2 dimensions, got 1', function() return torch.zeros(3):diagonal() end },
  { 'diagonal: dimensions 2 and 2 are the same', function() return A():diagonal(0, 2, 2) end },
  { 'diagonal: offset must be an integer, got a', function() return A():diagonal('a') end },
  { 'diagonal: dimension 4 out of range', function() return A():diagonal(0, 1, 4) end },
  -- split / chunk
  { 'split: split size must be a positive integer, got 0', function() return A():split(0) end },
  { 'split: section sizes add up to 3 but dimension 3 has size 4', function() return A():split({ 1, 2 }, 3) end },
  { 'split: section 2 must be a non%-negative integer, got a', function() return A():split({ 1, 'a' }, 3) end },
  { 'split: section 1 must be a non%-negative integer, got %-1', function() return A():split({ -1, 5 }, 3) end },
  { 'split: expected a size or a table of sizes, got boolean', function() return A():split(true) end },
  { 'split: dimension 4 out of range', function() return A():split(1, 4) end },
  { 'split: cannot split a 0%-d tensor', function() return torch.tensor(1):split(1) end },
  { 'chunk: number of chunks must be a positive integer, got 0', function() return A():chunk(0) end },
  { 'chunk: number of chunks must be a positive integer, got 1.5', function() return A():chunk(1.5) end },
  { 'chunk: cannot chunk a 0%-d tensor', function() return torch.tensor(1):chunk(2) end },
  -- as_strided
  { 'as_strided: got 2 sizes but 1 strides', function() return A():as_strided({ 2, 2 }, { 1 }) end },
  { 'as_strided: a view of size %[20%] at offset 10 reaches element 29 of a storage of 24 elements', function() return A():as_strided({ 20 }, { 1 }, 10) end },
  { 'as_strided: a view of size %[4%] at offset 0 reaches element 9223372036854775807 of a storage of 24 elements',
    function() return A():as_strided({ 4 }, { 2 ^ 62 }) end },
  { 'as_strided: negative stride %-1 at dimension 2', function() return A():as_strided({ 0, 2 }, { 1, -1 }) end },
  { 'as_strided: negative storage offset %-1', function() return A():as_strided({ 2 }, { 1 }, -1) end },
  { 'as_strided: negative size %-1 in %[%-1%]', function() return A():as_strided({ -1 }, { 1 }) end },
  { 'as_strided: size 2 must be an integer, got a', function() return A():as_strided({ 2, 'a' }, { 1, 1 }) end },
  { 'as_strided: stride 1 must be an integer, got 0.5', function() return A():as_strided({ 2 }, { 0.5 }) end },
  { 'as_strided: the storage offset must be an integer, got x', function() return A():as_strided({ 2 }, { 1 }, 'x') end },
  { 'as_strided: expected tables of sizes and strides, got nil and nil', function() return A():as_strided() end },
  { 'as_strided: at most 16 dimensions are supported, got 17', function()
      local s = {}
      for i = 1, 17 do s[i] = 1 end
      return A():as_strided(s, s)
    end },
  -- in-place header changes
  { 'resize_: negative size %-1 in %[%-1%]', function() return A():resize_(-1) end },
  { 'resize_as_: expected a tensor for other, got number', function() return A():resize_as_(3) end },
  { 'set_: expected a tensor for src, got number', function() return A():set_(3) end },
  { 'transpose_: dimension 4 out of range', function() return A():transpose_(1, 4) end },
  { 'squeeze_: dimension 5 out of range', function() return A():squeeze_(5) end },
  { 'unsqueeze_: dimension 6 out of range', function() return A():unsqueeze_(6) end },
  -- other tensors as arguments
  { 'is_same_size: expected a tensor for other, got nil', function() return A():is_same_size() end },
  { 'shares_storage: expected a tensor for other, got number', function() return A():shares_storage(1) end },
  { 'typeAs: expected a tensor for other, got string', function() return A():typeAs('torch.FloatTensor') end },
  { 'view: expected a tensor for the input, got number', function() return torch.view(3, 2) end },
  -- function forms (torch.f(x, ...) for x:f(...), view's above): a non-tensor first argument is named, one form of
  -- each module
  { 'scatter_add: expected a tensor for the input, got string', function() return torch.scatter_add('x', 1) end },
  { 'repeatTensor: expected a tensor for the input, got nil', function() return torch.repeatTensor(nil, 2) end },
  { 'kthvalue: expected a tensor for the input, got table', function() return torch.kthvalue({ 1, 2 }, 1) end },
  { 'lerp: expected a tensor for the input, got number', function() return torch.lerp(1, 2, 0.5) end },
  { 'hardtanh: expected a tensor for the input, got number', function() return torch.hardtanh(1) end },
  { 'normal_: expected a tensor for the input, got boolean', function() return torch.normal_(true) end },
}

describe('errors of views and shape functions', function()
  for _, c in ipairs(cases) do
    it(c[1], function()
      local ok, msg = pcall(c[2])
      assert.is_false(ok, 'no error')
      assert.matches(c[1], tostring(msg))
    end)
  end

  it('a failed in-place header change leaves the tensor as it was', function()
    local x = A()
    pcall(x.transpose_, x, 1, 4)
    pcall(x.unsqueeze_, x, 9)
    pcall(x.resize_, x, -1)
    assert.are.same({ 2, 3, 4 }, x:shape())
    assert.are.same({ 12, 4, 1 }, x:stride())
    assert.equals(23, x[{ 2, 3, 4 }])
  end)
end)
