-- A first look at tensor: run it with `th examples/tour.lua`.
local torch = require 'tensor'

local function section(title) print('\n-- ' .. title) end

section('creating tensors')
print(torch.tensor({{1, 2, 3}, {4, 5, 6}}))
print(torch.zeros(2, 3, {dtype = 'float64'}))
print(torch.arange(1, 7))
print(torch.eye(3))

section('random numbers, reproducible with a seed')
torch.manual_seed(42)
local x = torch.randn(3, 4)
print(x)
print('size:', x:size(), 'dims:', x:dim(), 'elements:', x:numel())

section('views share storage: no copy')
local a = torch.arange(1, 13):view(3, 4)
print(a)
print(a:t())
print(a:narrow(2, 2, 2))   -- dim 2, from column 2, 2 columns
print(a:select(1, 3))      -- row 3
a:select(1, 1):fill_(0)    -- writes through the view
print(a)

section('indexing, 1-based, Torch7 style')
print(a[2])                -- row 2
print(a[{2, 3}])           -- one element: a Lua number
print(a[{{2, 3}, {}}])     -- rows 2 to 3, every column
a[{{}, 4}] = -1            -- assign through a view
print(a)

section('arithmetic')
local b = torch.ones(3, 4)
print(a + b * 2)
print((a - 1) / 4)

section('conversion')
print(a:double():type(), a:long():dtype())
print(torch.tensor({{1, 2}, {3, 4}}):tolist()[2][1])
