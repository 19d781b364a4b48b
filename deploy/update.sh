#!/usr/bin/env bash
# Move the server to another release and re-run the installer (settings, migrations, restarts).
# usage: sudo /opt/threadbot/app/deploy/update.sh REF    (a tag, branch or commit)
# It prints the commit it left, so a rollback is `update.sh <that commit>` (docs/deploy.md).
set -Eeuo pipefail

main() {
  local ref=${1:?usage: update.sh REF (a tag, branch or commit)}
  local app=/opt/threadbot/app
  local before target
  before=$(git -C "$app" rev-parse HEAD)
  git -C "$app" fetch --quiet --tags origin
  # A branch name means the remote's newest commit, not a stale local branch.
  if target=$(git -C "$app" rev-parse --verify --quiet "origin/$ref^{commit}"); then :; else
    target=$(git -C "$app" rev-parse --verify "$ref^{commit}")
  fi
  git -C "$app" checkout --quiet --detach "$target"
  echo "release: was $before, now $target (roll back with: update.sh $before)"
  "$app/deploy/install.sh"
}

# All of the script is parsed before the checkout above rewrites this very file.
main "$@"
exit
