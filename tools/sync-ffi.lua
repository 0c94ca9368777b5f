-- tools/sync-ffi.lua: rewrites lua/tensor/ffi.lua from the FFI region of lib/include/tensor.h.
-- Run from the project root after changing the header: luajit tools/sync-ffi.lua
-- (test/ffi_header_spec.lua fails while the two disagree.)
local header = assert(io.open('lib/include/tensor.h')):read('*a')
local body = assert(header:match('/%* FFI%-BEGIN %*/\n(.-)/%* FFI%-END %*/'), 'no FFI-BEGIN/FFI-END region')
local out = assert(io.open('lua/tensor/ffi.lua', 'w'))
out:write('-- tensor.ffi: the C declarations of libtensor, copied from the FFI region of lib/include/tensor.h\n',
          '-- by tools/sync-ffi.lua. Do not edit by hand; test/ffi_header_spec.lua checks that the two agree.\n',
          "local ffi = require 'ffi'\n\n",
          'local declarations = [==[\n', body, ']==]\n\n',
          'ffi.cdef(declarations)\n\n',
          'return { declarations = declarations }\n')
out:close()
print('lua/tensor/ffi.lua updated')
