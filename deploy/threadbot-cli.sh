#!/bin/sh
# /usr/local/bin/threadbot on the server: run threadbot as the service user with the services'
# settings, e.g. `sudo threadbot doctor` or `sudo threadbot db current` (docs/deploy.md).
set -eu
if [ "$(id -u)" -ne 0 ]; then
  echo "run with sudo: the settings file is readable by root only" >&2
  exit 1
fi
set -a
# shellcheck source=/dev/null
. /etc/threadbot/threadbot.env
set +a
cd /opt/threadbot/app
exec runuser -u threadbot -- /opt/threadbot/venv/bin/threadbot "$@"
