#!/usr/bin/env bash
# Installs tenderbridge as a systemd service from a built checkout (npm ci && npm run build).
#
#   /opt/tenderbridge/                       the app: dist/, bin/, node_modules/ (production), package.json
#   /etc/systemd/system/tenderbridge.service the unit
#   /etc/sysusers.d/tenderbridge.conf        the `tenderbridge` system user
#   /etc/tenderbridge/config.json            only if absent (never overwritten); the shipped
#   /etc/tenderbridge/config.json.example    example is always refreshed beside it
#   /etc/tenderbridge/credentials/           secrets for LoadCredential= (root only, 0700)
#   /usr/local/bin/tenderbridge              -> /opt/tenderbridge/bin/tenderbridge.js (the CLI)
#
# State (/var/lib/tenderbridge) is created by systemd (StateDirectory=) at first start.
# Running it again upgrades the app and changes nothing else; it is safe to repeat.
set -euo pipefail

usage() {
  cat <<'EOF'
Usage: scripts/install.sh [--dry-run] [--destdir DIR] [--no-deps | --copy-deps]

Installs tenderbridge (built with `npm ci && npm run build`) as a systemd service.

  --dry-run        print every action, change nothing
  --destdir DIR    install under DIR instead of / (also $DESTDIR), e.g. to build an image or
                   a package; the user is then created at first boot by systemd-sysusers,
                   and systemctl is not called
  --no-deps        do not install node_modules into /opt/tenderbridge (tests, or packagers
                   who provide them); by default `npm install --omit=dev` runs there
  --copy-deps      copy this checkout's node_modules and prune dev dependencies
                   (no network; the checkout must match the target's OS, CPU and Node)
  -h, --help       show this help
EOF
}

DRY_RUN=0
DEPS=install
DESTDIR="${DESTDIR:-}"
while [ $# -gt 0 ]; do
  case "$1" in
    --dry-run) DRY_RUN=1 ;;
    --destdir) [ $# -ge 2 ] || { echo "install.sh: --destdir needs a directory" >&2; exit 2; }; DESTDIR="$2"; shift ;;
    --destdir=*) DESTDIR="${1#--destdir=}" ;;
    --no-deps) DEPS=none ;;
    --copy-deps) DEPS=copy ;;
    -h | --help) usage; exit 0 ;;
    *) echo "install.sh: unknown option $1 (see --help)" >&2; exit 2 ;;
  esac
  shift
done

SRC="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
# An absolute DESTDIR without a trailing slash ("" is the real root).
[ -z "$DESTDIR" ] || DESTDIR="$(realpath -m -- "$DESTDIR")"
[ "$DESTDIR" != / ] || DESTDIR=
APP=/opt/tenderbridge
ETC=/etc/tenderbridge
UNIT=/etc/systemd/system/tenderbridge.service
SYSUSERS=/etc/sysusers.d/tenderbridge.conf
CLI=/usr/local/bin/tenderbridge
USER_NAME=tenderbridge
CHANGED=0

say() { printf '%s\n' "$*"; }
# Every change goes through here: printed, and skipped under --dry-run.
run() {
  CHANGED=1
  if [ "$DRY_RUN" = 1 ]; then say "would run: $*"; else say "+ $*"; "$@"; fi
}

# A system directory we do not own: created if missing, never changed.
ensure_parent() {
  [ -d "$DESTDIR$1" ] || run install -d -m 0755 "$DESTDIR$1"
}

# One of our directories, with this mode (created or corrected, never emptied).
ensure_dir() {
  local dir="$DESTDIR$1" mode="$2"
  if [ ! -d "$dir" ]; then run install -d -m "$mode" "$dir"
  elif [ "$(stat -c %a "$dir")" != "${mode#0}" ]; then run chmod "$mode" "$dir"; fi
}

# Copies a file when its content or mode differs (so a second run touches nothing).
ensure_file() {
  local from="$1" to="$DESTDIR$2" mode="$3"
  if [ -f "$to" ] && cmp -s "$from" "$to"; then
    [ "$(stat -c %a "$to")" = "${mode#0}" ] || run chmod "$mode" "$to"
  else
    run install -m "$mode" "$from" "$to"
  fi
}

# True when $DESTDIR$2 already mirrors $1: same files and contents (one diff), every file with the
# mode sync_tree would give it and every directory 0755 (one find each). Saves a cmp and a stat per
# file on a repeated install, which for dist/ (500 files) took seconds.
tree_in_place() {
  local from="$1" dest="$DESTDIR$2" file_mode="${3:-}" want have
  [ -d "$dest" ] || return 1
  diff -rq --no-dereference "$from" "$dest" >/dev/null 2>&1 || return 1
  [ -z "$(cd "$dest" && find . -mindepth 1 -type d ! -perm 0755 -print -quit)" ] || return 1
  want="$(cd "$from" && find . -type f -printf '%m\t%P\n' | awk -F'\t' -v fm="${file_mode#0}" '{ m = fm != "" ? fm : (substr($1, 1, 1) % 2 == 1 ? "755" : "644"); print m "\t" $2 }' | LC_ALL=C sort)"
  have="$(cd "$dest" && find . -type f -printf '%m\t%P\n' | LC_ALL=C sort)"
  [ "$want" = "$have" ]
}

# Mirrors a directory tree: copies new and changed files, removes files the build no longer
# has. Files get mode $3, else 0755 or 0644 as the source is executable or not.
sync_tree() {
  local from="$1" to="$2" file_mode="${3:-}" rel mode
  ensure_dir "$to" 0755
  tree_in_place "$from" "$to" "$file_mode" && return 0
  while IFS= read -r -d '' rel; do
    rel="${rel#./}"
    if [ -d "$from/$rel" ]; then ensure_dir "$to/$rel" 0755; continue; fi
    # The mode without a subshell: a fork per file made installing dist/ (500 files) take seconds.
    mode="$file_mode"
    if [ -z "$mode" ]; then if [ -x "$from/$rel" ]; then mode=0755; else mode=0644; fi; fi
    ensure_file "$from/$rel" "$to/$rel" "$mode"
  done < <(cd "$from" && find . -mindepth 1 -print0 | LC_ALL=C sort -z)
  [ -d "$DESTDIR$to" ] || return 0
  while IFS= read -r -d '' rel; do
    rel="${rel#./}"
    [ -e "$from/$rel" ] || run rm -rf -- "$DESTDIR$to/$rel"
  done < <(cd "$DESTDIR$to" && find . -mindepth 1 -depth -print0)
}

ensure_symlink() {
  local target="$1" link="$DESTDIR$2"
  if [ -L "$link" ] && [ "$(readlink "$link")" = "$target" ]; then return 0; fi
  if [ -e "$link" ] && [ ! -L "$link" ]; then
    echo "install.sh: $link exists and is not a symlink; not replacing it" >&2
    exit 1
  fi
  ensure_parent "$(dirname "$2")"
  run ln -sfn "$target" "$link"
}

# ---- checks ------------------------------------------------------------------------------
[ -f "$SRC/dist/main.js" ] || { echo "install.sh: $SRC/dist/main.js is missing: run \`npm ci && npm run build\` first" >&2; exit 1; }
if [ -z "$DESTDIR" ] && [ "$DRY_RUN" = 0 ] && [ "$(id -u)" != 0 ]; then
  echo "install.sh: installing to / needs root (sudo), or use --destdir DIR or --dry-run" >&2
  exit 1
fi
if [ "$DEPS" = install ] && [ "$DRY_RUN" = 0 ] && ! command -v npm >/dev/null; then
  echo "install.sh: npm is needed to install the production dependencies (or use --copy-deps / --no-deps)" >&2
  exit 1
fi
say "installing tenderbridge from $SRC into ${DESTDIR:-/}$([ "$DRY_RUN" = 1 ] && echo ' (dry run: nothing is changed)')"

# ---- the app -----------------------------------------------------------------------------
ensure_parent /opt
ensure_dir "$APP" 0755
sync_tree "$SRC/dist" "$APP/dist"
# The CLI (linked from /usr/local/bin) must be executable whatever the checkout says.
if [ -d "$SRC/bin" ]; then sync_tree "$SRC/bin" "$APP/bin" 0755; fi
ensure_dir "$APP/config" 0755
ensure_file "$SRC/config/example.json" "$APP/config/example.json" 0644
for f in package.json package-lock.json README.md; do
  if [ -f "$SRC/$f" ]; then ensure_file "$SRC/$f" "$APP/$f" 0644; fi
done

case "$DEPS" in
  install)
    # npm leaves an up-to-date node_modules as it is, so this is not counted as a change.
    before=$CHANGED
    run npm install --prefix "$DESTDIR$APP" --omit=dev --no-audit --no-fund --no-update-notifier --loglevel=error
    CHANGED=$before ;;
  copy)
    # For offline targets: `npm ci && npm run build && npm prune --omit=dev` in the checkout first.
    [ -d "$SRC/node_modules" ] || { echo "install.sh: $SRC/node_modules is missing: run npm ci first" >&2; exit 1; }
    if ! diff -rq --no-dereference "$SRC/node_modules" "$DESTDIR$APP/node_modules" >/dev/null 2>&1; then
      run rm -rf -- "$DESTDIR$APP/node_modules"
      run cp -a -- "$SRC/node_modules" "$DESTDIR$APP/node_modules"
      run chmod -R u+rwX,go+rX,go-w -- "$DESTDIR$APP/node_modules"
    fi ;;
  none)
    say "note: --no-deps: $APP/node_modules not installed (run \`npm install --omit=dev\` there)" ;;
esac

# ---- systemd -----------------------------------------------------------------------------
ensure_parent /etc
ensure_parent /etc/systemd
ensure_parent /etc/systemd/system
ensure_file "$SRC/systemd/tenderbridge.service" "$UNIT" 0644
ensure_parent /etc/sysusers.d
ensure_file "$SRC/systemd/tenderbridge.sysusers" "$SYSUSERS" 0644

if [ -n "$DESTDIR" ]; then
  say "note: --destdir: user $USER_NAME not created now; systemd-sysusers creates it at boot from $SYSUSERS"
elif ! getent passwd "$USER_NAME" >/dev/null; then
  if command -v systemd-sysusers >/dev/null; then run systemd-sysusers "$SYSUSERS"
  else run useradd --system --user-group --home-dir /var/lib/tenderbridge --no-create-home --shell /usr/sbin/nologin "$USER_NAME"; fi
fi

# ---- config and credentials --------------------------------------------------------------
ensure_dir "$ETC" 0755
ensure_dir "$ETC/credentials" 0700
ensure_file "$SRC/config/example.json" "$ETC/config.json.example" 0644
if [ -e "$DESTDIR$ETC/config.json" ]; then
  say "keeping $ETC/config.json (compare with config.json.example after upgrades)"
else
  # No secrets in it, but the terminal key hashes are nobody else's business.
  run install -m 0640 "$SRC/config/example.json" "$DESTDIR$ETC/config.json"
  if [ -z "$DESTDIR" ]; then run chgrp "$USER_NAME" "$ETC/config.json"
  else say "note: --destdir: give $ETC/config.json group $USER_NAME on the target (chgrp $USER_NAME $ETC/config.json)"; fi
fi

# ---- the CLI -----------------------------------------------------------------------------
ensure_parent /usr
ensure_parent /usr/local
ensure_symlink "$APP/bin/tenderbridge.js" "$CLI"

if [ -z "$DESTDIR" ] && [ -d /run/systemd/system ]; then
  if [ "$CHANGED" = 1 ]; then run systemctl daemon-reload; fi
else
  say "note: systemctl daemon-reload skipped ($([ -n "$DESTDIR" ] && echo 'installing under --destdir' || echo 'systemd is not running'))"
fi

[ "$CHANGED" = 1 ] || say "nothing to change: tenderbridge is installed and up to date"
cat <<EOF

Next steps:
  1. Edit $ETC/config.json (PartPay merchant id and client id, store, terminals' key hashes).
  2. Put each secret in its own file, root only:
       sudo install -m 0600 /dev/stdin $ETC/credentials/partpay-client-secret <<<'...'
       sudo install -m 0600 /dev/stdin $ETC/credentials/partpay-callback-key <<<'...'
     (one LoadCredential= line per secret in the unit; add more with \`systemctl edit tenderbridge\`)
  3. sudo systemctl enable --now tenderbridge     (after an upgrade: sudo systemctl restart tenderbridge)
  4. journalctl -u tenderbridge -f
  5. curl -s localhost:8480/readyz
EOF
