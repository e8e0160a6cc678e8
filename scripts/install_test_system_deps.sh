#!/bin/sh
# Installs Debian's Chromium (browser tests), Redis (multi-process tests), PostgreSQL (the
# production database tests, which start their own throwaway server) and nginx (the topology
# test, which runs the binary with its own prefix and the repository's deploy/ site file, never
# the system service) when they are missing and this machine allows it (root with apt-get). Otherwise says what is missing; the tests that need
# them then skip with that message, except under CI=true where they fail.
missing=""
[ -x /usr/bin/chromium ] || missing="$missing chromium"
command -v redis-server >/dev/null 2>&1 || missing="$missing redis-server"
ls /usr/lib/postgresql/*/bin/initdb >/dev/null 2>&1 || missing="$missing postgresql"
[ -x /usr/sbin/nginx ] || command -v nginx >/dev/null 2>&1 || missing="$missing nginx"
[ -z "$missing" ] && exit 0
if [ "$(id -u)" = "0" ] && command -v apt-get >/dev/null 2>&1; then
  echo "Installing Debian packages:$missing"
  apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends $missing >/dev/null \
    || echo "Could not install:$missing (the tests that need them will say so)"
else
  echo "Not installing$missing: needs root and apt-get. Install them to run every test."
fi
exit 0
