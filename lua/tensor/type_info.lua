-- tensor.type_info: what the dtypes can hold and how they combine, as PyTorch reports it: torch.finfo for the
-- floating types, torch.iinfo for the integer ones, promote_types, result_type and can_cast (the rules the C
-- library applies to every op).
local core = require 'tensor.core'
local args = require 'tensor.args'
local dtype = require 'tensor.dtype'

local C, torch = core.C, core.torch
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

--- torch.promote_types(a, b) -> string
-- The smallest dtype both dtypes convert to without losing their kind of value, as PyTorch's type promotion
-- (float16 with bfloat16 gives float32, uint8 with int8 int16, an integer with a floating type the floating one).
-- Example: torch.promote_types('int32', 'float16')   -- 'float16'
function torch.promote_types(a, b)
  return dtype.name[tonumber(C.tn_promote_types(dtype.parse(a, 'promote_types'), dtype.parse(b, 'promote_types')))]
end

-- An operand of result_type: a tensor, or the dtype of a number or boolean (a "wrapped number": int64 when
-- integral, else the default float dtype).
local function operand(v, i)
  if core.is_tensor(v) then return v._c, -1 end
  if type(v) == 'boolean' then return nil, dtype.BOOL end
  if type(v) == 'number' then return nil, dtype.of_number(v) end
  argerror('result_type', 'operand %d must be a tensor, a number or a boolean, got %s', i, type(v))
end

--- torch.result_type(a, b) -> string
-- The dtype an element-wise op of a and b (tensors, numbers or booleans) computes in, by PyTorch's rule: tensors
-- with dims decide, a 0-d tensor or a number only where its kind (bool < integer < floating) is higher.
-- Example: torch.result_type(torch.tensor({1, 2}), 2.5)   -- 'float32'
function torch.result_type(a, b)
  local ca, da = operand(a, 1)
  local cb, db = operand(b, 2)
  if ca == nil and cb == nil then argerror('result_type', 'expected at least one tensor, got %s and %s', type(a), type(b)) end
  local r = tonumber(C.tn_result_type(ca, da, cb, db))
  if r < 0 then core.c_error() end
  return dtype.name[r]
end

--- torch.can_cast(from, to) -> boolean
-- Whether a result of dtype `from` may be written into a tensor of dtype `to` (out=, in-place ops), as PyTorch:
-- not a floating type into an integer one, nor anything but bool into bool.
function torch.can_cast(from, to)
  return C.tn_can_cast(dtype.parse(from, 'can_cast'), dtype.parse(to, 'can_cast')) == 1
end

return {}
