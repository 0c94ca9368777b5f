-- tensor.serialization: saving and loading. torch.save / torch.load in Torch7's .t7 format (the native one,
-- binary or ascii), safetensors, and PyTorch's .pt/.pth files (read only); torch.load tells them apart by
-- their first bytes. Nothing a file contains is ever run: PyTorch pickles may name only tensor-rebuilding
-- functions, storage classes and OrderedDict, and Torch7 functions (Lua bytecode) load only with
-- {allow_functions=true}.
--
-- Files are parsed and checked in C (lib/io: t7.c, safetensors.c, and pt.c with zip.c and pickle.c, into a
-- tree of nodes); reader.lua turns the tree into values; t7.lua and safetensors.lua write.
local ffi = require 'ffi'
local core = require 'tensor.core'
local args = require 'tensor.args'
local reader = require 'tensor.serialization.reader'
local t7 = require 'tensor.serialization.t7'
local safetensors = require 'tensor.serialization.safetensors'

local C, torch = core.C, core.torch
local M = { classes = reader.classes }

local formats = {
  auto = C.TN_IO_AUTO, t7 = C.TN_IO_T7, binary = C.TN_IO_T7, ascii = C.TN_IO_T7_ASCII,
  safetensors = C.TN_IO_SAFETENSORS, pt = C.TN_IO_PT, pth = C.TN_IO_PT, pytorch = C.TN_IO_PT,
}
local MMAP_THRESHOLD = 16 * 2 ^ 20 -- safetensors files this large are memory-mapped unless {mmap=false}

local function last_error() return ffi.string(C.tn_last_error()) end

-- opts given as a format string (Torch7: torch.load(path, 'ascii')) or a table.
local function options(fn, opts)
  if opts == nil then return {} end
  if type(opts) == 'string' then return { format = opts } end
  if type(opts) ~= 'table' then args.argerror(fn, 'expected an options table or a format name, got %s', type(opts)) end
  return opts
end

local function format_of(fn, opts)
  local f = opts.format or 'auto'
  local enum = formats[f]
  if not enum then
    args.argerror(fn, "unknown format '%s' (expected 't7', 'ascii', 'safetensors' or 'pt')", tostring(f))
  end
  return enum
end

-- Builds the Lua values of a parsed document and frees it.
local function build(fn, doc, opts, name)
  doc = ffi.gc(doc, C.tn_io_free)
  local share = opts.mmap
  if share == nil then share = doc.format == C.TN_IO_SAFETENSORS and doc.mapped == 1 and doc.size >= MMAP_THRESHOLD end
  local device = opts.map_location or opts.device
  local device_type, device_index = 0, 0
  if device ~= nil then device_type, device_index = args.device(fn, device) end
  local ok, value, metadata = pcall(reader.build, doc, {
    share = share, device_type = device_type, device_index = device_index,
    allow_functions = opts.allow_functions, classes = opts.classes,
  }, fn .. ": '" .. name .. "'")
  C.tn_io_free(ffi.gc(doc, nil))
  if not ok then error(value, 3) end
  return value, metadata
end

--- torch.load(path, opts) -> value [, metadata]
-- Reads a file written by torch.save (Torch7 .t7, binary or ascii), by Torch7 itself, by PyTorch's
-- torch.save (.pt/.pth, since PyTorch 1.6) or in the safetensors format; which one is decided by the
-- file's first bytes. Returns the value; for safetensors the table of name -> tensor and the metadata table.
-- Tensors are loaded on the CPU (or opts.map_location / opts.device) and keep their strides and offsets;
-- tensors that shared a storage when saved share one again. PyTorch values are data: 0-based indices in
-- them (e.g. optimizer state keys) stay as they are. dicts and Torch7 tables become tables, lists and tuples
-- arrays, None nil; an object of a Torch7 class that is not a tensor (nn.Linear, ...) becomes a table of
-- its fields with `__typename` = its class name (and `__version` when not 1).
-- opts (or a format string as in Torch7): format ('t7', 'ascii', 'safetensors', 'pt'; default: detect),
-- map_location/device, mmap (tensors share the file's memory, copy-on-write; default: safetensors files of
-- 16 MiB or more), allow_functions (load Lua functions from Torch7 files: this runs the file's code when
-- they are called, so only for trusted files), long_size (4 for Torch7 files from Windows), classes
-- (Torch7 class name -> function(fields, name, version) building that class's objects).
-- A missing, corrupt, truncated or hostile file raises an error naming the file and the problem.
-- Example: local sd = torch.load('resnet18.pth'); print(sd['fc.weight']:size())
function torch.load(path, opts)
  if type(path) ~= 'string' then args.argerror('load', 'expected a file name, got %s', type(path)) end
  opts = options('load', opts)
  local doc = C.tn_io_read(path, format_of('load', opts), opts.long_size == 4 and C.TN_IO_LONG4 or 0)
  if doc == nil then error('load: ' .. last_error(), 2) end
  return build('load', doc, opts, path)
end

--- torch.save(path, value, opts)
-- Writes value in Torch7's .t7 format (Torch7 argument order): nil, numbers, strings, booleans, tables
-- (shared references and cycles kept), tensors of every dtype (as torch.FloatTensor, torch.DoubleTensor,
-- ..., and torch.HalfTensor, torch.BFloat16Tensor, torch.BoolTensor for the dtypes Torch7 lacks), with
-- their storages written once, so views stay views. A table with a `__typename` field is written as an
-- object of that Torch7 class. A view saves its whole storage (save x:clone() to save only the view); a 0-d
-- tensor loads in Torch7 as a 1-element 1-d tensor (here it stays 0-d); device tensors are saved as CPU tensors. Functions cannot be
-- saved. opts (or a format string): format = 'binary' (default), 'ascii' (Torch7's text variant) or
-- 'safetensors' (then value must be a table of name -> tensor; opts.metadata as in save_safetensors).
-- Example: torch.save('checkpoint.t7', {epoch = 3, weights = w})
function torch.save(path, value, opts)
  if type(path) ~= 'string' then args.argerror('save', 'expected a file name, got %s', type(path)) end
  opts = options('save', opts)
  local format = opts.format == nil and C.TN_IO_T7 or format_of('save', opts)
  if format == C.TN_IO_SAFETENSORS then return torch.save_safetensors(path, value, opts.metadata) end
  if format ~= C.TN_IO_T7 and format ~= C.TN_IO_T7_ASCII then
    args.argerror('save', "can write the 'binary' (t7), 'ascii' and 'safetensors' formats, not '%s'", opts.format)
  end
  local w = C.tn_io_writer_open(path, format == C.TN_IO_T7_ASCII and 1 or 0)
  if w == nil then error('save: ' .. last_error(), 2) end
  local ok, err = pcall(t7.write, w, value, 'save')
  local rc = C.tn_io_writer_close(w)
  if not ok then error(err, 2) end
  if rc ~= 0 then error('save: ' .. last_error(), 2) end
end

--- torch.save_safetensors(path, tensors, metadata)
-- Writes a table of name -> tensor in the safetensors format (every dtype: F64 F32 F16 BF16 I64 I32 I16 I8
-- U8 BOOL), with an optional metadata table of string -> string (numbers are written as strings). Each
-- tensor is stored contiguously (views are saved as copies of what they show; tensors that share memory are
-- stored separately). Read it back with torch.load or torch.load_safetensors.
-- Example: torch.save_safetensors('model.safetensors', {['fc.weight'] = w}, {epoch = '3'})
function torch.save_safetensors(path, tensors, metadata)
  if type(path) ~= 'string' then args.argerror('save_safetensors', 'expected a file name, got %s', type(path)) end
  local w = C.tn_io_writer_open(path, 0)
  if w == nil then error('save_safetensors: ' .. last_error(), 2) end
  local ok, err = pcall(safetensors.write, w, tensors, metadata, 'save_safetensors')
  local rc = C.tn_io_writer_close(w)
  if not ok then error(err, 2) end
  if rc ~= 0 then error('save_safetensors: ' .. last_error(), 2) end
end

--- torch.load_safetensors(path, opts) -> tensors, metadata
-- Reads a safetensors file: a table of name -> tensor and the metadata table (empty when the file has
-- none). opts: mmap (true: tensors share the file's memory, copy-on-write, loaded lazily by the OS; default
-- for files of 16 MiB or more), map_location/device.
-- Example: local w, meta = torch.load_safetensors('model.safetensors')
function torch.load_safetensors(path, opts)
  opts = options('load_safetensors', opts)
  if type(path) ~= 'string' then args.argerror('load_safetensors', 'expected a file name, got %s', type(path)) end
  local doc = C.tn_io_read(path, C.TN_IO_SAFETENSORS, 0)
  if doc == nil then error('load_safetensors: ' .. last_error(), 2) end
  local tensors, metadata = build('load_safetensors', doc, opts, path)
  return tensors, metadata or {}
end

--- torch.serialize(value, format) -> string
-- The bytes torch.save would write, as a Lua string (Torch7's torch.serialize); format 'binary' (default)
-- or 'ascii'.
-- Example: local s = torch.serialize({1, 2, torch.ones(3)}); local v = torch.deserialize(s)
function torch.serialize(value, opts)
  opts = options('serialize', opts)
  local format = opts.format == nil and C.TN_IO_T7 or format_of('serialize', opts)
  if format ~= C.TN_IO_T7 and format ~= C.TN_IO_T7_ASCII then
    args.argerror('serialize', "can write the 'binary' and 'ascii' formats, not '%s'", opts.format)
  end
  local w = C.tn_io_writer_open(nil, format == C.TN_IO_T7_ASCII and 1 or 0)
  if w == nil then error('serialize: ' .. last_error(), 2) end
  local ok, err = pcall(t7.write, w, value, 'serialize')
  local size = ffi.new('int64_t[1]')
  local text = ok and ffi.string(C.tn_io_writer_data(w, size), size[0])
  local rc = C.tn_io_writer_close(w)
  if not ok then error(err, 2) end
  if rc ~= 0 then error('serialize: ' .. last_error(), 2) end
  return text
end

--- torch.deserialize(bytes, opts) -> value [, metadata]
-- torch.load for bytes held in a Lua string (any of the formats torch.load reads; Torch7's
-- torch.deserialize). Tensors are always copies. opts as for torch.load (or a format string).
-- Example: local v = torch.deserialize(torch.serialize({a = 1}))
function torch.deserialize(bytes, opts)
  if type(bytes) ~= 'string' then args.argerror('deserialize', 'expected a string, got %s', type(bytes)) end
  opts = options('deserialize', opts)
  local doc = C.tn_io_parse(bytes, #bytes, format_of('deserialize', opts), opts.long_size == 4 and C.TN_IO_LONG4 or 0,
                            'string')
  if doc == nil then error('deserialize: ' .. last_error(), 2) end
  local value, metadata = build('deserialize', doc, opts, 'string')
  return value, metadata
end

torch.serialization = M
return M
