#!/usr/bin/env bash
# Back up the bot's database and copy it to S3: SQLite with `.backup` (consistent while the bot
# runs), PostgreSQL with `pg_dump --format=custom`. Run by threadbot-backup.timer every night,
# with the services' settings; keeps the last 7 local copies under /srv/threadbot/backups.
# Restore: docs/deploy.md, "Backups and restore".
set -Eeuo pipefail

: "${THREADBOT_DATABASE_URL:?THREADBOT_DATABASE_URL is not set (run with the settings file)}"
DIR=${THREADBOT_BACKUP_DIR:-/srv/threadbot/backups}
KEEP=7
stamp=$(date -u +%Y%m%dT%H%M%SZ)
mkdir -p "$DIR"

case "$THREADBOT_DATABASE_URL" in
  sqlite:///*)
    db=${THREADBOT_DATABASE_URL#sqlite:///}
    file="$DIR/threadbot-$stamp.db"
    sqlite3 "$db" ".backup '$file'"
    gzip "$file"
    file="$file.gz"
    ;;
  postgresql*://*)
    file="$DIR/threadbot-$stamp.dump"
    # pg_dump speaks libpq URLs: drop SQLAlchemy's +driver suffix if present.
    pg_dump --format=custom --file="$file" "${THREADBOT_DATABASE_URL/postgresql+psycopg:/postgresql:}"
    ;;
  *)
    echo "backup.sh: unknown database URL scheme" >&2
    exit 1
    ;;
esac
echo "backup.sh: wrote $file ($(du -h "$file" | cut -f1))"

# Off the machine: the model bucket's backups/ prefix (the instance role may write there).
store=${THREADBOT_MODEL_STORE:-}
if [[ "$store" == s3://* ]]; then
  bucket=${store#s3://}
  bucket=${bucket%%/*}
  aws s3 cp --only-show-errors "$file" "s3://$bucket/backups/$(basename "$file")"
  echo "backup.sh: copied to s3://$bucket/backups/"
fi

# Oldest local copies go; S3 keeps every copy (add a lifecycle rule to expire them).
find "$DIR" -maxdepth 1 -name 'threadbot-*' -type f -printf '%T@ %p\n' | sort -rn |
  tail -n +$((KEEP + 1)) | cut -d' ' -f2- | xargs -r rm -f --
