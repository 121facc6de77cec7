#!/usr/bin/env bash
# A throwaway PostgreSQL server for runhooks/postgres's tests and benchmarks: initdb into a temporary
# folder, started on 127.0.0.1 on a free port, trust authentication, removed when stopped.
#
#   bash scripts/postgres.sh run <command…>   start, run the command with RUNHOOKS_TEST_POSTGRES_URL set, stop
#   source scripts/postgres.sh && pg_start    (CI) start and export the variables; pg_stop stops it
#
# Needs PostgreSQL >= 13's server binaries (Debian: apt-get install postgresql). It finds them on PATH or
# under /usr/lib/postgresql/<version>/bin. PostgreSQL refuses to run as root: as root it runs the server
# as the `postgres` user (which Debian's package creates), else as `nobody`.

pg_bin_dir() {
  if command -v initdb >/dev/null 2>&1 && command -v pg_ctl >/dev/null 2>&1; then
    dirname "$(command -v initdb)"
    return
  fi
  local dir
  dir=$(ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -V | tail -n 1)
  if [ -z "$dir" ]; then
    echo "PostgreSQL's server is not installed: apt-get install postgresql (Debian/Ubuntu)" >&2
    return 1
  fi
  echo "$dir"
}

# Runs a command as the server's user (itself unless root).
pg_as() {
  if [ "$(id -u)" != 0 ]; then
    "$@"
  elif id postgres >/dev/null 2>&1; then
    runuser -u postgres -- "$@"
  else
    runuser -u nobody -- "$@"
  fi
}

pg_start() {
  local bin port user
  bin=$(pg_bin_dir) || return 1
  RUNHOOKS_PG_DIR=$(mktemp -d "${TMPDIR:-/tmp}/runhooks-pg.XXXXXX")
  chmod 755 "$RUNHOOKS_PG_DIR"
  if [ "$(id -u)" = 0 ]; then
    if id postgres >/dev/null 2>&1; then user=postgres; else user=nobody; fi
    chown "$user" "$RUNHOOKS_PG_DIR"
  fi
  port=$(node -e 'const s = require("node:net").createServer().listen(0, "127.0.0.1", () => { console.log(s.address().port); s.close(); })')
  pg_as "$bin/initdb" -D "$RUNHOOKS_PG_DIR/data" -U runhooks --auth=trust --encoding=UTF8 --no-instructions >/dev/null
  # fsync stays on: the crash tests and the benchmark measure what a real server does.
  pg_as "$bin/pg_ctl" -D "$RUNHOOKS_PG_DIR/data" -l "$RUNHOOKS_PG_DIR/server.log" -w -t 60 \
    -o "-c listen_addresses=127.0.0.1 -c port=$port -c unix_socket_directories=$RUNHOOKS_PG_DIR -c max_connections=200" \
    start >/dev/null
  export RUNHOOKS_PG_DIR
  export RUNHOOKS_TEST_POSTGRES_URL="postgres://runhooks@127.0.0.1:$port/postgres"
  # How the tests that restart the server mid-run do it.
  export RUNHOOKS_TEST_POSTGRES_RESTART="bash $(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)/postgres.sh restart $RUNHOOKS_PG_DIR"
  echo "PostgreSQL $("$bin/postgres" --version | awk '{print $3}') on 127.0.0.1:$port (data in $RUNHOOKS_PG_DIR)"
}

pg_restart_dir() {
  local bin
  bin=$(pg_bin_dir) || return 1
  pg_as "$bin/pg_ctl" -D "$1/data" -m fast -w -t 60 restart >/dev/null
}

pg_stop() {
  [ -n "${RUNHOOKS_PG_DIR:-}" ] && [ -d "$RUNHOOKS_PG_DIR" ] || return 0
  local bin
  bin=$(pg_bin_dir) || return 1
  pg_as "$bin/pg_ctl" -D "$RUNHOOKS_PG_DIR/data" -m fast -w stop >/dev/null 2>&1 || true
  rm -rf "$RUNHOOKS_PG_DIR"
  unset RUNHOOKS_PG_DIR RUNHOOKS_TEST_POSTGRES_URL RUNHOOKS_TEST_POSTGRES_RESTART
}

if [ "${BASH_SOURCE[0]}" = "$0" ]; then
  set -euo pipefail
  case "${1:-}" in
    run)
      shift
      pg_start
      trap pg_stop EXIT
      "$@"
      ;;
    restart)
      pg_restart_dir "$2"
      ;;
    *)
      echo "usage: bash scripts/postgres.sh run <command…>" >&2
      exit 2
      ;;
  esac
fi
