#!/bin/sh
# Entrypoint of the floe CI PostgreSQL image (Debian's postgresql-15), written for this project with the
# environment contract charts expect from PostgreSQL images: POSTGRES_USER, POSTGRES_PASSWORD, POSTGRES_DB,
# PGDATA; on an empty data directory it runs initdb, then every *.sh and *.sql of
# /docker-entrypoint-initdb.d against a server listening on the Unix socket only; then it runs postgres.
# Runs as any uid (pods run as a non-root uid of their choosing): initdb needs a passwd entry, which
# nss_wrapper supplies when the image has none for that uid.
set -eu
: "${POSTGRES_USER:=postgres}" "${POSTGRES_DB:=postgres}" "${PGDATA:=/var/lib/postgresql/data}"
export PGDATA POSTGRES_USER POSTGRES_DB
if ! getent passwd "$(id -u)" >/dev/null 2>&1; then
  wrapper=$(find /usr/lib -name libnss_wrapper.so | head -1)
  if [ -n "$wrapper" ]; then
    tmp=$(mktemp -d)
    echo "postgres:x:$(id -u):$(id -g):PostgreSQL:$PGDATA:/bin/false" > "$tmp/passwd"
    echo "postgres:x:$(id -g):" > "$tmp/group"
    export LD_PRELOAD="$wrapper" NSS_WRAPPER_PASSWD="$tmp/passwd" NSS_WRAPPER_GROUP="$tmp/group"
  fi
fi
if [ ! -s "$PGDATA/PG_VERSION" ]; then
  if [ -z "${POSTGRES_PASSWORD:-}" ]; then
    echo "docker-entrypoint: POSTGRES_PASSWORD is empty; set it (the chart reads it from a Secret)" >&2
    exit 1
  fi
  mkdir -p "$PGDATA" && chmod 0700 "$PGDATA"
  pwfile=$(mktemp); printf '%s\n' "$POSTGRES_PASSWORD" > "$pwfile"
  initdb --username="$POSTGRES_USER" --pwfile="$pwfile" --auth-local=trust --auth-host=scram-sha-256 \
    --encoding=UTF8 --locale=C.UTF-8 -D "$PGDATA" >/dev/null
  rm -f "$pwfile"
  echo "host all all all scram-sha-256" >> "$PGDATA/pg_hba.conf"
  pg_ctl -D "$PGDATA" -w -o "-c listen_addresses='' -c unix_socket_directories=/var/run/postgresql" start >/dev/null
  if [ "$POSTGRES_DB" != postgres ]; then
    psql -v ON_ERROR_STOP=1 -h /var/run/postgresql -U "$POSTGRES_USER" -d postgres -c "CREATE DATABASE \"$POSTGRES_DB\""
  fi
  for f in /docker-entrypoint-initdb.d/*; do
    case "$f" in
      *.sh) echo "docker-entrypoint: running $f"; PGHOST=/var/run/postgresql sh "$f" ;;
      *.sql) echo "docker-entrypoint: running $f"; psql -v ON_ERROR_STOP=1 -h /var/run/postgresql -U "$POSTGRES_USER" -d "$POSTGRES_DB" -f "$f" ;;
    esac
  done
  pg_ctl -D "$PGDATA" -m fast -w stop >/dev/null
  echo "docker-entrypoint: database initialised"
fi
if [ "$#" -eq 0 ] || [ "${1#-}" != "$1" ]; then set -- postgres "$@"; fi
if [ "$1" = postgres ]; then
  set -- "$@" -c listen_addresses='*' -c unix_socket_directories=/var/run/postgresql
fi
exec "$@"
