#!/usr/bin/env bash
# Installs tensor on a Debian 12 (or Ubuntu) machine: the system packages it builds, runs and is tested
# with, then the rock itself (libtensor, the Lua packages and the `th` command) under /usr/local.
#
#   ./setup.sh            packages + the rock (run as root, or as a user with sudo)
#   ./setup.sh --deps     packages only (what CI uses before installing the rock into a private tree)
#
# Safe to run again: apt-get and luarocks skip what is already there and rebuild what changed.
set -euo pipefail

# What the library needs to build and run.
RUNTIME_PACKAGES=(
  make cmake gcc git           # the build (usually there already)
  luajit libluajit-5.1-dev     # LuaJIT 2.1 with the FFI
  luarocks                     # installs the rock
  libopenblas-dev              # BLAS for the CPU kernels
  rlwrap lua-readline          # line editing and history in the th shell
)
# What the tests, the benchmarks and the multi-process training need.
TEST_PACKAGES=(
  lua-busted                                   # the spec runner
  python3-torch python3-numpy python3-onnx     # PyTorch, the reference the specs and benchmarks compare with
  python3-sklearn                              # scikit-learn's digits: the reference for the bundled copy
  python3-mpmath                               # 50-digit references for the special functions
  dataset-fashion-mnist                        # Fashion-MNIST in IDX files (data_spec, examples/fashion_cnn.lua)
  tmux                                         # drives the th shell in a terminal in the shell's specs
  openmpi-bin libopenmpi-dev                   # mpirun and libmpi for tensor.distributed
)
# Node.js and npm run ONNX Runtime (the npm package onnxruntime-node, installed into tools/onnxruntime below) for
# the ONNX export specs. Debian's nodejs 18 is enough; a machine that already has node and npm (NodeSource's
# nodejs, which conflicts with Debian's npm package) keeps its own.
command -v node >/dev/null 2>&1 || TEST_PACKAGES+=(nodejs)
command -v npm >/dev/null 2>&1 || TEST_PACKAGES+=(npm)

deps_only=false
case "${1:-}" in
  --deps) deps_only=true ;;
  "") ;;
  *) echo "usage: $0 [--deps]" >&2; exit 2 ;;
esac

cd "$(dirname "${BASH_SOURCE[0]}")"

sudo=()
if [ "$(id -u)" -ne 0 ]; then
  command -v sudo >/dev/null || { echo "setup.sh: run as root, or install sudo" >&2; exit 1; }
  sudo=(sudo)
fi

echo "== installing system packages"
"${sudo[@]}" env DEBIAN_FRONTEND=noninteractive apt-get update -q
"${sudo[@]}" env DEBIAN_FRONTEND=noninteractive apt-get install -y -q --no-install-recommends \
  "${RUNTIME_PACKAGES[@]}" "${TEST_PACKAGES[@]}"

# ONNX Runtime for node, pinned by tools/onnxruntime/package-lock.json (the CPU binding ships in the package;
# ONNXRUNTIME_NODE_INSTALL=skip skips the optional download of GPU execution providers at install time).
echo "== installing onnxruntime-node (tools/onnxruntime, npm ci)"
(cd tools/onnxruntime && ONNXRUNTIME_NODE_INSTALL=skip npm ci --no-audit --no-fund --loglevel=error)

if $deps_only; then exit 0; fi

echo "== building and installing the rock (luarocks --lua-version=5.1 make)"
"${sudo[@]}" luarocks --lua-version=5.1 make
echo "== installed: $(command -v th)"
