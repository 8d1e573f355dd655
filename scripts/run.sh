#!/usr/bin/env bash
# SPDX-License-Identifier: AGPL-3.0-or-later
# Installs what the build needs where it is missing, builds the boot-exporter binary that ships
# (scripts/build-release.sh) and runs it with the arguments given (none: boot ./boot-data, generating
# it first if it is empty).
set -euo pipefail
cd "$(dirname "$0")/.."
source scripts/lib/deps.sh
ensure_build_deps
binary=$(scripts/build-release.sh)
exec "$binary" "$@"
