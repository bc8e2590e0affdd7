#!/usr/bin/env bash
# Creates .venv-ref at the repository root: the Python references used by benchmarks and by the
# scripts that regenerate golden files (never a runtime dependency of flowsteer). Idempotent: does
# nothing when the venv already imports everything. Versions are pinned to what the committed
# figures and golden files were produced with; native MuJoCo must match @mujoco/mujoco (3.14.0).
#
#   bash bench/setup_venv.sh            # or: VENV=/path/to/venv bash bench/setup_venv.sh
#
# Offline machines with local wheel indexes: pip prints a few connection retries first, then
# installs from the local wheels.
set -euo pipefail

root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
venv="${VENV:-$root/.venv-ref}"
packages=(mujoco==3.14.0 torch==2.13.0 onnx==1.23.1 onnxruntime==1.30.0 pyarrow==25.0.1 datasets==5.0.1 numpy==2.4.6 pillow==12.3.0)
check='import mujoco, torch, onnx, onnxruntime, pyarrow, datasets, numpy, PIL; assert mujoco.__version__ == "3.14.0", mujoco.__version__'

if [ -x "$venv/bin/python" ] && "$venv/bin/python" -c "$check" 2>/dev/null; then
  echo "[setup_venv] $venv is ready (mujoco $("$venv/bin/python" -c 'import mujoco; print(mujoco.__version__)'))"
  exit 0
fi

python="${PYTHON:-python3}"
if ! command -v "$python" >/dev/null; then
  echo "[setup_venv] $python not found: install Python 3.10+ (Debian: apt-get install python3 python3-venv)" >&2
  exit 1
fi
if [ ! -x "$venv/bin/python" ]; then
  echo "[setup_venv] creating $venv"
  "$python" -m venv "$venv"
fi
echo "[setup_venv] installing ${packages[*]}"
"$venv/bin/pip" install --disable-pip-version-check -q "${packages[@]}"
"$venv/bin/python" -c "$check"
echo "[setup_venv] done: $venv"
