#!/usr/bin/env bash
# The production layout on this machine, end to end, as on EC2 but with the X API sandbox
# standing in for X: PostgreSQL, `alembic upgrade head`, gunicorn with deploy/gunicorn.conf.py
# (behind nginx with deploy/nginx/threadbot.conf when nginx is installed), `threadbot twitter
# run` and `threadbot sandbox`, all sharing one settings environment with JSON logs.
# Checks: /readyz is ready; two people tweet at the bot and each gets an in-thread answer,
# including a second turn in the same thread; the chat API answers; `threadbot doctor` passes
# (X credentials checked against the sandbox); every process stops cleanly on SIGTERM.
#
# usage: deploy/smoke.sh    (PostgreSQL at THREADBOT_TEST_POSTGRES_URL, as `make test` uses)
set -Eeuo pipefail
cd "$(dirname "$0")/.."

BIN=${THREADBOT_VENV_BIN:-.venv/bin}
PG_URL=${THREADBOT_TEST_POSTGRES_URL:-postgresql://postgres@127.0.0.1:5432/test}
WORK=$(mktemp -d)
DB_NAME="tb_smoke_$$"
declare -A PIDS=()

say() { printf 'smoke: %s\n' "$*"; }
fail() {
  say "FAILED: $*"
  for name in "${!PIDS[@]}"; do
    say "--- last lines of $name.log"
    tail -n 25 "$WORK/$name.log" || true
  done
  exit 1
}

py() { "$BIN/python" "$@"; }

free_port() { py -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'; }

# Create or drop the smoke database through SQLAlchemy, so no psql client is needed.
database() {
  py - "$PG_URL" "$DB_NAME" "$1" <<'PY'
import sys

from sqlalchemy import create_engine, text
from sqlalchemy.engine import make_url

url, name, action = sys.argv[1:]
url = url.replace("postgresql://", "postgresql+psycopg://", 1)
engine = create_engine(url, isolation_level="AUTOCOMMIT")
with engine.connect() as connection:
    if action == "create":
        connection.execute(text(f'CREATE DATABASE "{name}"'))
    else:
        connection.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
print(make_url(url).set(database=name).render_as_string(hide_password=False))
PY
}

start() { # NAME COMMAND...: run in the background, logs in $WORK/NAME.log
  local name=$1
  shift
  "$@" >"$WORK/$name.log" 2>&1 &
  PIDS[$name]=$!
}

stop_all() {
  local name status=0
  for name in "${!PIDS[@]}"; do
    kill -TERM "${PIDS[$name]}" 2>/dev/null || true
  done
  for name in "${!PIDS[@]}"; do
    if ! timeout 40 tail --pid="${PIDS[$name]}" -f /dev/null; then
      say "$name did not stop within 40 s of SIGTERM"
      kill -KILL "${PIDS[$name]}" 2>/dev/null || true
      status=1
    elif ! wait "${PIDS[$name]}"; then
      say "$name exited with an error after SIGTERM"
      status=1
    fi
    unset "PIDS[$name]"
  done
  return "$status"
}

cleanup() {
  trap - EXIT
  stop_all >/dev/null 2>&1 || true
  database drop >/dev/null 2>&1 || true
  rm -rf "$WORK"
}
trap cleanup EXIT

wait_for() { # SECONDS DESCRIPTION COMMAND...: retry COMMAND until it succeeds
  local seconds=$1 what=$2
  shift 2
  local deadline=$((SECONDS + seconds))
  local name
  until "$@" >/dev/null 2>&1; do
    for name in "${!PIDS[@]}"; do
      kill -0 "${PIDS[$name]}" 2>/dev/null || fail "$name exited early, while waiting: $what"
    done
    if [ "$SECONDS" -ge "$deadline" ]; then
      fail "$what (waited $seconds s)"
    fi
    sleep 0.5
  done
}

# The bot's reply to tweet $1 in the sandbox, printed as "ID TEXT"; fails while there is none.
reply_to() {
  curl -fsS "$SANDBOX/sandbox/world" | py -c '
import json, sys
world = json.load(sys.stdin)
for tweet in world["tweets"]:
    replied = [r["id"] for r in tweet.get("referenced_tweets", []) if r["type"] == "replied_to"]
    if tweet["author_id"] == world["bot"]["id"] and replied == [sys.argv[1]]:
        print(tweet["id"], tweet["text"])
        sys.exit(0)
sys.exit(1)' "$1"
}

# True once the loop has polled mentions twice: on first start it answers only newer mentions.
loop_polling() {
  curl -fsS "$SANDBOX/sandbox/world" | py -c '
import json, sys
stats = json.load(sys.stdin)["stats"]
sys.exit(0 if sum(n for k, n in stats.items() if "mentions" in k) >= 2 else 1)'
}

tweet() { # USER TEXT [IN_REPLY_TO]: post as a person in the sandbox, print the new tweet's id
  py -c 'import json, sys; print(json.dumps({"username": sys.argv[1], "text": sys.argv[2], "in_reply_to": sys.argv[3]}))' \
    "$1" "$2" "${3:-}" |
    curl -fsS -H 'Content-Type: application/json' --data-binary @- "$SANDBOX/sandbox/tweet" |
    py -c 'import json, sys; print(json.load(sys.stdin)["id"])'
}

say "PostgreSQL database $DB_NAME"
THREADBOT_DATABASE_URL=$(database create) || fail "cannot create a database at $PG_URL"
SANDBOX_PORT=$(free_port)
WEB_PORT=$(free_port)
SANDBOX="http://127.0.0.1:$SANDBOX_PORT"
# One settings environment for every process, as /etc/threadbot/threadbot.env is on EC2.
export THREADBOT_DATABASE_URL
export THREADBOT_LOG_FORMAT=json
THREADBOT_SECRET_KEY="smoke-$(py -c 'import secrets; print(secrets.token_hex(32))')"
export THREADBOT_SECRET_KEY
export THREADBOT_WEB_PROXY_HOPS=1
# A private copy of the shipped NLU model: the checkout's copy may be retrained meanwhile.
cp -r models/nlu "$WORK/nlu"
export THREADBOT_NLU_MODEL="$WORK/nlu"
export THREADBOT_GENERATOR_MODEL="$WORK/no-generator"
export THREADBOT_TWITTER_API_BASE="$SANDBOX"
export THREADBOT_TWITTER_CONSUMER_KEY=smoke-consumer-key
export THREADBOT_TWITTER_CONSUMER_SECRET=smoke-consumer-secret
export THREADBOT_TWITTER_ACCESS_TOKEN=smoke-access-token
export THREADBOT_TWITTER_ACCESS_TOKEN_SECRET=smoke-access-token-secret
export THREADBOT_TWITTER_POLL_INTERVAL_SECONDS=0.5
export THREADBOT_TWITTER_RECONCILE_GRACE_SECONDS=0
export GUNICORN_CMD_ARGS="--bind 127.0.0.1:$WEB_PORT"

say "alembic upgrade head"
"$BIN/alembic" -c alembic.ini upgrade head >"$WORK/alembic.log" 2>&1 || fail "migrations: $(tail -n 5 "$WORK/alembic.log")"

start sandbox "$BIN/threadbot" sandbox --port "$SANDBOX_PORT" --bot-username ada
start web "$BIN/gunicorn" --config deploy/gunicorn.conf.py 'web:create_app()'
wait_for 120 "the sandbox did not start" curl -fsS "$SANDBOX/sandbox/world"
start twitter "$BIN/threadbot" twitter run

FRONT="http://127.0.0.1:$WEB_PORT"
if command -v nginx >/dev/null 2>&1; then
  NGINX_PORT=$(free_port)
  mkdir -p "$WORK/nginx/logs"
  # The production site file, moved to free ports; everything else is as deployed.
  sed -e "s/listen 80 default_server;/listen 127.0.0.1:$NGINX_PORT default_server;/" \
    -e '/listen \[::\]:80/d' -e "s/127.0.0.1:8000/127.0.0.1:$WEB_PORT/" \
    -e 's/@SERVER_NAME@/_/' deploy/nginx/threadbot.conf >"$WORK/nginx/site.conf"
  cat >"$WORK/nginx/nginx.conf" <<NGINX
daemon off;
pid $WORK/nginx/nginx.pid;
error_log $WORK/nginx/logs/error.log;
events {}
http {
  access_log off;
  client_body_temp_path $WORK/nginx/body;
  proxy_temp_path $WORK/nginx/proxy;
  include $WORK/nginx/site.conf;
}
NGINX
  start nginx nginx -p "$WORK/nginx" -c "$WORK/nginx/nginx.conf"
  FRONT="http://127.0.0.1:$NGINX_PORT"
  say "nginx in front on $FRONT"
else
  say "nginx is not installed: talking to gunicorn directly (apt-get install nginx-light)"
fi

wait_for 180 "/readyz never answered 200" curl -fsS "$FRONT/readyz"
say "ready: $(curl -fsS "$FRONT/readyz")"

wait_for 180 "the Twitter loop never polled the sandbox" loop_polling
first=$(tweet alice "@ada hello") || fail "could not tweet in the sandbox"
second=$(tweet bob "@ada hi there") || fail "could not tweet in the sandbox"
wait_for 90 "no reply to alice's mention" reply_to "$first"
wait_for 90 "no reply to bob's mention" reply_to "$second"
read -r bot_reply bot_text < <(reply_to "$first")
say "alice got: $bot_text"
third=$(tweet alice "@ada I love robots" "$bot_reply") || fail "could not reply in the thread"
wait_for 90 "no answer to alice's second turn in her thread" reply_to "$third"
say "alice's second turn got: $(reply_to "$third" | cut -d' ' -f2-)"

chat=$(curl -fsS -H 'Content-Type: application/json' --data '{"user": "carol", "text": "hello"}' \
  "$FRONT/api/v1/chat") || fail "the chat API did not answer"
say "chat API: $chat"

"$BIN/threadbot" doctor --quick >"$WORK/doctor.log" 2>&1 || fail "doctor: $(cat "$WORK/doctor.log")"
grep -q "ok   x credentials" "$WORK/doctor.log" || fail "doctor did not check X: $(cat "$WORK/doctor.log")"
say "doctor: $(tail -n 1 "$WORK/doctor.log")"

if grep -q "$THREADBOT_SECRET_KEY" "$WORK"/*.log; then
  fail "the secret key appeared in a log"
fi
grep -h '^{' "$WORK/web.log" | head -n 1 | py -c 'import json, sys; json.loads(sys.stdin.read())' ||
  fail "gunicorn's log lines are not JSON"

say "stopping every process with SIGTERM"
stop_all || fail "a process did not stop cleanly"
say "passed"
