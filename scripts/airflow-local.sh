#!/usr/bin/env bash
# A local Airflow for the UI, in one command (`make airflow`): the api-server on 127.0.0.1, the
# scheduler, the dag-processor and the triggerer (repairs on AWS wait for their Glue run there),
# the pool `flightdq_etl`, with flightdq's DAGs and its "Flight data quality"
# plugin, SimpleAuthManager with one real user, and the sample lake. Ctrl-C stops them all.
#
# Nothing listens beyond 127.0.0.1: the components are started one by one (not `airflow standalone`,
# whose log server binds every interface), the scheduler and triggerer without their log servers.
#
# Environment (all optional):
#   AIRFLOW_HOME            default .airflow (the SQLite metadata DB, airflow.cfg, logs)
#   AIRFLOW_PORT            default 8080
#   FLIGHTDQ_UI_USER        default oncall (role FLIGHTDQ_UI_ROLE, default admin)
#   FLIGHTDQ_LAKE           default ./lake; generated with `flightdq-dev generate` when missing
#   FLIGHTDQ_BACKEND        default local
#   AIRFLOW__CORE__PARALLELISM  default 4 (the machines have 2 cores)
#   FLIGHTDQ_UNPAUSE        default "flightdq_daily_checks flightdq_remediation flightdq_heartbeat":
#                           the DAGs unpaused at start (the others stay paused: the intraday and
#                           freshness checks watch today's feed, which a sample lake does not have)
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
BIN="${VENV:-$ROOT/.venv}/bin"
if [[ ! -x "$BIN/airflow" || ! -x "$BIN/flightdq" ]]; then
    echo "airflow-local: $BIN/airflow or $BIN/flightdq is missing; run 'make install' first" >&2
    exit 2
fi

PORT="${AIRFLOW_PORT:-8080}"
UI_USER="${FLIGHTDQ_UI_USER:-oncall}"
UI_ROLE="${FLIGHTDQ_UI_ROLE:-admin}"

export AIRFLOW_HOME="${AIRFLOW_HOME:-$ROOT/.airflow}"
export AIRFLOW__CORE__DAGS_FOLDER="$ROOT/dags"
export AIRFLOW__CORE__PLUGINS_FOLDER="$ROOT/plugins"
export AIRFLOW__CORE__LOAD_EXAMPLES=False
export AIRFLOW__CORE__UNIT_TEST_MODE=False
export AIRFLOW__CORE__EXECUTOR=LocalExecutor
export AIRFLOW__CORE__PARALLELISM="${AIRFLOW__CORE__PARALLELISM:-4}"
export AIRFLOW__CORE__DAGS_ARE_PAUSED_AT_CREATION=True
export AIRFLOW__CORE__AUTH_MANAGER=airflow.api_fastapi.auth.managers.simple.simple_auth_manager.SimpleAuthManager
export AIRFLOW__CORE__SIMPLE_AUTH_MANAGER_USERS="$UI_USER:$UI_ROLE"
export AIRFLOW__CORE__SIMPLE_AUTH_MANAGER_ALL_ADMINS=False
export AIRFLOW__CORE__SIMPLE_AUTH_MANAGER_PASSWORDS_FILE="$AIRFLOW_HOME/simple_auth_manager_passwords.json"
export AIRFLOW__API__HOST=127.0.0.1
export AIRFLOW__API__PORT="$PORT"
export AIRFLOW__API__BASE_URL="http://127.0.0.1:$PORT"
export AIRFLOW__CORE__EXECUTION_API_SERVER_URL="http://127.0.0.1:$PORT/execution/"
export AIRFLOW__SCHEDULER__ENABLE_HEALTH_CHECK=False
export FLIGHTDQ_LAKE="${FLIGHTDQ_LAKE:-$ROOT/lake}"
export FLIGHTDQ_BACKEND="${FLIGHTDQ_BACKEND:-local}"
export GX_ANALYTICS_ENABLED=False

LOGS="$AIRFLOW_HOME/logs/local"
mkdir -p "$AIRFLOW_HOME" "$LOGS"

if command -v ss >/dev/null && ss -ltn "sport = :$PORT" | grep -q LISTEN; then
    echo "airflow-local: port $PORT on 127.0.0.1 is taken; set AIRFLOW_PORT" >&2
    exit 2
fi

# One real user. Its password is generated once, kept in the passwords file (mode 600) and shown
# only when it is made; SimpleAuthManager reads the same file at login.
PASSWORDS="$AIRFLOW__CORE__SIMPLE_AUTH_MANAGER_PASSWORDS_FILE"
NEW_PASSWORD="$("$BIN/python" - "$PASSWORDS" "$UI_USER" <<'PY'
import json, os, secrets, sys
path, user = sys.argv[1], sys.argv[2]
try:
    with open(path) as handle:
        passwords = json.load(handle)
except (FileNotFoundError, ValueError):
    passwords = {}
if user not in passwords:
    passwords[user] = secrets.token_urlsafe(12)
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w") as handle:
        json.dump(passwords, handle)
    print(passwords[user])
PY
)"

echo "airflow-local: migrating the metadata DB in $AIRFLOW_HOME"
"$BIN/airflow" db migrate >"$LOGS/db-migrate.log" 2>&1 || {
    echo "airflow-local: 'airflow db migrate' failed, see $LOGS/db-migrate.log" >&2
    exit 1
}

# The pool the repairs' ETL runs share, sized from the policy (remediation.max_parallel_etl).
"$BIN/python" -m flightdq.airflow.pools >"$LOGS/pools.log" 2>&1 || {
    echo "airflow-local: 'python -m flightdq.airflow.pools' failed, see $LOGS/pools.log" >&2
    exit 1
}

if [[ ! -d "$FLIGHTDQ_LAKE/flightdata-raw" ]]; then
    echo "airflow-local: no lake in $FLIGHTDQ_LAKE, generating the sample lake (about 10 s)"
    "$BIN/flightdq-dev" generate --lake "$FLIGHTDQ_LAKE"
fi
FIRST_RUN=""
if [[ ! -d "$FLIGHTDQ_LAKE/flightdq-history/checks" ]]; then
    # The first check of the last 14 days, so that the calendar and the Now view have something to
    # show: a run of the daily checks DAG itself (its incidents step opens the incidents the page
    # lists), run by the scheduler as soon as it starts. Nothing is repaired behind your back.
    FIRST_RUN="$(printf '{"date": "%s", "to": "%s", "trigger_remediation": false}' \
        "$(date -u -d '14 days ago' +%F)" "$(date -u -d 'yesterday' +%F)")"
fi

# The DAGs in the metadata DB before the dag-processor's first pass, so that they can be unpaused
# (and triggered) right away; DAGs start paused, and a paused DAG never runs what the page triggers.
"$BIN/airflow" dags reserialize >"$LOGS/reserialize.log" 2>&1 || {
    echo "airflow-local: 'airflow dags reserialize' failed, see $LOGS/reserialize.log" >&2
    exit 1
}
UNPAUSE="${FLIGHTDQ_UNPAUSE-flightdq_daily_checks flightdq_remediation flightdq_heartbeat}"
for dag_id in $UNPAUSE; do
    "$BIN/airflow" dags unpause "$dag_id" >>"$LOGS/unpause.log" 2>&1 || {
        echo "airflow-local: 'airflow dags unpause $dag_id' failed, see $LOGS/unpause.log" >&2
        exit 1
    }
done
if [[ -n "$FIRST_RUN" ]]; then
    "$BIN/airflow" dags trigger flightdq_daily_checks -c "$FIRST_RUN" >"$LOGS/first-run.log" 2>&1 || {
        echo "airflow-local: triggering the first check failed, see $LOGS/first-run.log" >&2
        exit 1
    }
    echo "airflow-local: the first check of the last 14 days is queued (flightdq_daily_checks; about a minute)"
fi

PIDS=()
start() {  # name, command...: each component in its own process group, its output in a log file
    local name="$1"
    shift
    if command -v setsid >/dev/null; then
        setsid "$@" >"$LOGS/$name.log" 2>&1 &
    else
        "$@" >"$LOGS/$name.log" 2>&1 &
    fi
    PIDS+=("$!")
    echo "airflow-local: started $name (pid $!, log $LOGS/$name.log)"
}

stopping=0
stop() {
    [[ $stopping == 1 ]] && return
    stopping=1
    trap - INT TERM EXIT
    echo
    echo "airflow-local: stopping ${#PIDS[@]} components"
    for pid in "${PIDS[@]}"; do
        kill -TERM -- "-$pid" 2>/dev/null || kill -TERM "$pid" 2>/dev/null || true
    done
    for _ in $(seq 1 30); do
        alive=0
        for pid in "${PIDS[@]}"; do kill -0 "$pid" 2>/dev/null && alive=1; done
        [[ $alive == 0 ]] && break
        sleep 1
    done
    for pid in "${PIDS[@]}"; do
        kill -KILL -- "-$pid" 2>/dev/null || kill -KILL "$pid" 2>/dev/null || true
    done
    wait 2>/dev/null || true
    echo "airflow-local: stopped"
}
trap 'stop; exit 130' INT
trap 'stop; exit 143' TERM
trap 'stop' EXIT

start api-server "$BIN/airflow" api-server -H 127.0.0.1 -p "$PORT"
start scheduler "$BIN/airflow" scheduler --skip-serve-logs
start dag-processor "$BIN/airflow" dag-processor
start triggerer "$BIN/airflow" triggerer --skip-serve-logs

echo -n "airflow-local: waiting for the api-server"
for _ in $(seq 1 120); do
    if "$BIN/python" -c "import urllib.request, sys; urllib.request.urlopen(sys.argv[1], timeout=2)" \
        "http://127.0.0.1:$PORT/api/v2/monitor/health" 2>/dev/null; then
        break
    fi
    for pid in "${PIDS[@]}"; do
        kill -0 "$pid" 2>/dev/null || { echo; echo "airflow-local: a component exited early, see $LOGS" >&2; exit 1; }
    done
    echo -n "."
    sleep 1
done
echo

cat <<EOF

  Airflow UI            http://127.0.0.1:$PORT
  Flight data quality   http://127.0.0.1:$PORT/plugin/flight-data-quality
  Log in as             $UI_USER
EOF
if [[ -n "$NEW_PASSWORD" ]]; then
    echo "  Password (shown once) $NEW_PASSWORD"
fi
cat <<EOF
                        (the password is kept in $PASSWORDS)
  Unpaused: ${UNPAUSE:-none} (the others stay paused; the page says when one it triggers is)
  Logs: $LOGS/*.log      Ctrl-C stops everything.

EOF

# Run until Ctrl-C, or until a component dies (then stop the others too).
wait -n "${PIDS[@]}" || true
echo "airflow-local: a component exited, see $LOGS" >&2
exit 1
