#!/bin/sh
# bench/gpu-check.sh: the CUDA backend on a GPU machine in one run (about 5 minutes on one H200,
# 10 at most): configure and build the engine-only tree with the CUDA backend, run suite cuda (and
# the engine's cuda parity case), then time the AU network's training iteration and inference with
# `mimica-bench train/infer --backend cuda` and with the PyTorch reference on the same GPU, and
# print a table of images/s and ratios (bench/README.md, section "gpu").
#
# Needs: a C compiler, meson, ninja, the CUDA toolkit (nvcc; from $CUDA_PATH, $CUDA_HOME, PATH or
# /usr/local/cuda), cuDNN 9 and cuBLAS (from the toolkit, else PyTorch's pip packages
# nvidia-cudnn-* / nvidia-cublas-*, found through python3), python3 with torch for the ratio.
#
# Environment: BUILD (build folder, default build-gpu), BATCH (16), TRAIN_ITERS (10),
# INFER_ITERS (20), PYTHON (python3), MIMICA_SHARED_DIR (default ../shared).
# Usage: sh bench/gpu-check.sh   (from anywhere; exits non-zero when the build or a test fails)
set -u

cd "$(dirname "$0")/.." || exit 1
SRC=$(pwd)
BUILD=${BUILD:-$SRC/build-gpu}
BATCH=${BATCH:-16}
TRAIN_ITERS=${TRAIN_ITERS:-10}
INFER_ITERS=${INFER_ITERS:-20}
PY=${PYTHON:-python3}
SHARED=${MIMICA_SHARED_DIR:-$SRC/../shared}
LOG=$BUILD/gpu-check-logs
T0=$(date +%s)

say() { printf '\n== %s (%ds)\n' "$*" $(($(date +%s) - T0)); }
die() { printf 'gpu-check: %s\n' "$*" >&2; exit 1; }

# ---- toolkit, cuDNN, cuBLAS ------------------------------------------------------------------
say "toolkit"
if ! command -v nvcc >/dev/null 2>&1; then
    for d in "${CUDA_PATH:-}" "${CUDA_HOME:-}" /usr/local/cuda; do
        if [ -n "$d" ] && [ -x "$d/bin/nvcc" ]; then
            PATH=$d/bin:$PATH
            export PATH
            break
        fi
    done
fi
command -v nvcc >/dev/null 2>&1 || die "nvcc not found (set CUDA_PATH)"
CUDA_ROOT=$(dirname "$(dirname "$(command -v nvcc)")")
nvcc --version | tail -n 2
command -v nvidia-smi >/dev/null 2>&1 &&
    nvidia-smi --query-gpu=name,driver_version,memory.total --format=csv,noheader

# A pip package's folder (nvidia.cudnn / nvidia.cublas are namespace packages in some versions).
pip_dir() {
    "$PY" -c "import importlib, os, sys
m = importlib.import_module('$1')
f = getattr(m, '__file__', None)
print(os.path.dirname(f) if f else list(m.__path__)[0])" 2>/dev/null
}
has_lib() { ls "$1"/lib"$2".so* >/dev/null 2>&1; }
in_toolkit() {
    for l in "$CUDA_ROOT/lib64" "$CUDA_ROOT/lib" "$CUDA_ROOT/targets/x86_64-linux/lib"; do
        has_lib "$l" "$1" && return 0
    done
    return 1
}
if [ ! -e "$CUDA_ROOT/include/cudnn.h" ] || ! in_toolkit cudnn; then
    d=$(pip_dir nvidia.cudnn) || die "cuDNN is neither in $CUDA_ROOT nor a pip package"
    export CUDNN_INCLUDE_DIR="$d/include" CUDNN_LIB_DIR="$d/lib"
    LD_LIBRARY_PATH=$d/lib${LD_LIBRARY_PATH:+:$LD_LIBRARY_PATH}
fi
if [ ! -e "$CUDA_ROOT/include/cublas_v2.h" ] || ! in_toolkit cublas; then
    d=$(pip_dir nvidia.cublas) || die "cuBLAS is neither in $CUDA_ROOT nor a pip package"
    export CUBLAS_INCLUDE_DIR="$d/include" CUBLAS_LIB_DIR="$d/lib"
    LD_LIBRARY_PATH=$d/lib${LD_LIBRARY_PATH:+:$LD_LIBRARY_PATH}
fi
export LD_LIBRARY_PATH="${LD_LIBRARY_PATH:-}"
echo "toolkit $CUDA_ROOT; cuDNN ${CUDNN_LIB_DIR:-in the toolkit}; cuBLAS ${CUBLAS_LIB_DIR:-in the toolkit}"

# ---- build -----------------------------------------------------------------------------------
say "configure and build ($BUILD)"
if [ -d "$BUILD" ]; then
    meson setup --reconfigure "$BUILD" -Dgui=disabled -Dapp=disabled -Dcuda=enabled >/dev/null ||
        die "meson setup failed"
else
    meson setup "$BUILD" -Dgui=disabled -Dapp=disabled -Dcuda=enabled >/dev/null ||
        die "meson setup failed"
fi
mkdir -p "$LOG"
timeout 400 ninja -C "$BUILD" >"$LOG/build.txt" 2>&1 || {
    tail -n 40 "$LOG/build.txt"
    die "build failed (log: $LOG/build.txt)"
}
tail -n 1 "$LOG/build.txt"

# ---- tests ---------------------------------------------------------------------------------
say "suite cuda"
fail=0
# the golden export for the golden step (tests take $MIMICA_GOLDEN_DIR first)
if [ -z "${MIMICA_GOLDEN_DIR:-}" ] && [ -d "$SHARED/golden/aunet-b2" ]; then
    MIMICA_GOLDEN_DIR=$(cd "$SHARED/golden/aunet-b2" && pwd)
    export MIMICA_GOLDEN_DIR
fi
echo "golden: ${MIMICA_GOLDEN_DIR:-none found under $SHARED (the golden step will skip)}"
timeout 300 meson test -C "$BUILD" --suite cuda --print-errorlogs || fail=1
# the figures of every op (max error and bound per op) and of the golden step
"$BUILD/tests/cuda/test-cuda-ops" >"$LOG/test-cuda-ops.txt" 2>&1
grep -E '^(not ok|ok|# (cuda device|FAIL|deterministic))' "$LOG/test-cuda-ops.txt"
awk '/max \|err\|/ { n++; if (match($0, /norm\. [0-9.e+-]+/)) {
        v = substr($0, RSTART + 6, RLENGTH - 6) + 0; if (v >= w) { w = v; l = $0 } } }
     END { printf "%d comparisons; largest normalised error:\n%s\n", n, l }' "$LOG/test-cuda-ops.txt"
say "engine parity on cuda (graph ops with autograd, cuda against ref)"
if [ -x "$BUILD/tests/engine/test-engine-parity" ]; then
    (cd "$BUILD" && timeout 200 ./tests/engine/test-engine-parity test_parity_cuda) \
        >"$LOG/parity.txt" 2>&1 || fail=1
    grep -E '^(not ok|ok)|FAIL' "$LOG/parity.txt"
fi

# ---- benches -------------------------------------------------------------------------------
BENCH=$BUILD/bench/mimica-bench
[ -x "$BENCH" ] || die "no $BENCH"
# ours: images/s from the JSON line
ours() { # precision op iters
    MIMICA_CUDA_PRECISION=$1 timeout 150 "$BENCH" "$2" --backend cuda --batch "$BATCH" \
        --iters "$3" >"$LOG/ours-$2-$1.txt" 2>&1 || {
        tail -n 3 "$LOG/ours-$2-$1.txt" >&2
        echo "-"
        return
    }
    sed -n 's/.*"images_per_s": \([0-9.]*\).*/\1/p' "$LOG/ours-$2-$1.txt" | tail -n 1
}
# PyTorch: images/s from its bench lines
torch_train() { # extra args
    timeout 150 "$PY" "$SHARED/peer/torch_ref.py" --device cuda --bench-train "$TRAIN_ITERS" \
        --batch "$BATCH" "$@" >"$LOG/torch-train$*.txt" 2>&1 || { echo "-"; return; }
    sed -n 's/.* \([0-9.]*\) images\/s.*/\1/p' "$LOG/torch-train$*.txt" | tail -n 1
}
torch_infer() {
    timeout 150 "$PY" "$SHARED/peer/torch_ref.py" --device cuda --bench-infer "$INFER_ITERS" \
        --batch "$BATCH" "$@" >"$LOG/torch-infer$*.txt" 2>&1 || { echo "-"; return; }
    ms=$(sed -n 's/.*, \([0-9.]*\) ms\/image.*/\1/p' "$LOG/torch-infer$*.txt" | tail -n 1)
    [ -n "$ms" ] && awk -v m="$ms" 'BEGIN { printf "%.2f", 1000 / m }' || echo "-"
}
ratio() { awk -v a="$1" -v b="$2" 'BEGIN { if (a + 0 > 0 && b + 0 > 0) printf "%.2f", a / b; else printf "-" }'; }

say "benches (batch $BATCH; train $TRAIN_ITERS iterations, infer $INFER_ITERS batches)"
tr32=$(ours fp32 train "$TRAIN_ITERS")
trtf=$(ours tf32 train "$TRAIN_ITERS")
trbf=$(ours bf16 train "$TRAIN_ITERS")
in32=$(ours fp32 infer "$INFER_ITERS")
intf=$(ours tf32 infer "$INFER_ITERS")
inbf=$(ours bf16 infer "$INFER_ITERS")
pt_tr=$(torch_train)
pt_trbf=$(torch_train --bf16)
pt_in=$(torch_infer)
pt_inbf=$(torch_infer --bf16)

say "results"
echo "images/s on $(nvidia-smi --query-gpu=name --format=csv,noheader 2>/dev/null | head -n 1)," \
    "batch $BATCH (train: source + target images; PyTorch fp32 = its defaults, TF32 convolutions)"
printf '| %-6s | %-26s | %10s | %-22s | %10s | %6s |\n' run Mimica img/s PyTorch img/s ratio
printf '|--------|----------------------------|------------|------------------------|------------|--------|\n'
row() { printf '| %-6s | %-26s | %10s | %-22s | %10s | %6s |\n' "$1" "$2" "$3" "$4" "$5" "$(ratio "$3" "$5")"; }
row train "cuda fp32 (strict)" "$tr32" "cuda fp32" "$pt_tr"
row train "cuda tf32" "$trtf" "cuda fp32" "$pt_tr"
row train "cuda bf16 convolutions" "$trbf" "cuda bf16 autocast" "$pt_trbf"
row infer "cuda fp32 (strict)" "$in32" "cuda fp32" "$pt_in"
row infer "cuda tf32" "$intf" "cuda fp32" "$pt_in"
row infer "cuda bf16 convolutions" "$inbf" "cuda bf16 autocast" "$pt_inbf"
echo "logs: $LOG; total $(($(date +%s) - T0)) s"
[ "$fail" = 0 ] || die "a test failed (see above and $LOG)"
