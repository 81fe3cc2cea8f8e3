#!/usr/bin/env bash
# Run by `npm test` first: the real tools the tests drive are Debian packages. As root (or with
# password-less sudo) missing ones are installed; otherwise this stops at once with the one
# command to run. The list is the single source for .ci/run too (it just runs `npm test`).
set -euo pipefail
PKGS="openssl ca-certificates caddy certbot lego nix-bin postgresql chromium fonts-dejavu-core iproute2 strace zsh fish"
if ! command -v dpkg >/dev/null; then
  echo "npm test needs the Debian packages: $PKGS (no dpkg here: install their equivalents)" >&2
  exit 1
fi
missing=""
for p in $PKGS; do dpkg -s "$p" >/dev/null 2>&1 || missing="$missing $p"; done
[ -z "$missing" ] && exit 0
install="apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends$missing"
if [ "$(id -u)" -eq 0 ]; then
  sh -c "$install"
elif command -v sudo >/dev/null && sudo -n true 2>/dev/null; then
  sudo sh -c "$install"
else
  echo "npm test: missing Debian packages:$missing" >&2
  echo "run:  sudo sh -c '$install'" >&2
  exit 1
fi
