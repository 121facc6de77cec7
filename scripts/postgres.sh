#!/usr/bin/env bash
# A throwaway PostgreSQL server for runhooks/postgres's tests and benchmarks: initdb into a temporary
# folder, started on 127.0.0.1 on a free port, trust authentication, removed when stopped.
#
#   bash scripts/postgres.sh run <command…>   start, run the command with RUNHOOKS_TEST_POSTGRES_URL set, stop
#   source scripts/postgres.sh && pg_start    (CI) start and export the variables; pg_stop stops it
#   bash scripts/postgres.sh start            start one more, print "<folder> <url>" (tests that restart it)
#   bash scripts/postgres.sh down|up|stop <folder>   stop it for now | start it again | stop and remove it
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
  # In the data folder's own settings, so that a plain `pg_ctl start` (pg_up) brings it back the same.
  # fsync stays on: the crash tests and the benchmark measure what a real server does.
  printf "listen_addresses = '127.0.0.1'\nport = %s\nunix_socket_directories = '%s'\nmax_connections = 200\n" \
    "$port" "$RUNHOOKS_PG_DIR" | pg_as tee -a "$RUNHOOKS_PG_DIR/data/postgresql.conf" >/dev/null
  pg_up "$RUNHOOKS_PG_DIR"
  export RUNHOOKS_PG_DIR
  export RUNHOOKS_TEST_POSTGRES_URL="postgres://runhooks@127.0.0.1:$port/postgres"
  echo "PostgreSQL $("$bin/postgres" --version | awk '{print $3}') on 127.0.0.1:$port (data in $RUNHOOKS_PG_DIR)"
}

# The server of folder $1: started (up), or stopped with a fast shutdown that drops connections (down).
pg_up() {
  local bin
  bin=$(pg_bin_dir) || return 1
  pg_as "$bin/pg_ctl" -D "$1/data" -l "$1/server.log" -w -t 60 start >/dev/null
}
pg_down() {
  local bin
  bin=$(pg_bin_dir) || return 1
  pg_as "$bin/pg_ctl" -D "$1/data" -m fast -w -t 60 stop >/dev/null
}

pg_stop() {
  [ -n "${RUNHOOKS_PG_DIR:-}" ] && [ -d "$RUNHOOKS_PG_DIR" ] || return 0
  local bin
  bin=$(pg_bin_dir) || return 1
  pg_as "$bin/pg_ctl" -D "$RUNHOOKS_PG_DIR/data" -m fast -w stop >/dev/null 2>&1 || true
  rm -rf "$RUNHOOKS_PG_DIR"
  unset RUNHOOKS_PG_DIR RUNHOOKS_TEST_POSTGRES_URL
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
    start)
      pg_start >/dev/null
      echo "$RUNHOOKS_PG_DIR $RUNHOOKS_TEST_POSTGRES_URL"
      ;;
    up)
      pg_up "$2"
      ;;
    down)
      pg_down "$2"
      ;;
    stop)
      RUNHOOKS_PG_DIR=$2 pg_stop
      ;;
    *)
      echo "usage: bash scripts/postgres.sh run <command…>" >&2
      exit 2
      ;;
  esac
fi
