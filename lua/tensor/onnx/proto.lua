-- tensor.onnx.proto: the ONNX messages of onnx.proto (ModelProto, GraphProto, NodeProto, AttributeProto,
-- TensorProto, ValueInfoProto, TypeProto, TensorShapeProto, OperatorSetIdProto), encoded with the field
-- numbers and wire types of onnx.proto from plain Lua tables.
--
--   local proto = require 'tensor.onnx.proto'
--   local bytes = proto.model{ ir_version = 8, opsets = { { domain = '', version = 17 } },
--                              producer_name = 'tensor', producer_version = '0.1', graph = { ... } }
local pb = require 'tensor.onnx.protobuf'

local M = {}

local concat = table.concat
local str, i64, msg, f32 = pb.string, pb.int64, pb.message, pb.float

-- TensorProto.DataType codes by our dtype names.
M.DTYPE = { float32 = 1, uint8 = 2, int8 = 3, uint16 = 4, int16 = 5, int32 = 6, int64 = 7, string = 8, bool = 9,
            float16 = 10, float64 = 11, uint32 = 12, uint64 = 13, bfloat16 = 16 }

-- AttributeProto.AttributeType codes.
M.ATTR = { FLOAT = 1, INT = 2, STRING = 3, TENSOR = 4, GRAPH = 5, FLOATS = 6, INTS = 7, STRINGS = 8 }

-- The IR version that goes with each default-domain opset (onnx/helper.py's VERSION_TABLE: ONNX 1.8 and 1.9 have
-- IR 7 with opsets 13 and 14; ONNX 1.10 to 1.13 have IR 8 with opsets 15 to 18).
M.IR_VERSION = { [13] = 7, [14] = 7, [15] = 8, [16] = 8, [17] = 8, [18] = 8 }

--- proto.tensor{name=, dims=, data_type=, raw_data=} -> bytes
-- A TensorProto: dims (1), data_type (2), name (8), raw_data (9, little-endian values in row-major order).
function M.tensor(t)
  return concat({
    pb.packed_varints(1, t.dims or {}),
    i64(2, t.data_type),
    t.name and str(8, t.name) or '',
    t.doc_string and str(12, t.doc_string) or '',
    str(9, t.raw_data or ''),
  })
end

--- proto.attribute{name=, type=, value} -> bytes
-- An AttributeProto: name (1), type (20) and the value in f (2) / i (3) / s (4) / t (5) / floats (7) / ints (8) /
-- strings (9). `type` is one of proto.ATTR's names; `value` a number, string, tensor table or list.
function M.attribute(a)
  local kind = a.type
  local parts = { str(1, a.name), i64(20, M.ATTR[kind] or error('proto.attribute: unknown type ' .. tostring(kind))) }
  local v = a.value
  if kind == 'FLOAT' then
    parts[#parts + 1] = f32(2, v)
  elseif kind == 'INT' then
    parts[#parts + 1] = i64(3, v)
  elseif kind == 'STRING' then
    parts[#parts + 1] = str(4, v)
  elseif kind == 'TENSOR' then
    parts[#parts + 1] = msg(5, M.tensor(v))
  elseif kind == 'GRAPH' then
    parts[#parts + 1] = msg(6, M.graph(v))
  elseif kind == 'FLOATS' then
    parts[#parts + 1] = pb.packed_floats(7, v)
  elseif kind == 'INTS' then
    parts[#parts + 1] = pb.packed_varints(8, v)
  elseif kind == 'STRINGS' then
    parts[#parts + 1] = pb.repeated(str, 9, v)
  else
    error('proto.attribute: unsupported type ' .. tostring(kind))
  end
  return concat(parts)
end

--- proto.node{inputs=, outputs=, name=, op_type=, domain=, attributes=} -> bytes
-- A NodeProto: input (1, repeated; '' for an omitted optional input), output (2), name (3), op_type (4),
-- attribute (5), domain (7).
function M.node(n)
  local parts = { pb.repeated(str, 1, n.inputs or {}), pb.repeated(str, 2, n.outputs or {}) }
  if n.name then parts[#parts + 1] = str(3, n.name) end
  parts[#parts + 1] = str(4, n.op_type)
  for _, a in ipairs(n.attributes or {}) do parts[#parts + 1] = msg(5, M.attribute(a)) end
  if n.domain and n.domain ~= '' then parts[#parts + 1] = str(7, n.domain) end
  return concat(parts)
end

--- proto.value_info{name=, elem_type=, shape=} -> bytes
-- A ValueInfoProto: name (1) and type (2) = TypeProto{ tensor_type (1) = { elem_type (1), shape (2) } }.
-- shape lists the dims: a number (dim_value, 1), a string (dim_param, 2) or false (unknown); a nil shape leaves
-- the rank unknown.
function M.value_info(v)
  local tensor_type = { i64(1, v.elem_type) }
  if v.shape then
    local dims = {}
    for i, d in ipairs(v.shape) do
      if type(d) == 'number' then
        dims[i] = msg(1, i64(1, d))
      elseif type(d) == 'string' then
        dims[i] = msg(1, str(2, d))
      else
        dims[i] = msg(1, '')
      end
    end
    tensor_type[2] = msg(2, concat(dims))
  end
  return str(1, v.name) .. msg(2, msg(1, concat(tensor_type)))
end

--- proto.graph{name=, nodes=, initializers=, inputs=, outputs=, value_infos=, doc_string=} -> bytes
-- A GraphProto: node (1), name (2), initializer (5), doc_string (10), input (11), output (12), value_info (13).
-- nodes, initializers and value infos are tables for proto.node / proto.tensor / proto.value_info.
function M.graph(g)
  local parts = {}
  for _, n in ipairs(g.nodes or {}) do parts[#parts + 1] = msg(1, M.node(n)) end
  parts[#parts + 1] = str(2, g.name or 'graph')
  for _, t in ipairs(g.initializers or {}) do parts[#parts + 1] = msg(5, M.tensor(t)) end
  if g.doc_string then parts[#parts + 1] = str(10, g.doc_string) end
  for _, v in ipairs(g.inputs or {}) do parts[#parts + 1] = msg(11, M.value_info(v)) end
  for _, v in ipairs(g.outputs or {}) do parts[#parts + 1] = msg(12, M.value_info(v)) end
  for _, v in ipairs(g.value_infos or {}) do parts[#parts + 1] = msg(13, M.value_info(v)) end
  return concat(parts)
end

--- proto.model{ir_version=, opsets=, producer_name=, producer_version=, domain=, model_version=, doc_string=, graph=} -> bytes
-- A ModelProto: ir_version (1), producer_name (2), producer_version (3), domain (4), model_version (5),
-- doc_string (6), graph (7), opset_import (8) = OperatorSetIdProto{ domain (1), version (2) }.
function M.model(m)
  local parts = { i64(1, m.ir_version) }
  if m.producer_name then parts[#parts + 1] = str(2, m.producer_name) end
  if m.producer_version then parts[#parts + 1] = str(3, m.producer_version) end
  if m.domain then parts[#parts + 1] = str(4, m.domain) end
  if m.model_version then parts[#parts + 1] = i64(5, m.model_version) end
  if m.doc_string then parts[#parts + 1] = str(6, m.doc_string) end
  parts[#parts + 1] = msg(7, M.graph(m.graph))
  for _, o in ipairs(m.opsets) do
    parts[#parts + 1] = msg(8, str(1, o.domain or '') .. i64(2, o.version))
  end
  return concat(parts)
end

return M
