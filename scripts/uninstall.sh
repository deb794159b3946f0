#!/usr/bin/env bash
# Removes what scripts/install.sh installed: the app, the unit, the sysusers entry and the
# CLI link. Config (/etc/tenderbridge, with the credentials) and state
# (/var/lib/tenderbridge, the payments database) are kept unless --purge. The system user
# is always kept: files (backups, the database) may still be owned by its uid.
set -euo pipefail

usage() {
  cat <<'EOF'
Usage: scripts/uninstall.sh [--dry-run] [--destdir DIR] [--purge]

Stops and removes tenderbridge. Keeps /etc/tenderbridge and /var/lib/tenderbridge unless --purge.

  --dry-run        print every action, change nothing
  --destdir DIR    remove from under DIR instead of / (also $DESTDIR); systemctl is not called
  --purge          also delete the config, the credentials and the database (irreversible:
                   the database is the record of every payment; back it up first)
  -h, --help       show this help
EOF
}

DRY_RUN=0
PURGE=0
DESTDIR="${DESTDIR:-}"
while [ $# -gt 0 ]; do
  case "$1" in
    --dry-run) DRY_RUN=1 ;;
    --destdir) [ $# -ge 2 ] || { echo "uninstall.sh: --destdir needs a directory" >&2; exit 2; }; DESTDIR="$2"; shift ;;
    --destdir=*) DESTDIR="${1#--destdir=}" ;;
    --purge) PURGE=1 ;;
    -h | --help) usage; exit 0 ;;
    *) echo "uninstall.sh: unknown option $1 (see --help)" >&2; exit 2 ;;
  esac
  shift
done

[ -z "$DESTDIR" ] || DESTDIR="$(realpath -m -- "$DESTDIR")"
[ "$DESTDIR" != / ] || DESTDIR=
APP=/opt/tenderbridge
UNIT=/etc/systemd/system/tenderbridge.service
CLI=/usr/local/bin/tenderbridge
CHANGED=0

say() { printf '%s\n' "$*"; }
run() {
  CHANGED=1
  if [ "$DRY_RUN" = 1 ]; then say "would run: $*"; else say "+ $*"; "$@"; fi
}
remove() {
  if [ -e "$DESTDIR$1" ] || [ -L "$DESTDIR$1" ]; then run rm -rf -- "$DESTDIR$1"; fi
}

if [ -z "$DESTDIR" ] && [ "$DRY_RUN" = 0 ] && [ "$(id -u)" != 0 ]; then
  echo "uninstall.sh: removing from / needs root (sudo), or use --destdir DIR or --dry-run" >&2
  exit 1
fi
say "removing tenderbridge from ${DESTDIR:-/}$([ "$DRY_RUN" = 1 ] && echo ' (dry run: nothing is changed)')"

SYSTEMD=0
if [ -z "$DESTDIR" ] && [ -d /run/systemd/system ]; then SYSTEMD=1; fi
if [ "$SYSTEMD" = 1 ] && [ -e "$UNIT" ]; then
  run systemctl disable --now tenderbridge.service
fi

# The CLI link only if it is ours.
if [ -L "$DESTDIR$CLI" ] && [ "$(readlink "$DESTDIR$CLI")" = "$APP/bin/tenderbridge.js" ]; then run rm -f -- "$DESTDIR$CLI"; fi
remove "$UNIT"
remove /etc/systemd/system/tenderbridge.service.d
remove /etc/sysusers.d/tenderbridge.conf
remove "$APP"

if [ "$PURGE" = 1 ]; then
  remove /etc/tenderbridge
  remove /var/lib/tenderbridge
  # Where systemd keeps a StateDirectory if the unit ever ran with DynamicUser=yes.
  remove /var/lib/private/tenderbridge
else
  for kept in /etc/tenderbridge /var/lib/tenderbridge; do
    if [ -e "$DESTDIR$kept" ]; then say "keeping $kept (use --purge to delete it)"; fi
  done
fi

if [ "$SYSTEMD" = 1 ] && [ "$CHANGED" = 1 ]; then run systemctl daemon-reload; fi
if [ "$CHANGED" = 0 ]; then say "nothing to remove"; fi
say "the system user tenderbridge is kept (userdel tenderbridge to remove it)"
