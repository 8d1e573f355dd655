#!/usr/bin/env bash
# SPDX-License-Identifier: AGPL-3.0-or-later
# Installs what the build needs where it is missing, builds boot-exporter in release mode and runs
# it with the arguments given (none: boot ./boot-data, generating it first if it is empty).
set -euo pipefail
cd "$(dirname "$0")/.."
source scripts/lib/deps.sh
ensure_build_deps
swift build -c release --product boot-exporter >&2
exec .build/release/boot-exporter "$@"
