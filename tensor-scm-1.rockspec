rockspec_format = "3.0"
package = "tensor"
version = "scm-1"

-- Built from the checkout it sits in: `luarocks --lua-version=5.1 make` (add `--tree DIR` for a private tree).
source = {
   url = "git+file://.",
}

description = {
   summary = "Tensors, autograd and neural networks for LuaJIT, in the Torch tradition",
   detailed = [[
A C11 tensor library (CPU through OpenBLAS, CUDA optional) bound to LuaJIT with the FFI, with
PyTorch-class packages on top: autograd, nn, optim, data, serialization (Torch7 .t7, safetensors,
PyTorch .pt), ONNX export, and the `th` shell.
]],
}

dependencies = {
   "lua == 5.1",   -- LuaJIT 2.1 (the FFI is required)
}

external_dependencies = {
   OPENBLAS = { library = "openblas" },
}

build = {
   type = "cmake",
   variables = {
      CMAKE_BUILD_TYPE = "Release",
      LUADIR = "$(LUADIR)",
      LIBDIR = "$(LIBDIR)",
      BINDIR = "$(BINDIR)",
      TENSOR_TESTS = "OFF",
   },
   install = {
      bin = { th = "bin/th" },
   },
}

-- th is installed as it is, a LuaJIT script (`#!/usr/bin/env luajit`). luarocks would otherwise wrap it in a shell
-- script that runs the interpreter luarocks detected for Lua 5.1, and on a fresh Debian that is lua5.1 (installed as
-- luarocks' own dependency), which has no FFI.
deploy = {
   wrap_bin_scripts = false,
}
