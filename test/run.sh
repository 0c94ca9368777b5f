#!/usr/bin/env bash
# The test command: builds libtensor and the C tests in build/ (Release, incremental), runs the C tests
# with ctest, then every busted spec under test/ against that build. Exits non-zero on any failure.
#
#   bash test/run.sh                      # everything
#   bash test/run.sh test/views_spec.lua  # C tests, then only the given specs (any busted arguments)
#
# Environment: JOBS (parallel build jobs, default: the number of CPUs), BUILD_DIR (default: build).
set -euo pipefail

root=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
cd "$root"
build=${BUILD_DIR:-build}
case $build in /*) ;; *) build=$root/$build ;; esac
jobs=${JOBS:-$(nproc)}

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

echo "== build (${build#"$root"/}, Release)"
quiet cmake -S . -B "$build" -DCMAKE_BUILD_TYPE=Release -DTENSOR_TESTS=ON
quiet cmake --build "$build" -j "$jobs"

echo "== C tests (ctest)"
(cd "$build" && ctest --output-on-failure -j "$jobs")

echo "== Lua specs (busted)"
# The specs load the library just built, whatever TENSOR_LIBRARY the caller's shell has.
export TENSOR_LIBRARY="$build/libtensor.so"
luajit /usr/bin/busted "$@"
