#!/bin/sh
# 1. Checks that AVX2/AVX-512 instructions appear only in functions of the
# VSegKernelsAVX2 / VSegKernelsAVX512 modules of a linked binary, or in C
# kernels of CKernels named vseg_*_avx512* / _avxvnni / _avx2 (compiled with a
# target attribute and only called after CPU-feature dispatch), so that the
# binary runs on a CPU without them.
#
# Why: each kernel module is compiled with its own -target-cpu. Any symbol the
# compiler emits with weak/linkonce linkage into several modules (unspecialized
# generics of the stdlib, value-witness memcpy helpers) is deduplicated by the
# linker, which may keep the AVX-512 copy for everybody. Keep kernel helpers
# internal (no @usableFromInline) so that only specialized, module-prefixed
# code is emitted.
#
# 2. Checks that the kernel run paths make no heap allocation (STYLE 5).
#
# Run after changing the kernels:
#   swift build -c release --product vseg && Benchmarks/kernels/check-isa-isolation.sh .build/release/vseg
set -eu
bin=${1:?usage: check-isa-isolation.sh BINARY}
bad=$(objdump -d --no-show-raw-insn "$bin" \
  | awk '/^[0-9a-f]+ <.*>:$/ { name = $2 }
         /(%ymm|%zmm|\{%k[0-7]\}|vfmadd|vbroadcastss)/ { print name }' \
  | sort -u | grep -v -E '^<\$s(17VSegKernelsAVX512|15VSegKernelsAVX2)' \
  | grep -v -E '^<vseg_[a-z0-9_]*_(avx512[a-z0-9]*|avxvnni|avx2)>:$' || true)
if [ -n "$bad" ]; then
  echo "AVX/AVX-512 code outside the per-ISA kernel modules (would crash on older CPUs):" >&2
  echo "$bad" >&2
  exit 1
fi
echo "ok: AVX2/AVX-512 instructions only inside VSegKernelsAVX2/VSegKernelsAVX512 in $bin"

# Prepare allocates, run does not: in the kernel modules only the pack*
# functions may call the allocator or touch reference counts.
alloc=$(objdump -dr --no-show-raw-insn "$bin" \
  | awk '/^[0-9a-f]+ <.*>:$/ { name = $2 } /call/ { print name " -> " $NF }' \
  | grep -E '^<\$s(17VSegKernelsAVX512|15VSegKernelsAVX2|19VSegKernelsPortable)' \
  | grep -E '(alloc|retain|release|malloc)' | grep -v -E 'ISAConvO[0-9]+pack|ISAGemmO4pack' || true)
if [ -n "$alloc" ]; then
  echo "heap allocation or ARC traffic in kernel run paths:" >&2
  echo "$alloc" >&2
  exit 1
fi
echo "ok: no allocation or reference counting in the kernel modules outside pack*"
