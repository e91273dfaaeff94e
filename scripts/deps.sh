#!/bin/sh
# Installs the Debian 12 packages budgetwatch needs to build, test and run its demo.
# Idempotent: installs only what is missing. As root it runs apt-get; otherwise it
# uses sudo when that works without a password, and else lists what to install.
set -eu

PKGS="build-essential cmake pkg-config libuv1-dev libzmq3-dev libmsgpack-dev \
libsqlite3-dev libsystemd-dev libinih-dev libcsv-dev libjson-c-dev libczmq-dev libcmocka-dev tzdata \
python3 python3-zmq python3-msgpack sqlite3 strace systemd man-db dpkg-dev lintian \
libxlsxwriter-dev libmicrohttpd-dev python3-openpyxl prometheus"
# budgetwatch-notify: libcurl (HTTPS, SMTP), libsodium (HMAC-SHA256 signatures);
# its tests: a real SMTP server and a real Alertmanager.
PKGS="$PKGS libcurl4-openssl-dev libsodium-dev python3-aiosmtpd prometheus-alertmanager"
# budgetwatch-notify's STARTTLS test: a self-signed certificate made in the test.
PKGS="$PKGS openssl"
# budgetwatch-web: Chart.js as Debian ships it; its tests: a real browser and a CJK font.
PKGS="$PKGS libjs-chart.js chromium chromium-driver python3-selenium fonts-wqy-zenhei"
[ $# -gt 0 ] && PKGS="$PKGS $*"

missing=""
for p in $PKGS; do
    status=$(dpkg-query -W -f='${db:Status-Status}' "$p" 2>/dev/null || true)
    [ "$status" = "installed" ] || missing="$missing $p"
done
[ -z "$missing" ] && exit 0

echo "budgetwatch: installing missing Debian packages:$missing" >&2
if [ "$(id -u)" -eq 0 ]; then
    SUDO=""
elif command -v sudo >/dev/null 2>&1 && sudo -n true 2>/dev/null; then
    SUDO="sudo -n"
else
    echo "budgetwatch: cannot install packages (not root, no password-less sudo)." >&2
    echo "Run as root:  apt-get install -y$missing" >&2
    exit 1
fi
export DEBIAN_FRONTEND=noninteractive
# A fresh machine has no package lists; update once, then install.
$SUDO apt-get update -qq
$SUDO apt-get install -y -qq --no-install-recommends $missing
