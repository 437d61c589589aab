#!/usr/bin/env bash
# Sets up a fresh machine for Whittle: Debian packages the tests use, pnpm, the workspace, a build.
set -euo pipefail
cd "$(dirname "$0")/.."

# python3-onnx gives onnx.checker for the conformance tests; libonnx-testdata is the ONNX conformance suite;
# imagemagick, espeak-ng and sox make real calibration data (rendered text, synthesized speech).
debian_packages=(python3-onnx python3-numpy libonnx-testdata imagemagick espeak-ng sox)
if command -v apt-get >/dev/null 2>&1; then
  missing=()
  for package in "${debian_packages[@]}"; do
    dpkg -s "$package" >/dev/null 2>&1 || missing+=("$package")
  done
  if [ ${#missing[@]} -gt 0 ]; then
    sudo_prefix=()
    [ "$(id -u)" -eq 0 ] || sudo_prefix=(sudo)
    "${sudo_prefix[@]}" apt-get update -qq
    DEBIAN_FRONTEND=noninteractive "${sudo_prefix[@]}" apt-get install -y -qq "${missing[@]}" >/dev/null
  fi
fi

# pnpm 11 needs Node 22; this project runs on Node 20.
if ! command -v pnpm >/dev/null 2>&1 || [ "$(pnpm --version | cut -d. -f1)" != "10" ]; then
  npm install -g pnpm@10 >/dev/null
fi

# onnxruntime-node's install script downloads CUDA files, which fails offline; the CPU binaries are bundled.
export ONNXRUNTIME_NODE_INSTALL=skip
pnpm install --frozen-lockfile
pnpm build
