# shellcheck shell=bash
# Starts a throwaway PostgreSQL server for the tests and exports
# RBAC_POSTGRES_DSN, which the sqlstore tests read.
#
#   source .ci/postgres.sh   # in CI or a shell: the server stops when the
#                            # shell exits (EXIT trap), or on rbac_pg_stop
#   .ci/postgres.sh          # run on its own: prints the export line and the
#                            # command that stops the server
#
# It installs PostgreSQL from Debian's packages when no server binaries are
# found, makes a new cluster in a temporary directory (fsync off: the data
# is thrown away, so durability costs time for nothing), and listens on
# 127.0.0.1 only, on the first free port from 55432. initdb refuses to run
# as root, so as root the cluster belongs to the postgres user.
#
# Written to be sourced by scripts that run under `set -euo pipefail`: it
# defines only rbac_pg_* names and RBAC_POSTGRES_*, and returns non-zero
# on failure instead of exiting the caller's shell itself.

rbac_pg_log() { printf 'postgres.sh: %s\n' "$*" >&2; }

# rbac_pg_bindir prints the bin directory of the newest installed server.
rbac_pg_bindir() {
  local dir
  dir=$(ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -V | tail -n 1 || true)
  if [ -n "$dir" ] && [ -x "$dir/initdb" ]; then
    printf '%s\n' "$dir"
  fi
}

rbac_pg_install() {
  if [ -n "$(rbac_pg_bindir)" ]; then
    return 0
  fi
  rbac_pg_log "installing postgresql from the Debian packages"
  local sudo=""
  if [ "$(id -u)" != 0 ]; then sudo="sudo"; fi
  $sudo env DEBIAN_FRONTEND=noninteractive apt-get update -q >&2
  $sudo env DEBIAN_FRONTEND=noninteractive apt-get install -y -q --no-install-recommends postgresql >&2
  if [ -z "$(rbac_pg_bindir)" ]; then
    rbac_pg_log "postgresql was installed but no initdb was found under /usr/lib/postgresql"
    return 1
  fi
}

# rbac_pg_as runs a command as the cluster's owner.
rbac_pg_as() {
  if [ "$(id -u)" = 0 ]; then
    runuser -u postgres -- "$@"
  else
    "$@"
  fi
}

rbac_pg_free_port() {
  local port
  for port in $(seq 55432 55531); do
    if ! (exec 3<>"/dev/tcp/127.0.0.1/$port") 2>/dev/null; then
      printf '%s\n' "$port"
      return 0
    fi
  done
  rbac_pg_log "no free port from 55432 to 55531"
  return 1
}

rbac_pg_start() {
  rbac_pg_install || return 1
  local bin
  bin=$(rbac_pg_bindir)
  if [ "$(id -u)" = 0 ] && ! id postgres >/dev/null 2>&1; then
    useradd --system --home-dir /var/lib/postgresql --shell /bin/sh postgres
  fi
  RBAC_POSTGRES_DIR=$(mktemp -d "${TMPDIR:-/tmp}/rbac-postgres.XXXXXX")
  if [ "$(id -u)" = 0 ]; then
    chown postgres: "$RBAC_POSTGRES_DIR"
  fi
  chmod 700 "$RBAC_POSTGRES_DIR"
  RBAC_POSTGRES_BIN=$bin
  export RBAC_POSTGRES_DIR RBAC_POSTGRES_BIN

  rbac_pg_as "$bin/initdb" -D "$RBAC_POSTGRES_DIR/data" -U postgres --auth=trust \
    --encoding=UTF8 --locale=C.UTF-8 >"$RBAC_POSTGRES_DIR/initdb.log" 2>&1 || {
    rbac_pg_log "initdb failed:"; cat "$RBAC_POSTGRES_DIR/initdb.log" >&2; return 1
  }
  local port
  port=$(rbac_pg_free_port) || return 1
  # The socket goes in the cluster's directory: the default one may not
  # exist or not be writable here. Connections come over TCP anyway.
  rbac_pg_as "$bin/pg_ctl" -D "$RBAC_POSTGRES_DIR/data" -l "$RBAC_POSTGRES_DIR/server.log" -w -t 60 \
    -o "-c listen_addresses=127.0.0.1 -p $port -c unix_socket_directories=$RBAC_POSTGRES_DIR \
        -c fsync=off -c synchronous_commit=off -c full_page_writes=off -c max_connections=300" \
    start >/dev/null || {
    rbac_pg_log "the server did not start:"; cat "$RBAC_POSTGRES_DIR/server.log" >&2; return 1
  }
  local i
  for i in $(seq 1 60); do
    if "$bin/pg_isready" -q -h 127.0.0.1 -p "$port" -U postgres; then break; fi
    if [ "$i" = 60 ]; then rbac_pg_log "the server is not ready after 30 s"; return 1; fi
    sleep 0.5
  done
  rbac_pg_as "$bin/createdb" -h 127.0.0.1 -p "$port" -U postgres rbac_test || return 1
  RBAC_POSTGRES_DSN="postgres://postgres@127.0.0.1:$port/rbac_test?sslmode=disable"
  export RBAC_POSTGRES_DSN
  rbac_pg_log "PostgreSQL $("$bin/postgres" --version | awk '{print $3}') is up: RBAC_POSTGRES_DSN=$RBAC_POSTGRES_DSN"
}

# rbac_pg_stop stops the server and removes its files.
rbac_pg_stop() {
  if [ -n "${RBAC_POSTGRES_DIR:-}" ] && [ -d "$RBAC_POSTGRES_DIR" ]; then
    rbac_pg_as "$RBAC_POSTGRES_BIN/pg_ctl" -D "$RBAC_POSTGRES_DIR/data" -m immediate stop >/dev/null 2>&1 || true
    rm -rf "$RBAC_POSTGRES_DIR"
  fi
  unset RBAC_POSTGRES_DIR RBAC_POSTGRES_DSN
}

if [ "${BASH_SOURCE[0]}" != "$0" ]; then
  # Sourced: stop the server when the sourcing shell exits.
  rbac_pg_start || return 1
  trap rbac_pg_stop EXIT
else
  set -euo pipefail
  rbac_pg_start
  printf 'export RBAC_POSTGRES_DSN=%q\n' "$RBAC_POSTGRES_DSN"
  printf '# stop it with: %s\n' "$(if [ "$(id -u)" = 0 ]; then printf 'runuser -u postgres -- '; fi)$RBAC_POSTGRES_BIN/pg_ctl -D $RBAC_POSTGRES_DIR/data stop && rm -rf $RBAC_POSTGRES_DIR"
fi
