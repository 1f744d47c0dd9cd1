#!/usr/bin/env bash
# Installs the Debian packages the build, the tests and the benchmarks need.
# Idempotent and quiet when nothing is missing; never downloads third-party source.
set -euo pipefail

packages=(
  build-essential cmake ninja-build ccache pkg-config git
  g++ clang-14 libfuzzer-14-dev libclang-rt-14-dev
  libboost1.81-dev libboost-json1.81-dev libssl-dev openssl
  libgtest-dev libgmock-dev librapidcheck-dev
  pybind11-dev python3-pybind11 python3-pytest python3-dev
  python3-setuptools python3-wheel python3-pip python3-venv
  libc-ares-dev libtomlplusplus-dev zlib1g-dev libsqlite3-dev
  debhelper lintian
  swaks postfix libnet-ssleay-perl libio-socket-ssl-perl libauthen-sasl-perl
  dnsmasq-base
  isync mutt fetchmail bsdutils
  chromium
)

missing=()
for p in "${packages[@]}"; do
  if ! dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed"; then
    missing+=("$p")
  fi
done
# The webmail embeds DOMPurify and its browser tests drive chromium with playwright-core:
# both come from package.json / package-lock.json (exact versions), installed with npm ci.
SUDO=""
[ "$(id -u)" -eq 0 ] || SUDO="sudo"
npm_deps() {
  local root
  root="$(cd "$(dirname "$0")/.." && pwd)"
  if ! command -v npm >/dev/null 2>&1; then
    echo "install-deps: npm is missing (Node.js with npm is needed for the webmail's packages)" >&2
    $SUDO apt-get install -y -qq --no-install-recommends nodejs npm >/dev/null
  fi
  if [ ! -f "$root/node_modules/dompurify/dist/purify.min.js" ] || [ ! -d "$root/node_modules/playwright-core" ] ||
     [ "$root/package-lock.json" -nt "$root/node_modules/.package-lock.json" ]; then
    echo "install-deps: npm ci (webmail: dompurify, playwright-core)" >&2
    (cd "$root" && npm ci --no-audit --no-fund --loglevel=error >/dev/null)
  fi
}
if [ ${#missing[@]} -eq 0 ]; then npm_deps; exit 0; fi

echo "install-deps: installing ${missing[*]}" >&2
SUDO=""
[ "$(id -u)" -eq 0 ] || SUDO="sudo"
export DEBIAN_FRONTEND=noninteractive
# Postfix asks debconf questions on install; answer them so the install is silent.
echo "postfix postfix/main_mailer_type select No configuration" | $SUDO debconf-set-selections
echo "postfix postfix/mailname string localhost" | $SUDO debconf-set-selections
$SUDO apt-get update -qq >/dev/null
$SUDO apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
# dnsmasq-base is the dnsmasq binary alone (no init script or unit, unlike the package
# dnsmasq): the DNS tests start it on a loopback port, and nothing listens on port 53.
# Postfix is a benchmark peer only; we start our own instances on loopback.
if command -v systemctl >/dev/null 2>&1; then $SUDO systemctl disable --now postfix >/dev/null 2>&1 || true; fi
$SUDO service postfix stop >/dev/null 2>&1 || true
npm_deps
