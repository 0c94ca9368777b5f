-- tensor.type_info: what the dtypes can hold, as PyTorch reports it: torch.finfo for the floating types and
-- torch.iinfo for the integer ones.
local core = require 'tensor.core'
local args = require 'tensor.args'
local dtype = require 'tensor.dtype'

local torch = core.torch
local argerror = args.argerror

-- The bits of each floating layout: sign, exponent and stored mantissa (IEEE 754 binary32, binary64 and
-- binary16, and bfloat16: binary32 cut to 7 mantissa bits). Every other figure follows from them.
local FLOAT_LAYOUT = {
  float32 = { bits = 32, exponent = 8, mantissa = 23 },
  float64 = { bits = 64, exponent = 11, mantissa = 52 },
  float16 = { bits = 16, exponent = 5, mantissa = 10 },
  bfloat16 = { bits = 16, exponent = 8, mantissa = 7 },
}

local function dtype_name(fn, d)
  if d == nil then return dtype.name[dtype.default] end
  if core.is_tensor(d) then return d:dtype() end
  return dtype.name[dtype.parse(d, fn)]
end

--- torch.finfo([dtype]) -> table
-- The limits of a floating dtype (the default dtype when none is given; a tensor gives its own): bits, eps
-- (the distance from 1 to the next value), max, min (= -max), tiny and smallest_normal (the least positive
-- normal number), resolution (10^-digits, the decimal precision) and dtype, as PyTorch's torch.finfo.
-- Example: torch.finfo('float16').max   -- 65504
function torch.finfo(d)
  local name = dtype_name('finfo', d)
  local layout = FLOAT_LAYOUT[name]
  if not layout then argerror('finfo', 'expects a floating dtype, got %s (use torch.iinfo for integers)', name) end
  local emax = 2 ^ (layout.exponent - 1) - 1
  local eps = 2 ^ -layout.mantissa
  local max = (2 - eps) * 2 ^ emax
  local tiny = 2 ^ (1 - emax)
  local digits = math.floor(layout.mantissa * math.log10(2))
  return { bits = layout.bits, eps = eps, max = max, min = -max, tiny = tiny, smallest_normal = tiny,
           resolution = 10 ^ -digits, dtype = name }
end

local INT_BITS = { int64 = 64, int32 = 32, int16 = 16, int8 = 8, uint8 = 8 }

--- torch.iinfo(dtype) -> table
-- The limits of an integer dtype (a name, or a tensor for its dtype): bits, min, max and dtype. int64's min
-- and max are int64 cdata (-9223372036854775808LL, 9223372036854775807LL), since a Lua number cannot hold them
-- exactly; the other types' are numbers.
-- Example: torch.iinfo('uint8').max   -- 255
function torch.iinfo(d)
  if d == nil then argerror('iinfo', 'expects an integer dtype, got nil') end
  local name = dtype_name('iinfo', d)
  local bits = INT_BITS[name]
  if not bits then argerror('iinfo', 'expects an integer dtype, got %s (use torch.finfo for floating types)', name) end
  if name == 'int64' then
    return { bits = 64, min = -9223372036854775807LL - 1, max = 9223372036854775807LL, dtype = name }
  end
  if name == 'uint8' then return { bits = 8, min = 0, max = 255, dtype = name } end
  return { bits = bits, min = -2 ^ (bits - 1), max = 2 ^ (bits - 1) - 1, dtype = name }
end

return {}
