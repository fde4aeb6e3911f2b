#!/usr/bin/env bash
# Start (if needed) the machine's PostgreSQL and print a DATABASE_URL for the web tests.
# Debian's postgresql package: the cluster runs as the postgres user; a role `neda` that may
# create databases is made once (pytest-django creates and drops test_neda itself).
set -euo pipefail
# the postgres user may not enter the caller's folder (a mktemp clone is mode 700): psql would
# warn "could not change directory" on every call
cd /
if ! command -v pg_ctlcluster >/dev/null 2>&1; then
    echo "PostgreSQL is not installed (apt-get install postgresql)" >&2
    exit 3
fi
version=$(ls /usr/lib/postgresql | sort -V | tail -1)
if ! pg_lsclusters -h | awk '{print $4}' | grep -q online; then
    if ! pg_lsclusters -h | grep -q .; then
        pg_createcluster "$version" main >/dev/null
    fi
    pg_ctlcluster "$version" main start >&2  # stdout is only the URL
fi
port=$(pg_lsclusters -h | awk '$4 == "online" {print $3; exit}')
as_postgres() { if [ "$(id -u)" = 0 ]; then runuser -u postgres -- "$@"; else sudo -u postgres "$@"; fi; }
as_postgres psql -p "$port" -qtAc "SELECT 1 FROM pg_roles WHERE rolname = 'neda'" | grep -q 1 \
    || as_postgres psql -p "$port" -qc "CREATE ROLE neda LOGIN CREATEDB PASSWORD 'neda-tests'"
as_postgres psql -p "$port" -qtAc "SELECT 1 FROM pg_database WHERE datname = 'neda'" | grep -q 1 \
    || as_postgres psql -p "$port" -qc "CREATE DATABASE neda OWNER neda"
echo "postgres://neda:neda-tests@127.0.0.1:$port/neda"
