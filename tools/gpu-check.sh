#!/usr/bin/env bash
# One run of everything that needs a GPU, for a session that has a GPU machine for a few minutes: builds the
# CUDA backend for the machine's architecture, runs the CUDA specs (every CUDA op against the CPU), the
# distributed spec (its NCCL branch runs where /dev/nvidia0 exists), then the whole suite on that build, and
# leaves each log in $OUT (or ./gpu-check-logs). On the GPU machine of ../shared/device/README.md:
#
#   bash .gpu-kit/setup.sh && . /tmp/kit/env.sh && bash tools/gpu-check.sh
#
# The CUDA specs compare with the CPU and need nothing else; the full suite's reference checks need PyTorch
# (/usr/bin/python3 with torch) and the distributed spec needs Open MPI: where those are missing, they fail
# for that reason, which the logs show.
#
# Environment: CUDA_ARCH (default: the first GPU's compute capability from nvidia-smi, else 90), OUT, JOBS;
# PREBUILT=dir: use libtensor.so and libtensor_cuda.so built elsewhere (e.g. here, with nvcc and
# -DCMAKE_CUDA_ARCHITECTURES=90, then copied into an ignored folder that travels) instead of building, which
# saves the GPU machine's minutes; STEPS: the steps to run, of cuda_spec cuda_ops_spec bench cpu_rows profile
# distributed_spec full_suite (default: all); STEP_TIMEOUT: seconds each step may take (default 900).
#
# cpu_rows is the CPU's side of issue 3 on the GPU machine's host: a CPU-only library built for the host's own
# instruction set (build-native) and the issue's speed rows (10^3 and 16 floats, 10^7, conv2d, SGEMM) at 1 and 2
# threads against the host's PyTorch. The development VMs keep too little of their cache for the 10^3 rows
# (bench/RESULTS.md, fourteenth session); the hosts' Xeons do not.
set -uo pipefail

root=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
cd "$root"
out=${OUT:-$root/gpu-check-logs}
mkdir -p "$out"
jobs=${JOBS:-$(nproc)}
if [ -x /usr/local/cuda/bin/nvcc ]; then export PATH="$PATH:/usr/local/cuda/bin"; fi

arch=${CUDA_ARCH:-}
if [ -z "$arch" ]; then
  arch=$(nvidia-smi --query-gpu=compute_cap --format=csv,noheader 2>/dev/null | head -1 | tr -d '. ')
  arch=${arch:-90}
fi

# busted: the GPU kit's wrapper on PATH, or Debian's script run by LuaJIT
if [ -x /usr/bin/busted ]; then busted=(luajit /usr/bin/busted); else busted=(busted); fi
export BUSTED="${busted[*]}"

steps=" ${STEPS:-cuda_spec cuda_ops_spec bench cpu_rows profile distributed_spec full_suite} "
status=0
# Runs a named step, its output into $out/<name>.log; the summary line goes to the terminal.
step() {
  local name=$1
  shift
  case "$name" in configure|build|config) ;; *) [[ "$steps" == *" $name "* ]] || return 0 ;; esac
  local start=$SECONDS
  if timeout "${STEP_TIMEOUT:-900}" "$@" >"$out/$name.log" 2>&1; then
    echo "ok      $name ($((SECONDS - start)) s)"
  else
    echo "FAILED  $name ($((SECONDS - start)) s): see $out/$name.log"
    tail -20 "$out/$name.log"
    status=1
  fi
  grep -E 'successes|SKIPPED' "$out/$name.log" | tail -2
}

{ nvidia-smi; nvcc --version; } >"$out/machine.log" 2>&1
echo "GPU: $(nvidia-smi --query-gpu=name,memory.total --format=csv,noheader 2>/dev/null | head -1), sm_$arch"

if [ -n "${PREBUILT:-}" ]; then
  lib_dir=$(cd "$PREBUILT" && pwd)
  export LD_LIBRARY_PATH="$lib_dir:${LD_LIBRARY_PATH:-}:/usr/local/cuda/lib64"
  if ldd "$lib_dir/libtensor_cuda.so" "$lib_dir/libtensor.so" | grep -q 'not found'; then
    # the CUDA libraries of the Python wheels beside PyTorch, where the toolkit lacks one
    for d in $(find / -xdev -type d \( -path '*/nvidia/*/lib' -o -path '*/torch/lib' \) 2>/dev/null); do
      LD_LIBRARY_PATH="$LD_LIBRARY_PATH:$d"
    done
    ldd "$lib_dir/libtensor_cuda.so" "$lib_dir/libtensor.so" | grep 'not found'
  fi
else
  lib_dir=$root/build-gpu
  generator=()
  if command -v ninja >/dev/null; then generator=(-G Ninja); fi
  step configure cmake -S . -B build-gpu "${generator[@]}" -DCMAKE_BUILD_TYPE=Release -DTENSOR_TESTS=ON \
    -DTENSOR_CUDA=ON -DCMAKE_CUDA_ARCHITECTURES="$arch" ${KIT_CMAKE_ARGS:-}
  step build cmake --build build-gpu -j "$jobs"
fi
export TENSOR_LIBRARY=$lib_dir/libtensor.so
step config luajit -e "package.path='./lua/?.lua;./lua/?/init.lua;'..package.path
  local torch = require 'tensor'; print(torch.config()); print(torch.cuda.is_available(), torch.cuda.device_count())"
cat "$out/config.log"

step cuda_spec "${busted[@]}" test/cuda_spec.lua
step cuda_ops_spec "${busted[@]}" test/cuda_ops_spec.lua
# the GPU rows of bench/ against the PyTorch of this machine (python3 there, where Debian's is missing)
python=
for p in /usr/bin/python3 python3; do
  if "$p" -c 'import torch' 2>/dev/null; then python=$(command -v "$p"); break; fi
done
step bench env PYTHON="${python:-python3}" \
  luajit bench/run.lua --threads=1 --rounds=2 --markdown cuda
cpu_rows() {
  local generator=()
  if command -v ninja >/dev/null; then generator=(-G Ninja); fi
  cmake -S . -B build-native "${generator[@]}" -DCMAKE_BUILD_TYPE=Release -DTENSOR_NATIVE=ON -DTENSOR_CUDA=OFF \
    ${KIT_CMAKE_ARGS:-} >/dev/null && cmake --build build-native -j "$jobs" --target tensor >/dev/null || return 1
  TENSOR_LIBRARY=$root/build-native/libtensor.so PYTHON="${python:-python3}" luajit bench/run.lua '10^3 float32' \
    'float32 (per-op overhead)' 'a + b, 10^7' 'a * b, 10^7' 'a:exp(), 10^7' 'conv2d 1x64x56x56, 64' sgemm \
    --threads=1,2 --rounds=2 --markdown
}
export root jobs python
export -f cpu_rows
step cpu_rows bash -c cpu_rows
step profile env PYTHON="${python:-python3}" bash tools/cuda-step-profile.sh
step distributed_spec "${busted[@]}" test/distributed_spec.lua
step full_suite env TENSOR_CUDA=ON BUILD_DIR=build-gpu bash test/run.sh
if [ -f "$out/profile.log" ]; then grep -E '^(tensor|PyTorch) ' "$out/profile.log"; fi
if [ -f "$out/bench.log" ]; then grep '^|' "$out/bench.log"; fi
if [ -f "$out/cpu_rows.log" ]; then grep '^|' "$out/cpu_rows.log"; fi
exit $status
