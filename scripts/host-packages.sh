#!/usr/bin/env bash
# Installs the Debian packages given as arguments that this machine lacks
# (apt, as root). `.ci/run` calls it for what the tests need and `make up`
# for what the node image carries (containerd, runc, the CNI plugins, nft).
set -euo pipefail

missing=()
for pkg in "$@"; do
	[[ "$(dpkg-query -W -f='${Status}' "$pkg" 2>/dev/null)" == "install ok installed" ]] || missing+=("$pkg")
done
((${#missing[@]})) || exit 0
if ((EUID != 0)) || ! command -v apt-get >/dev/null; then
	echo "missing Debian packages: ${missing[*]} (install them as root: apt-get install ${missing[*]})" >&2
	exit 1
fi
echo "installing ${missing[*]}" >&2
apt_install() { DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends "${missing[@]}"; }
apt_install || { apt-get update && apt_install; }
