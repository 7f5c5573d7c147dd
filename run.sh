#!/usr/bin/env bash
# Set up the project in .venv and run it: `./run.sh chat` (the chat page) or `./run.sh test` (the test suite).
set -euo pipefail
cd "$(dirname "$0")"

VENV=${RAG_VENV:-.venv}
PY=${PYTHON:-python3}

setup() {
  if [ ! -x "$VENV/bin/python" ]; then
    "$PY" -c 'import sys; sys.exit(sys.version_info < (3, 11))' || { echo "需要 Python 3.11 或更新版本" >&2; exit 1; }
    "$PY" -m venv "$VENV"
  fi
  local extra=${1:+[$1]} stamp="$VENV/.installed-${1:-base}" want
  want=$(cat pyproject.toml | sha256sum | cut -d' ' -f1)
  if [ ! -f "$stamp" ] || [ "$(cat "$stamp")" != "$want" ]; then
    "$VENV/bin/python" -m pip install -q --upgrade pip
    # torch first and pinned: the CPU build; an unpinned torch would pull a multi-GB CUDA build
    "$VENV/bin/python" -m pip install -q "torch==2.13.0"
    "$VENV/bin/python" -m pip install -q -e ".$extra"
    echo "$want" > "$stamp"
  fi
}

browser() {
  # The browser tests drive Debian's chromium; CJK fonts so Chinese renders in screenshots.
  if ! command -v chromium >/dev/null 2>&1 || ! fc-list 2>/dev/null | grep -qi "noto sans cjk"; then
    local sudo=""; [ "$(id -u)" = 0 ] || sudo="sudo"
    $sudo apt-get update -qq
    DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq chromium fonts-noto-cjk >/dev/null
  fi
}

case "${1:-}" in
  chat)
    setup ""
    shift
    exec "$VENV/bin/rag" ui "$@"
    ;;
  test)
    setup test
    browser
    shift
    exec "$VENV/bin/python" -m pytest "$@"
    ;;
  *)
    echo "用法：./run.sh chat [--host H --port P]   或   ./run.sh test [pytest 参数]" >&2
    exit 2
    ;;
esac
