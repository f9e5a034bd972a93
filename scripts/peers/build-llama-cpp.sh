#!/usr/bin/env bash
# Builds llama.cpp — the engine a local user would pick instead of ours (llama.vscode, Ollama,
# LM Studio) — from the llama-cpp-python sdist on PyPI (it vendors llama.cpp and its
# convert_hf_to_gguf.py), for the side-by-side benchmark (npm run bench:peers). Idempotent: skips
# what is already built. 15–30 min on 2 cores. Needs python3 + pip, cmake, a C++ compiler.
#   bash scripts/peers/build-llama-cpp.sh [.tmp/peers]
set -euo pipefail
cd "$(dirname "$0")/../.."
OUT=${1:-.tmp/peers}
VERSION=${LLAMA_CPP_PYTHON_VERSION:-0.3.36}
PY=${PY:-$( [ -x .venv/bin/python ] && echo .venv/bin/python || echo python3 )}
mkdir -p "$OUT"
SRC="$OUT/llama-cpp-python-$VERSION"
if [ ! -d "$SRC" ]; then
  "$PY" -m pip download --no-binary :all: --no-deps "llama-cpp-python==$VERSION" -d "$OUT" -q
  tar -xzf "$OUT/llama_cpp_python-$VERSION.tar.gz" -C "$OUT"
  [ -d "$SRC" ] || mv "$OUT/llama_cpp_python-$VERSION" "$SRC"
fi
LLAMA="$SRC/vendor/llama.cpp"
BUILD="$OUT/llama.cpp-build"
if [ ! -x "$BUILD/bin/llama-bench" ]; then
  cmake -S "$LLAMA" -B "$BUILD" -G Ninja -DCMAKE_BUILD_TYPE=Release -DGGML_NATIVE=ON \
    -DLLAMA_CURL=OFF -DLLAMA_BUILD_TESTS=OFF -DLLAMA_BUILD_EXAMPLES=OFF -DLLAMA_BUILD_SERVER=OFF
  cmake --build "$BUILD" --target llama-bench llama-quantize llama-cli -j "$(nproc)"
fi
echo "llama.cpp: $BUILD/bin (convert: $LLAMA/convert_hf_to_gguf.py, gguf-py: $LLAMA/gguf-py)"
