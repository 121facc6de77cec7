#!/usr/bin/env bash
# Artillery for artillery-plugin-runhooks's tests: installed into a scratch folder of its own, never into
# this repository (it is ~470 MB, and its Playwright dependency downloads a browser unless told not to).
#
#   bash scripts/artillery.sh install            install it (once; again only when the version changes)
#   bash scripts/artillery.sh run <command…>     install, then run the command with RUNHOOKS_TEST_ARTILLERY set
#   source scripts/artillery.sh && artillery_install   (CI) install and export RUNHOOKS_TEST_ARTILLERY
#
# The folder: $RUNHOOKS_TEST_ARTILLERY, else ${TMPDIR:-/tmp}/runhooks-artillery. The tests look for
# <folder>/node_modules/artillery there and skip (saying this command) when it is missing. The version:
# $ARTILLERY_VERSION, else 2.0.34, the newest 2.x (it declares Node >= 22.18, and installs, with an
# EBADENGINE warning, and runs on Node 20 too). Needs the npm registry.

ARTILLERY_VERSION=${ARTILLERY_VERSION:-2.0.34}

artillery_dir() {
  echo "${RUNHOOKS_TEST_ARTILLERY:-${TMPDIR:-/tmp}/runhooks-artillery}"
}

artillery_installed_version() {
  node -p "require('$1/node_modules/artillery/package.json').version" 2>/dev/null
}

artillery_install() {
  local dir
  dir=$(artillery_dir)
  if [ "$(artillery_installed_version "$dir")" = "$ARTILLERY_VERSION" ]; then
    echo "Artillery $ARTILLERY_VERSION is installed in $dir"
  else
    echo "installing Artillery $ARTILLERY_VERSION into $dir (about 470 MB, a minute or so)"
    # Another version's tree can make npm fail with ERESOLVE (@opentelemetry/api): start afresh.
    rm -rf "$dir/node_modules" "$dir/package-lock.json"
    mkdir -p "$dir"
    printf '{ "name": "runhooks-artillery", "private": true }\n' >"$dir/package.json"
    # No browser download (Playwright's; it fails offline) and no telemetry. The EBADENGINE warning on
    # Node 20 is expected.
    (cd "$dir" && PLAYWRIGHT_SKIP_BROWSER_DOWNLOAD=1 ARTILLERY_DISABLE_TELEMETRY=true \
      npm install --no-audit --no-fund --loglevel=error "artillery@$ARTILLERY_VERSION") || return 1
    echo "Artillery $(artillery_installed_version "$dir") installed in $dir"
  fi
  RUNHOOKS_TEST_ARTILLERY=$dir
  export RUNHOOKS_TEST_ARTILLERY
}

if [ "${BASH_SOURCE[0]}" = "$0" ]; then
  set -euo pipefail
  case "${1:-}" in
    install) artillery_install ;;
    run)
      shift
      artillery_install >&2
      exec "$@"
      ;;
    *)
      echo "usage: bash scripts/artillery.sh install | run <command…>" >&2
      exit 2
      ;;
  esac
fi
