#!/usr/bin/env bash
# Installs what topolog needs on a fresh Debian machine, idempotently:
#   system packages (redis-server, chromium for browser tests), the Python virtualenv
#   (.venv in the checkout, editable install with dev extras), starts the cold Go build
#   of the control plane in the background when it is not cached yet, and compiles the
#   pure domain modules with mypyc (topolog dev compile) when their sources changed.
# Everything expensive is cached per user in ${TOPOLOG_CACHE_DIR:-~/.cache/topolog}.
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
cache="${TOPOLOG_CACHE_DIR:-${XDG_CACHE_HOME:-$HOME/.cache}/topolog}"
mkdir -p "$cache/logs"

need_apt=()
command -v redis-server >/dev/null || need_apt+=(redis-server)
command -v redis-benchmark >/dev/null || need_apt+=(redis-tools)
command -v docker-compose >/dev/null || need_apt+=(docker-compose)  # validates docker-compose.yml
command -v jq >/dev/null || need_apt+=(jq)  # the seed's `query | jq` script, tested end to end
command -v gcc >/dev/null || need_apt+=(gcc)  # compiles the domain modules (mypyc), below
python3 -c 'import os, sysconfig; exit(not os.path.exists(sysconfig.get_paths()["include"] + "/Python.h"))' \
  || need_apt+=(python3-dev)
if [[ "${TOPOLOG_BROWSER:-1}" == 1 ]]; then
  command -v chromium >/dev/null || need_apt+=(chromium)
fi
if ((${#need_apt[@]})); then
  echo "installing system packages: ${need_apt[*]}" >&2
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -qq
  apt-get install -y -qq --no-install-recommends "${need_apt[@]}" >"$cache/logs/apt.log" 2>&1 \
    || { cat "$cache/logs/apt.log" >&2; exit 1; }
  # Debian starts a system redis on 6379; topolog runs its own on a project port.
  systemctl disable --now redis-server >/dev/null 2>&1 || true
fi

venv="$root/.venv"
stamp="$venv/.installed-$(sha256sum "$root/pyproject.toml" | cut -c1-16)"
if [[ ! -f "$stamp" ]]; then
  echo "installing the Python environment in $venv" >&2
  python3 -m venv "$venv"
  "$venv/bin/pip" install -q --upgrade pip >/dev/null
  "$venv/bin/pip" install -q -e "$root[dev]" >"$cache/logs/pip.log" 2>&1 \
    || { cat "$cache/logs/pip.log" >&2; exit 1; }
  rm -f "$venv"/.installed-*
  touch "$stamp"
fi

# The pure domain modules compiled by mypyc (topolog.compiled), cached per source digest in
# "$cache/mypyc": ~45 s once per change of those sources, nothing otherwise. Without a
# build they run from source (slower, the same results); the test suite checks it is used.
"$venv/bin/topolog" dev compile \
  || echo "warning: compiled modules not built; the domain modules run from source" >&2
