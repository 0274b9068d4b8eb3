#!/usr/bin/env bash
# Make sure the system packages geo-grid needs are installed: PostGIS for PostgreSQL 15 always,
# Chromium for the browser tests when asked ("chromium" argument). As root we install them with
# apt-get; as a normal user we print one line saying what to install and fail.
set -euo pipefail

need=()
have_postgis() { ls /usr/share/postgresql/*/extension/postgis.control >/dev/null 2>&1; }
have_server() { ls /usr/lib/postgresql/*/bin/initdb >/dev/null 2>&1; }
have_postgis && have_server || need+=(postgresql-15-postgis-3 postgresql-15)
command -v runuser >/dev/null 2>&1 || need+=(util-linux)
for want in "$@"; do
  case "$want" in
    chromium)
      command -v chromium >/dev/null 2>&1 || need+=(chromium)
      # a CJK font, or Chinese labels render as empty boxes in the screenshots
      ls /usr/share/fonts/opentype/noto/NotoSansCJK* >/dev/null 2>&1 || need+=(fonts-noto-cjk) ;;
  esac
done
py=${PYTHON:-python3}
"$py" -c 'import ensurepip, venv' >/dev/null 2>&1 || need+=(python3-venv)

[ ${#need[@]} -eq 0 ] && exit 0

if [ "$(id -u)" -eq 0 ] && command -v apt-get >/dev/null 2>&1; then
  echo "installing system packages: ${need[*]}"
  export DEBIAN_FRONTEND=noninteractive
  apt-get install -y -q --no-install-recommends "${need[@]}" >/dev/null 2>&1 || {
    apt-get update -q >/dev/null && apt-get install -y -q --no-install-recommends "${need[@]}" >/dev/null
  }
  exit 0
fi
echo "geo-grid needs system packages: run  sudo apt-get install ${need[*]}  (then run make again)" >&2
exit 1
