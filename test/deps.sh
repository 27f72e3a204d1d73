#!/usr/bin/env bash
# Installs the Debian 12 packages pg_vigil needs to build, test and demo,
# when they are missing (clang-14 and its runtime for the sanitizer and
# fuzzing builds of test/fuzz/fuzz.mk; debhelper, dpkg-dev,
# postgresql-server-dev-all and git for make deb).  Needs root to install; says what is missing if not.
set -euo pipefail

packages=(
	postgresql-15
	postgresql-server-dev-15
	postgresql-15-cron
	libcurl4-openssl-dev
	libssl-dev
	libxgboost-dev
	libipc-run-perl
	python3
	python3-botocore
	python3-psycopg
	curl
	openssl
	make
	gcc
	clang-14
	libclang-rt-14-dev
	debhelper
	dpkg-dev
	postgresql-server-dev-all
	git
)

missing=()
for p in "${packages[@]}"; do
	if ! dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'install ok installed'; then
		missing+=("$p")
	fi
done
[ ${#missing[@]} -eq 0 ] && exit 0

if [ "$(id -u)" -ne 0 ]; then
	echo "pg_vigil needs these Debian packages: ${missing[*]}" >&2
	echo "Install them as root (apt-get install ${missing[*]}) or run this as root." >&2
	exit 1
fi
echo "installing Debian packages: ${missing[*]}"
apt-get update -qq
DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
