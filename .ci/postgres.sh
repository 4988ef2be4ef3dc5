#!/usr/bin/env bash
# A local PostgreSQL for the tests that need one (the store's PostgreSQL tests, the Prefect
# server and the store on PostgreSQL with two workers): installed from Debian's packages
# when missing, a cluster created and started, a superuser role `handover` (password
# `handover`; the tests create their own databases with it) and a database handover_test.
# Prints the URL of handover_test on stdout; anything else goes to stderr. Fails (exit 1,
# saying why and where the server's log is) when PostgreSQL cannot be installed, started
# or reached: CI must not silently skip those tests.
set -euo pipefail
log() { echo "postgres: $*" >&2; }
die() { log "$*"; exit 1; }
if ! command -v pg_ctlcluster >/dev/null 2>&1; then
  log "installing PostgreSQL from Debian's packages"
  (apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq postgresql >/dev/null) >&2 \
    || die "apt-get install postgresql failed"
fi
version=$(ls /usr/lib/postgresql 2>/dev/null | sort -n | tail -1)
[ -n "$version" ] || die "PostgreSQL is installed but /usr/lib/postgresql holds no version"
if ! pg_lsclusters -h 2>/dev/null | grep -q "^$version main"; then
  pg_createcluster "$version" main >&2 || die "pg_createcluster $version main failed"
fi
logfile="/var/log/postgresql/postgresql-$version-main.log"
if ! pg_lsclusters -h | grep -q "^$version main .* online"; then
  pg_ctlcluster "$version" main start >&2 \
    || die "cannot start the cluster $version/main; its log: $logfile ($(tail -n 5 "$logfile" 2>/dev/null | tr '\n' ' '))"
fi
ready=""
for _ in $(seq 1 60); do
  if runuser -u postgres -- pg_isready -q -h 127.0.0.1; then ready=1; break; fi
  sleep 1
done
[ -n "$ready" ] || die "the server does not answer on 127.0.0.1:5432 after 60 s; its log: $logfile"
psql_su() { runuser -u postgres -- psql -v ON_ERROR_STOP=1 -q -h 127.0.0.1 "$@" 2>/dev/null || runuser -u postgres -- psql -v ON_ERROR_STOP=1 -q "$@"; }
psql_su -c "DO \$\$BEGIN IF NOT EXISTS (SELECT FROM pg_roles WHERE rolname = 'handover') THEN CREATE ROLE handover LOGIN SUPERUSER PASSWORD 'handover'; END IF; END\$\$;" >&2 \
  || die "cannot create the role handover"
if ! psql_su -tAc "SELECT 1 FROM pg_database WHERE datname = 'handover_test'" | grep -q 1; then
  runuser -u postgres -- createdb -O handover handover_test >&2 || die "cannot create the database handover_test"
fi
url="postgresql://handover:handover@127.0.0.1:5432/handover_test"
PGPASSWORD=handover psql -q -h 127.0.0.1 -U handover -d handover_test -c "select 1" >/dev/null \
  || die "cannot connect as handover to handover_test (pg_hba.conf must allow password logins on 127.0.0.1)"
echo "$url"
