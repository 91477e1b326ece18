#!/bin/sh
# Install what spampot needs to build, test and run its demo on Debian 12:
# Debian packages, then the npm data packages into ./node_modules.
# Run as root (or through sudo) from anywhere inside the checkout.
set -eu
top=$(cd "$(dirname "$0")/.." && pwd)

# Build: compilers, Meson, the libraries.  Tests: real clients (curl,
# swaks, with Net::SSLeay for its STARTTLS, proxychains4, Postfix's
# smtp-source, nmap), p0f's database, scapy for crafted SYNs, hping3
# for SYN floods, sshd and rsync for the collector, Chromium for the
# pages.  Benchmarks: microsocks, tinyproxy and hyperfine.
packages="
	build-essential meson ninja-build pkg-config clang libclang-rt-14-dev
	libevent-dev libssl-dev libzstd-dev libsqlite3-dev libjansson-dev
	libcmocka-dev libseccomp-dev libpcap-dev libmicrohttpd-dev
	sqlite3 zstd python3 curl swaks libnet-ssleay-perl proxychains4
	postfix nmap jq
	nodejs npm iproute2 procps psmisc p0f python3-scapy strace
	openssh-server openssh-client rsync chromium hping3 microsocks
	tinyproxy hyperfine
"

missing=""
for p in $packages; do
	dpkg-query -W -f='${Status}' "$p" 2>/dev/null |
	    grep -q "install ok installed" || missing="$missing $p"
done
# npm may come with a Node.js that is not Debian's; keep that one.
if command -v npm >/dev/null 2>&1; then
	missing=$(echo "$missing" | tr ' ' '\n' | grep -vx -e nodejs -e npm |
	    tr '\n' ' ')
fi
if [ -n "$(echo "$missing" | tr -d ' ')" ]; then
	if [ "$(id -u)" -ne 0 ]; then
		echo "install-deps: missing packages:$missing" >&2
		echo "install-deps: run this script as root to install them" >&2
		exit 1
	fi
	# Postfix is installed for its smtp-source and smtp-sink test tools
	# only: "No configuration" keeps its mail service off.
	echo "postfix postfix/main_mailer_type select No configuration" |
	    debconf-set-selections
	export DEBIAN_FRONTEND=noninteractive
	apt-get update -q
	# openssh-server is for the collector's tests, which start their own
	# sshd on a loopback port: keep the package from starting one on 22.
	policy=/usr/sbin/policy-rc.d
	if [ ! -e "$policy" ]; then
		printf '#!/bin/sh\nexit 101\n' >"$policy"
		chmod +x "$policy"
		trap 'rm -f "$policy"' EXIT
	fi
	# shellcheck disable=SC2086
	apt-get install -y -q --no-install-recommends $missing
fi

# The sensor drops root to this user after binding its ports.
if [ "$(id -u)" -eq 0 ] && ! id spampot >/dev/null 2>&1; then
	useradd --system --no-create-home --home-dir /nonexistent \
	    --shell /usr/sbin/nologin spampot
fi

cd "$top"
# Quick when everything in package.json is already in node_modules.
npm install --no-save --silent
