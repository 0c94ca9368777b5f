#!/usr/bin/env bash
# The test command: builds libtensor and the C tests in build/ (Release, incremental), runs the C tests
# with ctest, then every busted spec under test/ against that build. Exits non-zero on any failure.
#
#   bash test/run.sh                      # everything
#   bash test/run.sh test/views_spec.lua  # C tests, then only the given specs (any busted arguments)
#
# Environment: JOBS (parallel build jobs, default: the number of CPUs), BUILD_DIR (default: build), BUSTED
# (the busted command),
# TENSOR_CUDA (ON/OFF: build the CUDA backend; default ON where nvidia-smi sees a GPU, else OFF: without a
# device its specs only check the unavailable paths, and .ci/run already compiles and links it in the rock).
set -euo pipefail

root=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
cd "$root"
build=${BUILD_DIR:-build}
case $build in /*) ;; *) build=$root/$build ;; esac
jobs=${JOBS:-$(nproc)}
if [ -z "${TENSOR_CUDA:-}" ]; then
  if command -v nvidia-smi >/dev/null && nvidia-smi -L >/dev/null 2>&1; then TENSOR_CUDA=ON; else TENSOR_CUDA=OFF; fi
fi

# Runs a command with its output hidden unless it fails.
quiet() {
  local log
  log=$(mktemp)
  if ! "$@" >"$log" 2>&1; then
    cat "$log"
    rm -f "$log"
    echo "test/run.sh: failed: $*" >&2
    return 1
  fi
  rm -f "$log"
}

echo "== build (${build#"$root"/}, Release, CUDA $TENSOR_CUDA)"
quiet cmake -S . -B "$build" -DCMAKE_BUILD_TYPE=Release -DTENSOR_TESTS=ON -DTENSOR_CUDA="$TENSOR_CUDA"
quiet cmake --build "$build" -j "$jobs"

echo "== C tests (ctest)"
(cd "$build" && ctest --output-on-failure -j "$jobs")

echo "== Lua specs (busted)"
# The specs load the library just built, whatever TENSOR_LIBRARY the caller's shell has.
export TENSOR_LIBRARY="$build/libtensor.so"
# busted: $BUSTED, else Debian's script run by LuaJIT (plain `busted` would run under Lua 5.2), else the one on
# PATH (the GPU machine's kit provides a LuaJIT wrapper)
if [ -n "${BUSTED:-}" ]; then
  $BUSTED "$@"
elif [ -x /usr/bin/busted ]; then
  luajit /usr/bin/busted "$@"
else
  busted "$@"
fi
