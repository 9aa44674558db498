# Shared set-up for scripts/demo and scripts/test: a virtual environment in .venv
# with leiosurv and its extras installed.  Needs only python3 (>= 3.11).
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$root"
extras="${LEIOSURV_EXTRAS:-all}"
if [ ! -x .venv/bin/python ]; then
  python3 -m venv .venv
fi
.venv/bin/python -m pip install -q --upgrade pip
.venv/bin/python -m pip install -q -e ".[${extras}]"
