#!/usr/bin/env bash
# Installs, from Debian's packages and only when missing, the programs the tests and the
# benchmarks drive: wrk (load generator), nginx (reference server and caching proxy) and
# chromium (the headless browser). Usage: .ci/tools.sh [wrk] [nginx] [chromium]
set -euo pipefail
missing=()
for tool in "$@"; do
  case "$tool" in
    wrk) command -v wrk >/dev/null 2>&1 || missing+=(wrk) ;;
    nginx) { command -v nginx >/dev/null 2>&1 || [ -x /usr/sbin/nginx ]; } || missing+=(nginx-light) ;;
    chromium) [ -x /usr/bin/chromium ] || missing+=(chromium) ;;
    *) echo "tools: unknown tool '$tool'" >&2; exit 2 ;;
  esac
done
[ ${#missing[@]} -eq 0 ] && exit 0
echo "tools: installing ${missing[*]}"
sudo=""
[ "$(id -u)" -eq 0 ] || sudo="sudo"
$sudo apt-get update -qq
DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
