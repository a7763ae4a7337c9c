#!/usr/bin/env bash
# Throwaway PostgreSQL clusters for tests.
#
#   scripts/pg.sh start DIR PORT   create (if needed) and start a cluster in DIR on 127.0.0.1:PORT
#   scripts/pg.sh stop DIR         stop it (fast shutdown); no error if it is not running
#   scripts/pg.sh url DIR PORT     print the superuser URL of its "postgres" database
#
# The cluster trusts local connections, runs with fsync off (its data is disposable), and
# listens only on loopback. PostgreSQL refuses to run as root, so as root every server command
# runs as the "postgres" system user (created by Debian's postgresql package).
set -euo pipefail

die() { echo "pg.sh: $*" >&2; exit 1; }

bindir() {
  if [ -n "${PG_BIN:-}" ]; then echo "$PG_BIN"; return; fi
  local d
  d=$(ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -V | tail -n 1 || true)
  if [ -n "$d" ] && [ -x "$d/pg_ctl" ]; then echo "$d"; return; fi
  command -v pg_ctl >/dev/null 2>&1 && { dirname "$(command -v pg_ctl)"; return; }
  die "PostgreSQL server binaries not found (install Debian's postgresql package, or set PG_BIN)"
}

as_pg() {
  if [ "$(id -u)" = 0 ]; then
    id postgres >/dev/null 2>&1 || die "running as root but there is no 'postgres' user to run the server as"
    runuser -u postgres -- "$@"
  else
    "$@"
  fi
}

cmd=${1:-}
dir=${2:-}
[ -n "$cmd" ] && [ -n "$dir" ] || die "usage: pg.sh start|stop|url DIR [PORT]"
BIN=$(bindir)

case "$cmd" in
  start)
    port=${3:?port required}
    mkdir -p "$dir"
    # The server user must reach DIR: open up the folder itself (it holds nothing secret).
    chmod 0755 "$dir"
    if [ "$(id -u)" = 0 ]; then
      chown postgres "$dir"
      runuser -u postgres -- test -w "$dir" \
        || die "the postgres user cannot reach $dir (make its parent folders traversable, e.g. chmod 0755)"
    fi
    if [ ! -f "$dir/data/PG_VERSION" ]; then
      as_pg "$BIN/initdb" -D "$dir/data" -U vas --auth=trust -E UTF8 --no-sync >"$dir/initdb.log" 2>&1 \
        || { cat "$dir/initdb.log" >&2; die "initdb failed"; }
    fi
    as_pg "$BIN/pg_ctl" -D "$dir/data" -l "$dir/server.log" -w -t 30 \
      -o "-p $port -k $dir -c listen_addresses=127.0.0.1 -c fsync=off -c synchronous_commit=off -c full_page_writes=off -c max_connections=300" \
      start >/dev/null || { tail -n 20 "$dir/server.log" >&2 || true; die "could not start PostgreSQL on port $port"; }
    ;;
  stop)
    if [ -f "$dir/data/postmaster.pid" ]; then
      as_pg "$BIN/pg_ctl" -D "$dir/data" -m fast -w -t 30 stop >/dev/null 2>&1 || true
    fi
    ;;
  url)
    port=${3:?port required}
    echo "postgres://vas@127.0.0.1:$port/postgres"
    ;;
  *) die "unknown command $cmd" ;;
esac
