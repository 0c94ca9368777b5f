-- Torch7-style printing. The expected strings follow Torch7's Tensor.lua rules, worked out by hand:
--  * integers (every value integral): "%<w>d" with w = digits of the largest magnitude + 1;
--  * otherwise "%<w>.4f" with w = 7 (largest < 1) or digits + 6; a common scale "10^k *" line when the largest
--    magnitude has more than 5 or fewer than 1 integer digits; "%11.4e" when magnitudes span more than 10^4;
--  * columns separated by one space; 2-d rows after a scale line start with one extra space; 3-d and more
--    print "(i,j,.,.) = " slices indented by one space; the footer is "[torch.<Class>Tensor of size AxB]".
local torch = require 'tensor'

local function lines(...) return table.concat({ ... }, '\n') end

describe('tostring / print', function()
  it('integral values: width = digits + 1, one space between columns', function()
    assert.equals(lines(' 1  1  1', ' 1  1  1', '[torch.FloatTensor of size 2x3]'), tostring(torch.ones(2, 3)))
    assert.equals(lines(' -5', ' 10', '[torch.LongTensor of size 2]'), tostring(torch.tensor({ -5, 10 })))
    assert.equals(lines('   7  100', '[torch.IntTensor of size 1x2]'), tostring(torch.tensor({ { 7, 100 } }, { dtype = 'int32' })))
    assert.equals(lines(' 0  0', '[torch.FloatTensor of size 1x2]'), tostring(torch.tensor({ { 0, -0.0 } }, { dtype = 'float32' })))
  end)

  it('fractional values: %7.4f-style columns', function()
    assert.equals(lines(' 1.5000 -2.2500  3.0000', ' 4.0000  5.0000  6.0000', '[torch.FloatTensor of size 2x3]'),
                  tostring(torch.tensor({ { 1.5, -2.25, 3 }, { 4, 5, 6 } })))
    assert.equals(lines(' 0.5000', ' 0.2500', '[torch.DoubleTensor of size 2]'),
                  tostring(torch.tensor({ 0.5, 0.25 }, { dtype = 'float64' })))
    assert.equals(lines('  12.5000', ' 100.2500', '[torch.DoubleTensor of size 2]'),
                  tostring(torch.tensor({ 12.5, 100.25 }, { dtype = 'float64' })))
  end)

  it('a common scale factor line for large or small magnitudes', function()
    assert.equals(lines('100000 *', ' 1.2346', ' 2.3457', '[torch.FloatTensor of size 2]'),
                  tostring(torch.tensor({ 123456.25, 234567.75 })))
    assert.equals(lines('0.001 *', ' 1.0000', ' 2.0000', '[torch.FloatTensor of size 2]'),
                  tostring(torch.tensor({ 0.001, 0.002 })))
    assert.equals(lines('100000 *', '  1.2346  2.3457', '  1.0000  2.0000', '[torch.FloatTensor of size 2x2]'),
                  tostring(torch.tensor({ { 123456.25, 234567.75 }, { 100000, 200000.5 } })))
  end)

  it('%e format when magnitudes differ by more than 10^4, or integers exceed 9 digits', function()
    assert.equals(lines(' 1.0000e-10', ' 1.0000e+00', '[torch.FloatTensor of size 2]'),
                  tostring(torch.tensor({ 1e-10, 1 })))
    assert.equals(lines(' 1.0000e+10', ' 1.0000e+00', '[torch.LongTensor of size 2]'),
                  tostring(torch.tensor({ 1e10, 1 })))
  end)

  it('3-d and 4-d tensors print (i,.,.) slices', function()
    assert.equals(lines('(1,.,.) = ', '   0   1   2', '   3   4   5', '', '(2,.,.) = ', '   6   7   8', '   9  10  11',
                        '[torch.LongTensor of size 2x2x3]'), tostring(torch.arange(12):view(2, 2, 3)))
    assert.equals(lines('(1,1,.,.) = ', '  0  0', '  0  0', '', '(2,1,.,.) = ', '  0  0', '  0  0',
                        '[torch.FloatTensor of size 2x1x2x2]'), tostring(torch.zeros(2, 1, 2, 2)))
  end)

  it('non-contiguous tensors print in logical order', function()
    assert.equals(lines(' 0  2  4', ' 1  3  5', '[torch.LongTensor of size 2x3]'), tostring(torch.arange(6):view(3, 2):t()))
  end)

  it('wide matrices are split into "Columns a to b" blocks of 80 characters', function()
    local row1, row2 = {}, {}
    for i = 0, 19 do row1[#row1 + 1] = string.format('%3d', i) end
    for i = 20, 29 do row2[#row2 + 1] = string.format('%3d', i) end
    assert.equals(lines('Columns 1 to 20', table.concat(row1, ' '), '', 'Columns 21 to 30', table.concat(row2, ' '),
                        '[torch.FloatTensor of size 1x30]'), tostring(torch.arange(30):float():view(1, 30)))
  end)

  it('0-d and empty tensors', function()
    assert.equals(lines('3.5000', '[torch.FloatTensor with no dimension]'), tostring(torch.tensor(3.5)))
    assert.equals(lines('3', '[torch.LongTensor with no dimension]'), tostring(torch.tensor(3)))
    assert.equals('[torch.FloatTensor of size 0]', tostring(torch.zeros(0)))
    assert.equals('[torch.DoubleTensor of size 2x0]', tostring(torch.zeros(2, 0, { dtype = 'float64' })))
  end)

  it('NaN and infinities take the column width; bool prints 1/0', function()
    assert.equals(lines('    nan', '    inf', '   -inf', ' 1.5000', '[torch.FloatTensor of size 4]'),
                  tostring(torch.tensor({ 0 / 0, math.huge, -math.huge, 1.5 })))
    assert.equals(lines('1', '0', '[torch.BoolTensor of size 2]'), tostring(torch.tensor({ true, false })))
  end)

  it('every dtype has its Torch7 footer', function()
    local names = { float32 = 'Float', float64 = 'Double', float16 = 'Half', bfloat16 = 'BFloat16', int64 = 'Long',
                    int32 = 'Int', int16 = 'Short', int8 = 'Char', uint8 = 'Byte', bool = 'Bool' }
    for dt, class in pairs(names) do
      local s = tostring(torch.ones(2, 2, { dtype = dt }))
      assert.equals('[torch.' .. class .. 'Tensor of size 2x2]', s:match('[^\n]*$'))
    end
    assert.equals(lines(' 0.5000', '[torch.HalfTensor of size 1]'), tostring(torch.tensor({ 0.5 }, { dtype = 'float16' })))
  end)

  it('summarises tensors of more than 1000 elements with ...', function()
    assert.equals(lines('    0', '    1', '    2', '  ...', ' 1997', ' 1998', ' 1999', '[torch.LongTensor of size 2000]'),
                  tostring(torch.arange(2000)))
    local s = tostring(torch.arange(2000):view(40, 50))
    assert.equals(lines('    0     1     2   ...    47    48    49',
                        '   50    51    52   ...    97    98    99',
                        '  100   101   102   ...   147   148   149',
                        '  ...',
                        ' 1850  1851  1852   ...  1897  1898  1899',
                        ' 1900  1901  1902   ...  1947  1948  1949',
                        ' 1950  1951  1952   ...  1997  1998  1999',
                        '[torch.LongTensor of size 40x50]'), s)
    local _, n = tostring(torch.arange(1000)):gsub('\n', '')
    assert.equals(1000, n) -- 1000 elements: all shown, then the footer
    local t = tostring(torch.arange(2000):view(20, 10, 10))
    assert.truthy(t:find('(3,.,.) = ', 1, true))
    assert.falsy(t:find('(4,.,.) = ', 1, true))
    assert.truthy(t:find('\n\n...\n\n(18,.,.) = ', 1, true))
    assert.truthy(t:find('[torch.LongTensor of size 20x10x10]', 1, true))
  end)

  it('set_printoptions changes the threshold and edge items', function()
    torch.set_printoptions({ threshold = 4, edgeitems = 1 })
    local ok, s = pcall(tostring, torch.arange(5))
    torch.set_printoptions({ threshold = 1000, edgeitems = 3 })
    assert(ok, s)
    assert.equals(lines(' 0', '...', ' 4', '[torch.LongTensor of size 5]'), s)
    local ok2, msg = pcall(torch.set_printoptions, { color = true })
    assert.is_false(ok2)
    assert.matches('set_printoptions: unknown or invalid option color', msg)
  end)
end)
