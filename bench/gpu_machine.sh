#!/usr/bin/env bash
# The GPU figures in one call on a GPU machine (../shared/GPU.md): unpacks the Deno binary and
# the Vulkan loader carried in .gpu/ (not committed: .git/info/exclude), finds the adapter, and
# runs bench/gpu_ratios.ts and bench/gpu_keops.ts, writing their output under $OUT.
#
#   here, once:   mkdir -p .gpu/debs && xz -T2 -6 -c "$(command -v deno)" > .gpu/deno.xz \
#                 && (cd .gpu/debs && apt-get download libvulkan1)
#   device run:   bash bench/gpu_machine.sh        (carry: [".gpu"])
set -euo pipefail
OUT="${OUT:-/tmp/gpu-out}"
mkdir -p "$OUT"
for f in .gpu/debs/*.deb; do dpkg -x "$f" /; done
ldconfig || true
xz -dc .gpu/deno.xz > /tmp/deno && chmod +x /tmp/deno
probe='const a = await navigator.gpu?.requestAdapter(); console.log(a ? JSON.stringify(a.info) : "none")'
adapter="$(/tmp/deno eval "$probe")"
if [ "$adapter" = none ] && [ -f /usr/local/nvidia/share/vulkan/icd.d/nvidia_icd.json ]; then
  export VK_DRIVER_FILES=/usr/local/nvidia/share/vulkan/icd.d/nvidia_icd.json
  adapter="$(/tmp/deno eval "$probe")"
fi
echo "adapter: $adapter" | tee "$OUT/adapter.txt"
nvidia-smi --query-gpu=name,driver_version --format=csv > "$OUT/nvidia-smi.txt" 2>&1 || true
export DENO_NO_UPDATE_CHECK=1
timeout 240 /tmp/deno run -A bench/gpu_keops.ts 1000000 2>&1 | tee "$OUT/gpu_keops.md"
timeout 240 /tmp/deno run -A bench/gpu_ratios.ts 5 2>&1 | tee "$OUT/gpu_ratios.md"
