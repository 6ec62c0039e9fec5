#!/bin/sh
# deps.sh: install every Debian package hotline needs to build, test and
# benchmark, and nothing when they are all present already. Run as root on
# Debian 12; `make demo` and `make test` call it first.
set -eu

PACKAGES="
build-essential pkg-config meson ninja-build clang llvm libclang-rt-14-dev
libsodium-dev libuv1-dev libsqlite3-dev libjansson-dev libmicrohttpd-dev
sqlite3 jq iproute2 procps psmisc util-linux python3-nacl curl
chromium fonts-wqy-microhei nodejs
libseccomp-dev man-db groff-base systemd
clang-format clang-tidy cppcheck
"

missing=""
for p in $PACKAGES; do
	if ! dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'install ok installed'; then
		missing="$missing $p"
	fi
done
[ -z "$missing" ] && exit 0

if [ "$(id -u)" -ne 0 ]; then
	echo "deps: missing Debian packages:$missing" >&2
	echo "deps: run 'make demo' or 'make test' as root, or install them with apt-get" >&2
	exit 1
fi
echo "deps: installing$missing"
export DEBIAN_FRONTEND=noninteractive
apt-get update -qq
# shellcheck disable=SC2086
apt-get install -y -qq --no-install-recommends $missing >/dev/null
