#!/usr/bin/env bash
# Schemathesis against /openapi.json of a worker with authentication and
# roles on (issue 21): no route may answer 5xx, and none may ignore its
# authentication (schemathesis's ignored_auth check sends each operation
# without and with wrong credentials). Starts its own broker and worker on
# free ports, creates one connector so that path parameters name something
# that exists, and stops everything at the end. Usage:
#   scripts/api-fuzz.sh [MAX_EXAMPLES]     (make test-api)
set -euo pipefail
here=$(cd "$(dirname "$0")/.." && pwd)
examples=${1:-50}
tansu=${TANSU:-$HOME/.cache/sluice-tools/bin/tansu}
sluice=${SLUICE:-${CARGO_TARGET_DIR:-$HOME/.cache/sluice-target}/debug/sluice}
python3 -c 'import schemathesis' 2>/dev/null || python3 -m pip install -q 'schemathesis>=4,<5'
st() { python3 -c 'import sys; from schemathesis.cli import schemathesis; sys.argv[0] = "st"; sys.exit(schemathesis())' "$@"; }
work=$(mktemp -d /tmp/sluice-api-fuzz.XXXXXX)
free_port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'; }
bport=$(free_port); wport=$(free_port)
pids=()
cleanup() { for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; done; }
trap cleanup EXIT
env -u CLUSTER_ID -u STORAGE_ENGINE "$tansu" broker \
  --listener-url "tcp://127.0.0.1:$bport" --advertised-listener-url "tcp://127.0.0.1:$bport" \
  --storage-engine "sqlite:///$work/tansu.db" > "$work/tansu.log" 2>&1 &
pids+=($!)
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
"$sluice" standalone "$work/worker.properties" > "$work/worker.log" 2>&1 &
pids+=($!)
auth="Basic $(printf admin:admin-secret | base64)"
for _ in $(seq 1 100); do
  curl -fsS -o /dev/null -H "Authorization: $auth" "http://127.0.0.1:$wport/connectors" && break
  sleep 0.3
done
curl -fsS -H "Authorization: $auth" -H 'Content-Type: application/json' -X POST \
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
st --config-file "$work/schemathesis.toml" run "http://127.0.0.1:$wport/openapi.json" \
  -H "Authorization: $auth" \
  --checks not_a_server_error,ignored_auth \
  --max-examples "$examples" --workers 1 --seed 1 || status=$?
if [ "$status" -ne 0 ]; then
  echo "schemathesis found failures; worker log: $work/worker.log" >&2
  tail -40 "$work/worker.log" >&2
fi
exit "$status"
