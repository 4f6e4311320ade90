#!/usr/bin/env bash
# Set up everything mmseqnet needs in a virtual environment, once.
#
#   tools/setup_env.sh            # or: make env
#
# - creates the virtual environment (MMSEQNET_VENV, default <repo>/.venv);
# - installs torch (MMSEQNET_TORCH, default torch==2.13.0; set
#   MMSEQNET_TORCH_INDEX, e.g. to PyTorch's CPU wheel index, to pick a build);
# - builds the mmcv 2.1.0 wheel with its C++/CUDA ops ONCE per torch/Python
#   build and caches it outside the clone (MMSEQNET_CACHE, default
#   ~/.cache/mmseqnet), so later runs, other clones and CI reuse it
#   (MMSEQNET_MMCV_WHEEL=path/to/mmcv-2.1.0-*.whl reuses one built before);
# - installs mmengine, mmdet, openmim, scipy and mmseqnet (editable).
# A second run finds everything in place and returns in seconds.
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
VENV="${MMSEQNET_VENV:-$ROOT/.venv}"
PYTHON="${PYTHON:-python3}"
TORCH_SPEC="${MMSEQNET_TORCH:-torch==2.13.0}"
TORCH_INDEX="${MMSEQNET_TORCH_INDEX:-}"
CACHE="${MMSEQNET_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/mmseqnet}"
MMCV_VERSION=2.1.0
VPY="$VENV/bin/python"

log() { printf '[setup_env] %s\n' "$*"; }

fingerprint() {
    { cat "$ROOT/setup.py" "$ROOT/tools/setup_env.sh"
      echo "$TORCH_SPEC $TORCH_INDEX"; "$PYTHON" --version; } | sha256sum | cut -c1-16
}

STAMP="$VENV/.mmseqnet-env"
FP="$(fingerprint)"
if [[ -f "$STAMP" && "$(cat "$STAMP")" == "$FP" ]] &&
   "$VPY" -c 'import mmseqnet, mmcv.ops' >/dev/null 2>&1; then
    log "environment ready: $VENV"
    exit 0
fi

if ! "$PYTHON" -c 'import sys; assert sys.version_info >= (3, 10)' 2>/dev/null; then
    echo "mmseqnet needs Python >= 3.10; set PYTHON=/path/to/python3.x" >&2
    exit 1
fi

if [[ ! -x "$VPY" ]]; then
    log "creating virtual environment $VENV"
    "$PYTHON" -m venv "$VENV"
fi
PIP=("$VPY" -m pip --disable-pip-version-check)

# setuptools >= 82 has no pkg_resources, which the mmcv build, openmim and
# mmengine import.
CONSTRAINTS="$VENV/mmseqnet-constraints.txt"
echo 'setuptools<82' > "$CONSTRAINTS"
export PIP_CONSTRAINT="$CONSTRAINTS"

index_args=()
[[ -n "$TORCH_INDEX" ]] && index_args=(--extra-index-url "$TORCH_INDEX")
if ! "$VPY" -c 'import torch' >/dev/null 2>&1; then
    log "installing $TORCH_SPEC"
    "${PIP[@]}" install "${index_args[@]}" "$TORCH_SPEC" 'setuptools<82' wheel
fi
TORCH_VERSION="$("$VPY" -c 'import torch; print(torch.__version__)')"
PY_TAG="$("$VPY" -c 'import sys; print(f"cp{sys.version_info[0]}{sys.version_info[1]}")')"

# CUDA ops are compiled when torch has CUDA and nvcc is at hand.
FORCE_CUDA=0
if "$VPY" -c 'import torch, sys; sys.exit(torch.version.cuda is None)' &&
   command -v nvcc >/dev/null 2>&1; then
    FORCE_CUDA=1
fi
WHEEL_DIR="$CACHE/wheels/mmcv-$MMCV_VERSION-torch$TORCH_VERSION-$PY_TAG-cuda$FORCE_CUDA"
mkdir -p "$WHEEL_DIR"
# A wheel built elsewhere for the same torch/Python/CUDA (another clone's
# cache, a CI artefact) saves the build; the import check below still runs.
if [[ -n "${MMSEQNET_MMCV_WHEEL:-}" ]]; then
    cp "$MMSEQNET_MMCV_WHEEL" "$WHEEL_DIR"/
fi
(
    # One build at a time per cache entry (parallel CI runs, several clones).
    flock 9
    if ! ls "$WHEEL_DIR"/mmcv-"$MMCV_VERSION"-*.whl >/dev/null 2>&1; then
        log "building mmcv $MMCV_VERSION with ops for torch $TORCH_VERSION (20-40 minutes on 2 cores, once)"
        "${PIP[@]}" install 'setuptools<82' wheel ninja packaging psutil
        BUILD_DIR="$(mktemp -d)"
        # Without debug information (Python's own CFLAGS ask for -g): the
        # same optimised ops, a fifth less compile time per file (measured).
        CFLAGS="${CFLAGS:-} -g0" CXXFLAGS="${CXXFLAGS:-} -g0" \
        MMCV_WITH_OPS=1 FORCE_CUDA="$FORCE_CUDA" MAX_JOBS="$(nproc)" \
            "${PIP[@]}" wheel --no-build-isolation --no-deps --no-binary mmcv \
            -w "$BUILD_DIR" "mmcv==$MMCV_VERSION"
        mv "$BUILD_DIR"/mmcv-*.whl "$WHEEL_DIR"/
        rm -rf "$BUILD_DIR"
    fi
) 9>"$WHEEL_DIR.lock"
MMCV_WHEEL="$(ls "$WHEEL_DIR"/mmcv-"$MMCV_VERSION"-*.whl | head -n 1)"
log "using cached $MMCV_WHEEL"

# Naming the installed torch keeps pip from trading it (or the setuptools it
# needs) for something else while it resolves mmseqnet's requirements.
log "installing mmcv, mmengine, mmdet, openmim, scipy and mmseqnet with its tests, search (faiss, trackers) and web (gradio) extras"
"${PIP[@]}" install "${index_args[@]}" "torch==$TORCH_VERSION" "$MMCV_WHEEL" \
    -e "$ROOT[tests,search,web]"

"$VPY" -c 'import mmseqnet, mmcv.ops, mmdet, mmengine; print("mmseqnet", mmseqnet.__version__, "| mmcv", mmcv.__version__, "| mmdet", mmdet.__version__, "| mmengine", mmengine.__version__)'
echo "$FP" > "$STAMP"
log "environment ready: $VENV"
