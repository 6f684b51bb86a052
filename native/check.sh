#!/usr/bin/env bash
# The native library's build matrix, as CI runs it (after pytest's parity tests):
#   gcc and clang with -Werror, CMake + ctest, AddressSanitizer + UndefinedBehaviorSanitizer,
#   -O0 / -O3 / -O3 -mavx2, and an aarch64 cross build run under qemu; every build's em_test
#   passes and prints the same digest of every stage's output (same bits on every CPU and flag).
# Needs: gcc, clang, cmake, make, gcc-aarch64-linux-gnu, qemu-user-static (Debian packages).
set -euo pipefail
cd "$(dirname "$0")"
out=build/check
rm -rf "$out"
digests=()
run() {  # name, make args...
  local name=$1; shift
  make -s BUILD="$out/$name" "$@" "$out/$name/em_test" >/dev/null
  local exec=()
  if [[ $name == aarch64 ]]; then exec=(qemu-aarch64-static -L /usr/aarch64-linux-gnu); fi
  "${exec[@]}" "$out/$name/em_test" >/dev/null
  local d; d=$("${exec[@]}" "$out/$name/em_test" --digest)
  echo "native: $name ok (digest $d)"
  digests+=("$d")
}
run gcc-O3 CC=gcc
run gcc-O0 CC=gcc OPT=-O0
if grep -qw avx2 /proc/cpuinfo; then run gcc-avx2 CC=gcc OPT="-O3 -mavx2"; fi
run clang CC=clang
run asan-ubsan CC=clang OPT="-O1 -g -fno-omit-frame-pointer" SAN="-fsanitize=address,undefined -fno-sanitize-recover=undefined"
run aarch64 CC=aarch64-linux-gnu-gcc
# the example programs build with both compilers too
make -s BUILD="$out/gcc-O3" CC=gcc examples >/dev/null
make -s BUILD="$out/clang" CC=clang examples >/dev/null
cmake -S . -B "$out/cmake" -DCMAKE_BUILD_TYPE=Release >/dev/null
cmake --build "$out/cmake" -j 2 >/dev/null
ctest --test-dir "$out/cmake" --output-on-failure >/dev/null
echo "native: cmake + ctest ok"
if [[ $(printf '%s\n' "${digests[@]}" | sort -u | wc -l) -ne 1 ]]; then
  echo "native: builds disagree: ${digests[*]}" >&2
  exit 1
fi
echo "native: all ${#digests[@]} builds give the same bits"
