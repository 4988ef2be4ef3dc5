#!/usr/bin/env bash
# Best effort: a local PostgreSQL for the store's PostgreSQL tests (they skip without one).
# Prints TEST_POSTGRES_URL on success; never fails the CI run by itself.
set -u
log() { echo "postgres: $*" >&2; }
if ! command -v pg_ctlcluster >/dev/null 2>&1; then
  log "installing PostgreSQL from Debian's packages"
  (apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq postgresql >/dev/null) >&2 || { log "install failed; PostgreSQL tests will skip"; exit 0; }
fi
version=$(ls /usr/lib/postgresql 2>/dev/null | sort -n | tail -1)
[ -n "$version" ] || { log "no PostgreSQL version found; tests will skip"; exit 0; }
if ! pg_lsclusters -h 2>/dev/null | grep -q "^$version main"; then
  pg_createcluster "$version" main >/dev/null 2>&1 || { log "cannot create a cluster"; exit 0; }
fi
pg_ctlcluster "$version" main start >/dev/null 2>&1 || true
for _ in $(seq 1 30); do
  runuser -u postgres -- pg_isready -q -h 127.0.0.1 2>/dev/null && break
  sleep 1
done
runuser -u postgres -- psql -q -h 127.0.0.1 -c "DO \$\$BEGIN IF NOT EXISTS (SELECT FROM pg_roles WHERE rolname = 'handover') THEN CREATE ROLE handover LOGIN SUPERUSER PASSWORD 'handover'; END IF; END\$\$;" >/dev/null 2>&1 \
  || runuser -u postgres -- psql -q -c "DO \$\$BEGIN IF NOT EXISTS (SELECT FROM pg_roles WHERE rolname = 'handover') THEN CREATE ROLE handover LOGIN SUPERUSER PASSWORD 'handover'; END IF; END\$\$;" >/dev/null 2>&1 \
  || { log "cannot create the test role; tests will skip"; exit 0; }
runuser -u postgres -- createdb -O handover handover_test >/dev/null 2>&1 || true
if PGPASSWORD=handover psql -q -h 127.0.0.1 -U handover -d handover_test -c "select 1" >/dev/null 2>&1; then
  echo "postgresql://handover:handover@127.0.0.1:5432/handover_test"
else
  log "cannot connect as handover; tests will skip"
fi
exit 0
