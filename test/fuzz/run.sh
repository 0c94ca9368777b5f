#!/usr/bin/env bash
# Fuzzes the serialization readers (lib/io) with libFuzzer under AddressSanitizer and UBSan.
#
#   bash test/fuzz/run.sh            # 60 seconds
#   bash test/fuzz/run.sh 600 -jobs=2  # ten minutes, then any libFuzzer flags
#
# Needs clang (Debian: apt-get install clang). Builds build-fuzz/fuzz_io from lib/io (with the storage code it
# uses) and test/fuzz/fuzz_io.c, starts from the seeds in test/fuzz/seeds/ (small valid files of each format)
# and keeps what it learns in build-fuzz/corpus/. A crash leaves build-fuzz/crash-<hash>; replay it with
# build-fuzz/fuzz_io <file>.
set -euo pipefail
root=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
cd "$root"
seconds=${1:-60}
shift || true
out=${FUZZ_DIR:-$root/build-fuzz}
mkdir -p "$out/corpus"
cc=${CC_FUZZ:-$(command -v clang || command -v clang-14 || true)}
[ -n "$cc" ] || { echo "test/fuzz/run.sh: clang not found (apt-get install clang)" >&2; exit 1; }
# The readers and what they build on (storages, tensor headers, the host allocator, errors); not the kernels.
sources="lib/io/*.c lib/error.c lib/tensor.c lib/storage.c lib/cpu/alloc.c lib/ops/copy.c"
# shellcheck disable=SC2086
"$cc" -g -O1 -std=c11 -D_GNU_SOURCE -fsanitize=fuzzer,address,undefined -fno-sanitize-recover=undefined \
  -Ilib/include -Ilib $sources test/fuzz/fuzz_io.c -o "$out/fuzz_io"
cp -n test/fuzz/seeds/* "$out/corpus/" 2>/dev/null || true
cd "$out"
exec ./fuzz_io corpus -max_total_time="$seconds" -max_len=65536 -timeout=10 -rss_limit_mb=2048 -print_final_stats=1 "$@"
