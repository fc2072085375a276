#!/usr/bin/env bash
# Schemathesis against /openapi.json of a worker with authentication and
# roles on (issue 21): no route may answer 5xx, and none may ignore its
# authentication (schemathesis's ignored_auth check sends each operation
# without and with wrong credentials). Starts its own broker and worker on
# free ports, creates one connector so that path parameters name something
# that exists, and stops everything at the end. Schemathesis is installed,
# pinned, into a virtualenv under the tools directory. Usage:
#   scripts/api-fuzz.sh [MAX_EXAMPLES]     (make test-api; the end of make test)
set -euo pipefail
examples=${1:-50}
tools=${TOOLS:-$HOME/.cache/sluice-tools}
tansu=${TANSU:-$tools/bin/tansu}
sluice=${SLUICE:-${CARGO_TARGET_DIR:-$HOME/.cache/sluice-target}/debug/sluice}
venv=$tools/schemathesis-venv
version=4.32.5
if ! "$venv/bin/st" --version 2>/dev/null | grep -q "$version"; then
  echo "installing schemathesis $version into $venv"
  python3 -m venv "$venv"
  "$venv/bin/pip" install -q "schemathesis==$version"
fi
work=$(mktemp -d /tmp/sluice-api-fuzz.XXXXXX)
free_port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'; }
bport=$(free_port)
wport=$(free_port)
while [ "$wport" = "$bport" ]; do wport=$(free_port); done
pids=""
status=1
cleanup() {
  for p in $pids; do kill "$p" 2>/dev/null || true; done
  for p in $pids; do wait "$p" 2>/dev/null || true; done
  if [ "$status" -eq 0 ]; then
    rm -rf "$work"
  else
    echo "api-fuzz failed; logs in $work" >&2
    tail -40 "$work/worker.log" >&2 2>/dev/null || true
  fi
}
trap cleanup EXIT
trap 'exit 130' INT TERM
env -u CLUSTER_ID -u STORAGE_ENGINE -u SCHEMA_REGISTRY "$tansu" broker \
  --listener-url "tcp://127.0.0.1:$bport" --advertised-listener-url "tcp://127.0.0.1:$bport" \
  --storage-engine "sqlite:///$work/tansu.db" > "$work/tansu.log" 2>&1 &
pids="$pids $!"
printf 'admin=admin-secret\nreader=reader-secret\n' > "$work/credentials.properties"
printf 'admin=SystemAdmin\nreader=DeveloperRead:cluster\n' > "$work/roles.properties"
cat > "$work/worker.properties" <<PROPS
bootstrap.servers=127.0.0.1:$bport
listeners=http://127.0.0.1:$wport
offset.storage.file.filename=$work/state
rest.auth.basic.credentials.file=$work/credentials.properties
rest.auth.roles.file=$work/roles.properties
key.converter=org.apache.kafka.connect.storage.StringConverter
value.converter=org.apache.kafka.connect.storage.StringConverter
PROPS
RUST_LOG=info "$sluice" standalone "$work/worker.properties" > "$work/worker.log" 2>&1 &
pids="$pids $!"
auth="Basic $(printf admin:admin-secret | base64)"
ready=0
for _ in $(seq 1 150); do
  if curl -fsS --max-time 5 -o /dev/null -H "Authorization: $auth" "http://127.0.0.1:$wport/connectors"; then
    ready=1
    break
  fi
  sleep 0.2
done
if [ "$ready" -ne 1 ]; then
  echo "the worker did not answer on :$wport within 30 s" >&2
  exit 1
fi
curl -fsS --max-time 30 -H "Authorization: $auth" -H 'Content-Type: application/json' -X POST \
  "http://127.0.0.1:$wport/connectors" \
  -d '{"name":"fuzz-target","config":{"connector.class":"DataGen","topic":"fuzz-topic","records.per.second":"1"}}' >/dev/null
cat > "$work/schemathesis.toml" <<TOML
[parameters]
"path.name" = "fuzz-target"
"path.task" = "0"
"path.plugin" = "DataGen"
"path.logger" = "root"
TOML
cd "$work"
status=0
timeout 1200 "$venv/bin/st" --config-file "$work/schemathesis.toml" run \
  "http://127.0.0.1:$wport/openapi.json" \
  -H "Authorization: $auth" \
  --checks not_a_server_error,ignored_auth \
  --request-timeout 130 \
  --max-examples "$examples" --workers 1 --seed 1 || status=$?
exit "$status"
