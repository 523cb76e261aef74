#!/usr/bin/env bash
# Make bench/.fer-venv: a Python with the PyPI `fer` package (it ships its own weights), for
# bench_frame.py --fer-python. fer is installed with --no-deps plus its light needs; TensorFlow,
# OpenCV and NumPy are borrowed from the project's .venv through a .pth file (saves 2 GB).
set -euo pipefail
cd "$(dirname "$0")/.."
[ -x .venv/bin/python ] || { echo "create the project venv first (see README)"; exit 1; }
python3 -m venv bench/.fer-venv
site=$(bench/.fer-venv/bin/python -c 'import site; print(site.getsitepackages()[0])')
.venv/bin/python -c 'import site; print(site.getsitepackages()[0])' > "$site/project-venv.pth"
bench/.fer-venv/bin/pip install -q --no-deps fer requests urllib3 idna certifi charset-normalizer "setuptools<81"
echo "ready: python bench/bench_frame.py --fer-python bench/.fer-venv/bin/python"
