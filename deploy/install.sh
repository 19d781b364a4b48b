#!/usr/bin/env bash
# Install or upgrade threadbot on a Debian 12 server, as root. The stack's user data runs it at
# first boot; run it again (deploy/update.sh does) to apply a new release or new SSM settings.
# It is idempotent: packages, user, venv, settings, migrations, units, nginx, TLS, health check.
#
# Inputs (environment): TB_REGION, TB_SETTINGS_PATH, TB_MODEL_BUCKET; optional TB_DOMAIN,
# TB_CERTBOT_EMAIL, TB_DB_HOST + TB_DB_SECRET_ARN (RDS), TB_WAIT_HANDLE (the stack's presigned
# URL for reporting the result; first boot only), TB_DATA_VOLUME (the EBS volume id mounted at
# /srv/threadbot). They are kept in /etc/threadbot/install.env, so a re-run needs
# only what changes, e.g. `sudo env TB_DOMAIN=bot.example.com TB_CERTBOT_EMAIL=me@example.com
# /opt/threadbot/app/deploy/install.sh` to add TLS later.
# -E: the ERR trap below also fires inside functions.
set -Eeuo pipefail

APP=/opt/threadbot/app
VENV=/opt/threadbot/venv
STATE=/srv/threadbot
CONF=/etc/threadbot
ENV_FILE=$CONF/threadbot.env
INPUTS=$CONF/install.env

log() { printf '%s threadbot-install: %s\n' "$(date -u +%Y-%m-%dT%H:%M:%SZ)" "$*"; }

INPUT_NAMES=(TB_REGION TB_SETTINGS_PATH TB_MODEL_BUCKET TB_DOMAIN TB_CERTBOT_EMAIL TB_DB_HOST
  TB_DB_SECRET_ARN TB_DATA_VOLUME)
# Re-runs reuse the saved inputs; a value given in the environment wins over the saved one.
if [ -f "$INPUTS" ]; then
  while IFS= read -r line; do
    name=${line%%=*}
    value=${line#*=}
    value=${value#\'}
    value=${value%\'}
    if [[ " ${INPUT_NAMES[*]} " == *" $name "* ]] && [ -z "${!name:-}" ]; then
      export "$name=$value"
    fi
  done <"$INPUTS"
fi
: "${TB_REGION:?TB_REGION is required (the AWS region)}"
: "${TB_SETTINGS_PATH:?TB_SETTINGS_PATH is required (the SSM path, e.g. /threadbot/prod)}"
: "${TB_MODEL_BUCKET:?TB_MODEL_BUCKET is required (the S3 bucket for models)}"
TB_DOMAIN=${TB_DOMAIN:-}
TB_CERTBOT_EMAIL=${TB_CERTBOT_EMAIL:-}
TB_DB_HOST=${TB_DB_HOST:-}
TB_DB_SECRET_ARN=${TB_DB_SECRET_ARN:-}
TB_WAIT_HANDLE=${TB_WAIT_HANDLE:-}
TB_DATA_VOLUME=${TB_DATA_VOLUME:-}
export AWS_DEFAULT_REGION=$TB_REGION

# Tell CloudFormation how it went, so the stack fails fast instead of waiting 30 minutes.
signal() {
  [ -n "$TB_WAIT_HANDLE" ] || return 0
  local body
  body=$(printf '{"Status": "%s", "Reason": "install.sh: %s", "UniqueId": "%s", "Data": "%s"}' \
    "$1" "$1" "$(hostname)" "$1")
  # An empty Content-Type: the URL is a presigned S3 PUT that signs without one.
  curl -fsS --retry 5 -X PUT -H 'Content-Type:' --data-binary "$body" "$TB_WAIT_HANDLE" ||
    log "could not report $1 to CloudFormation"
  TB_WAIT_HANDLE="" # report once
}
trap 'log "failed at line $LINENO"; signal FAILURE' ERR

install_packages() {
  log "installing system packages"
  export DEBIAN_FRONTEND=noninteractive
  apt-get -o Acquire::Retries=5 update -q
  # awscli: for backups to S3 by hand (docs/deploy.md); the app itself uses boto3.
  # fonts-noto-color-emoji: colour emoji on the showcase's tweet cards (docs/showcase.md).
  apt-get -o Acquire::Retries=5 install -yq python3 python3-venv git nginx sqlite3 curl ca-certificates awscli \
    certbot python3-certbot-nginx postgresql-common fonts-noto-color-emoji
  if [ -n "$TB_DB_HOST" ]; then
    # pg_dump must be as new as the server (RDS PostgreSQL 18); Debian 12 ships 15, PGDG has 18.
    if [ ! -f /etc/apt/sources.list.d/pgdg.sources ] && [ ! -f /etc/apt/sources.list.d/pgdg.list ]; then
      /usr/share/postgresql-common/pgdg/apt.postgresql.org.sh -y
    fi
    apt-get -o Acquire::Retries=5 install -yq postgresql-client-18
  fi
}

add_swap() {
  # Installing torch and loading two workers' models can pass 2 GiB for a moment on a t3.small.
  if [ "$(swapon --noheadings | wc -l)" -eq 0 ] && [ ! -f /swapfile ]; then
    log "adding a 2 GiB swap file"
    fallocate -l 2G /swapfile
    chmod 600 /swapfile
    mkswap /swapfile >/dev/null
    swapon /swapfile
    echo '/swapfile none swap sw 0 0' >>/etc/fstab
  fi
}

mount_data() {
  # The stack's data volume holds /srv/threadbot (SQLite, models, backups) across instance
  # replacement. Nitro instances name it by its id, without the dash, under /dev/disk/by-id.
  [ -n "$TB_DATA_VOLUME" ] || return 0
  mountpoint -q "$STATE" && return 0
  local device=/dev/disk/by-id/nvme-Amazon_Elastic_Block_Store_${TB_DATA_VOLUME//-/}
  for _ in $(seq 60); do
    [ -e "$device" ] && break
    sleep 5 # the attachment is made just after the instance starts
  done
  [ -e "$device" ] || device=/dev/xvdf # older Xen instance types keep the requested name
  if ! blkid "$device" >/dev/null 2>&1; then
    log "formatting the new data volume $TB_DATA_VOLUME"
    mkfs.ext4 -q -L threadbot-data "$device"
  fi
  mkdir -p "$STATE"
  if ! grep -q "LABEL=threadbot-data" /etc/fstab; then
    echo "LABEL=threadbot-data $STATE ext4 defaults,nofail 0 2" >>/etc/fstab
  fi
  mount "$STATE"
  log "data volume $TB_DATA_VOLUME mounted at $STATE"
}

add_user() {
  if ! id threadbot >/dev/null 2>&1; then
    useradd --system --home-dir "$STATE" --shell /usr/sbin/nologin threadbot
  fi
  install -d -o threadbot -g threadbot -m 0750 "$STATE" "$STATE/data" "$STATE/models"
  # A data volume from a replaced instance may carry another uid for the same user name.
  chown -R threadbot:threadbot "$STATE"
  install -d -o root -g root -m 0700 "$CONF"
}

install_app() {
  log "installing the app into $VENV"
  [ -x "$VENV/bin/python" ] || python3 -m venv "$VENV"
  "$VENV/bin/pip" install --quiet --upgrade pip
  # The pinned CPU torch wheel from PyTorch's index: PyPI's default build pulls gigabytes of CUDA.
  torch_pin=$(grep -o '"torch==[^"]*"' "$APP/pyproject.toml" | tr -d '"')
  "$VENV/bin/pip" install --quiet --retries 10 --index-url https://download.pytorch.org/whl/cpu "$torch_pin"
  # Editable: alembic.ini and migrations/ are found beside the packages, as in development.
  "$VENV/bin/pip" install --quiet --retries 10 -e "$APP"
  install -m 0755 "$APP/deploy/threadbot-cli.sh" /usr/local/bin/threadbot
}

write_settings() {
  log "writing $ENV_FILE from SSM $TB_SETTINGS_PATH"
  local args=(
    --ssm-path "$TB_SETTINGS_PATH"
    --set "AWS_DEFAULT_REGION=$TB_REGION"
    --set THREADBOT_LOG_FORMAT=json
    --set THREADBOT_WEB_PROXY_HOPS=1
    --set "THREADBOT_DATA_DIR=$APP/data/bot"
    --set "THREADBOT_NLU_MODEL=$APP/models/nlu"
    --set "THREADBOT_GENERATOR_MODEL=$APP/models/generator"
    --set "THREADBOT_MODEL_STORE=s3://$TB_MODEL_BUCKET/models"
    # The retraining registry's versions, snapshots and runs: writable, on the data volume.
    --set "THREADBOT_MODEL_DIR=$STATE/models"
    --secret-key-file "$CONF/secret_key"
    --out "$ENV_FILE"
  )
  if [ -n "$TB_DOMAIN" ]; then
    args+=(--set THREADBOT_WEB_HTTPS=true)
  fi
  if [ -n "$TB_DB_HOST" ]; then
    args+=(--db-host "$TB_DB_HOST" --db-secret-arn "$TB_DB_SECRET_ARN")
  else
    args+=(--set "THREADBOT_DATABASE_URL=sqlite:///$STATE/data/threadbot.db")
  fi
  (cd / && "$VENV/bin/threadbot" ops write-env "${args[@]}")
}

# Run a command as the service user with the service's settings, from the app folder.
as_app() {
  (
    set -a
    # shellcheck source=/dev/null
    . "$ENV_FILE"
    set +a
    cd "$APP"
    runuser -u threadbot -- "$@"
  )
}

migrate() {
  log "migrating the database (alembic upgrade head)"
  as_app "$VENV/bin/alembic" -c "$APP/alembic.ini" upgrade head
}

start_services() {
  log "installing and starting systemd units"
  install -m 0644 "$APP"/deploy/systemd/threadbot-*.service "$APP"/deploy/systemd/threadbot-*.timer \
    /etc/systemd/system/
  systemctl daemon-reload
  systemctl enable --quiet threadbot-web.service
  systemctl restart threadbot-web.service
  systemctl enable --now --quiet threadbot-backup.timer
  if grep -Eq "^THREADBOT_TWITTER_(ACCESS_TOKEN|OAUTH2_USER_TOKEN)=" "$ENV_FILE"; then
    systemctl enable --quiet threadbot-twitter.service
    systemctl restart threadbot-twitter.service
  else
    log "no X credentials in $TB_SETTINGS_PATH: the Twitter loop stays off (docs/deploy.md)"
    systemctl disable --now --quiet threadbot-twitter.service || true
  fi
}

configure_nginx() {
  log "configuring nginx for ${TB_DOMAIN:-any host name}"
  sed "s/@SERVER_NAME@/${TB_DOMAIN:-_}/" "$APP/deploy/nginx/threadbot.conf" \
    >/etc/nginx/sites-available/threadbot
  ln -sf /etc/nginx/sites-available/threadbot /etc/nginx/sites-enabled/threadbot
  rm -f /etc/nginx/sites-enabled/default
  nginx -t -q
  systemctl reload-or-restart nginx
  if [ -n "$TB_DOMAIN" ]; then
    # Needs the domain's DNS record pointing here; if it does not yet, HTTP keeps working and
    # a later run (sudo /opt/threadbot/app/deploy/install.sh) adds TLS.
    if certbot --nginx --non-interactive --agree-tos --keep-until-expiring --redirect \
      -m "$TB_CERTBOT_EMAIL" -d "$TB_DOMAIN"; then
      log "TLS on for https://$TB_DOMAIN/ (certbot's timer renews it)"
    else
      log "certbot failed: point $TB_DOMAIN at this machine, then run install.sh again"
    fi
  fi
}

wait_ready() {
  log "waiting for /readyz"
  for _ in $(seq 90); do
    if curl -fsS --max-time 5 http://127.0.0.1:8000/readyz >/dev/null 2>&1; then
      log "ready"
      return 0
    fi
    sleep 2
  done
  log "the web app did not become ready; see: journalctl -u threadbot-web"
  /usr/local/bin/threadbot doctor || true
  return 1
}

install_packages
add_swap
mount_data
add_user
install_app
# Non-secret inputs only (names and addresses), so a re-run needs no arguments.
(
  umask 077
  for name in "${INPUT_NAMES[@]}"; do
    printf "%s='%s'\n" "$name" "${!name}"
  done >"$INPUTS"
)
write_settings
migrate
start_services
configure_nginx
wait_ready
signal SUCCESS
log "done"
