#!/usr/bin/env bash
# Set up the project in .venv and run it: `./run.sh chat` (the chat page) or `./run.sh test` (the test suite).
set -euo pipefail
cd "$(dirname "$0")"

VENV=${RAG_VENV:-.venv}
PY=${PYTHON:-python3}
TORCH="torch==2.13.0"
# PyTorch's own index of CPU-only builds; set RAG_TORCH_INDEX to another index (or to "" to skip it).
TORCH_INDEX=${RAG_TORCH_INDEX-https://download.pytorch.org/whl/cpu}

setup() {
  if [ ! -x "$VENV/bin/python" ]; then
    "$PY" -c 'import sys; sys.exit(sys.version_info < (3, 11))' || { echo "需要 Python 3.11 或更新版本" >&2; exit 1; }
    echo "正在创建虚拟环境 $VENV …"
    "$PY" -m venv "$VENV"
  fi
  local extra=${1:+[$1]} stamp="$VENV/.installed-${1:-base}" want
  want=$(cat pyproject.toml | sha256sum | cut -d' ' -f1)
  if [ ! -f "$stamp" ] || [ "$(cat "$stamp")" != "$want" ]; then
    echo "正在安装依赖（第一次需要几分钟，之后启动不再安装）…"
    "$VENV/bin/python" -m pip install -q --upgrade pip
    install_torch
    echo "正在安装本项目及其余依赖…"
    # (PYTHONWARNINGS: setuptools' notes on editable installs are for packagers, not for someone starting the page)
    PYTHONWARNINGS=ignore "$VENV/bin/python" -m pip install -q -e ".$extra"
    echo "$want" > "$stamp"
  fi
}

install_torch() {
  # torch first and pinned, CPU-only: from the default index on Linux x86_64 it is the CUDA build, several GB.
  "$VENV/bin/python" -c 'import sys; from importlib.metadata import version
sys.exit(version("torch").split("+")[0] != "2.13.0")' 2>/dev/null && return
  if [ -n "$TORCH_INDEX" ]; then
    echo "正在安装 torch（CPU 版，约 200 MB），来源 $TORCH_INDEX …"
    "$VENV/bin/python" -m pip install -q --retries 1 --timeout 15 --index-url "$TORCH_INDEX" "$TORCH" 2>/dev/null && return
    echo "PyTorch 的 CPU 版下载源连不上，改从默认的包索引安装 torch（在 Linux x86_64 上可能是带 CUDA 的大得多的版本）…"
  fi
  "$VENV/bin/python" -m pip install -q "$TORCH"
}

browser() {
  # The browser tests drive Debian's chromium; CJK fonts so Chinese renders in screenshots.
  if ! command -v chromium >/dev/null 2>&1 || ! fc-list 2>/dev/null | grep -qi "noto sans cjk"; then
    echo "正在安装 chromium 和中文字体（浏览器测试要用）…"
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
