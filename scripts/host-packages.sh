#!/usr/bin/env bash
# Installs the Debian packages named as arguments that this machine lacks
# (apt, as root). `make up` calls it for what the node image carries
# (containerd, runc, the CNI plugins, nft) and `make test` for what the
# tests use.
#
#   scripts/host-packages.sh [--or-warn] PACKAGE...
#
# Where it cannot install (not root, no apt), it fails, or with --or-warn
# only says what is missing (the tests that need it then skip). apt is
# told never to remove a package, so a conflicting one (Docker's own
# containerd.io, say) stops it instead of being replaced.
set -euo pipefail

warn_only=false
if [[ ${1-} == --or-warn ]]; then
	warn_only=true
	shift
fi
missing=()
for pkg in "$@"; do
	[[ "$(dpkg-query -W -f='${Status}' "$pkg" 2>/dev/null)" == "install ok installed" ]] || missing+=("$pkg")
done
((${#missing[@]})) || exit 0
if ((EUID != 0)) || ! command -v apt-get >/dev/null; then
	echo "missing Debian packages: ${missing[*]} (as root: apt-get install ${missing[*]})" >&2
	$warn_only && exit 0
	exit 1
fi
echo "installing ${missing[*]}" >&2
apt_install() { DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends --no-remove "${missing[@]}"; }
apt_install || { apt-get update && apt_install; }
