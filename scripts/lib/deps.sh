# SPDX-License-Identifier: AGPL-3.0-or-later
# Installs the Debian packages the project needs, only where they are missing.

# apt-get install, as root or through sudo, quietly.
install_packages() {
    local sudo=""
    [ "$(id -u)" -eq 0 ] || sudo="sudo"
    echo "installing: $*" >&2
    $sudo apt-get update -qq >&2
    DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq --no-install-recommends "$@" >&2
}

# What building boot-exporter needs: libmicrohttpd, GnuTLS, zlib, libcrypt and libyaml headers, found through pkg-config,
# and libstdc++'s archive.
ensure_build_deps() {
    local missing=()
    command -v pkg-config >/dev/null 2>&1 || missing+=(pkg-config)
    pkg-config --exists libmicrohttpd 2>/dev/null || missing+=(libmicrohttpd-dev)
    pkg-config --exists zlib 2>/dev/null || missing+=(zlib1g-dev)
    pkg-config --exists gnutls 2>/dev/null || missing+=(libgnutls28-dev)
    pkg-config --exists libcrypt 2>/dev/null || missing+=(libcrypt-dev)
    pkg-config --exists yaml-0.1 2>/dev/null || missing+=(libyaml-dev)
    # scripts/build-release.sh (the binary that ships, which run.sh runs) links libstdc++ statically.
    [ -f "$(clang -print-file-name=libstdc++.a 2>/dev/null)" ] || missing+=(libstdc++-12-dev)
    if [ ${#missing[@]} -gt 0 ]; then install_packages "${missing[@]}"; fi
}

# What the tests need besides: promtool and Prometheus (prometheus), curl, openssl, wrk, node_exporter
# (prometheus-node-exporter: the exporter toolkit that scripts/web-config/compare.py compares against),
# chromium (headless: scripts/boot-page/browser_test.py loads the boot page in it), and jsonnet (renders mixin/,
# scripts/render-mixin.sh).
ensure_test_deps() {
    ensure_build_deps
    local missing=()
    command -v promtool >/dev/null 2>&1 || missing+=(prometheus)
    command -v curl >/dev/null 2>&1 || missing+=(curl)
    command -v openssl >/dev/null 2>&1 || missing+=(openssl)
    command -v wrk >/dev/null 2>&1 || missing+=(wrk)
    command -v prometheus-node-exporter >/dev/null 2>&1 || missing+=(prometheus-node-exporter)
    command -v chromium >/dev/null 2>&1 || missing+=(chromium)
    command -v jsonnet >/dev/null 2>&1 || missing+=(jsonnet)
    if [ ${#missing[@]} -gt 0 ]; then install_packages "${missing[@]}"; fi
}
