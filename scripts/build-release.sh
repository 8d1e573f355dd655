#!/usr/bin/env bash
# SPDX-License-Identifier: AGPL-3.0-or-later
# Builds the boot-exporter binary that ships (docker/Dockerfile) and that scripts/bench.sh measures,
# and prints its path. Arguments are passed to `swift build` (e.g. --scratch-path DIR).
#
# What differs from a plain `swift build -c release`, all for a small footprint at run time:
# - the Swift libraries are linked statically (--static-swift-stdlib): no shared Swift runtime to
#   load and relocate, only the code the program uses;
# - libstdc++ (which the Swift runtime needs) is linked statically too, through a one-line linker
#   script named libstdc++.so that points the linker at libstdc++.a;
# - lld packs the relative relocations (DT_RELR, glibc >= 2.36): the loader applies a few
#   kilobytes of them instead of reading about 2 MB of tables at every start;
# - the binary exports no symbols (--no-export-dynamic; SwiftPM exports them all): nothing loads
#   into it or looks symbols up in it, and its 6,000 exported names (dynsym, dynstr, hash: 550 KB,
#   mostly paged in by the loader's lookups) left 300 KB more resident at idle.
set -euo pipefail
cd "$(dirname "$0")/.."
# The toolchain's clang finds the GCC installation's archive (Swift images have no gcc).
archive=$(clang -print-file-name=libstdc++.a 2>/dev/null || gcc -print-file-name=libstdc++.a)
[ -f "$archive" ] || { echo "build-release: libstdc++.a not found (install libstdc++-12-dev or the like)" >&2; exit 1; }
shim=$PWD/.build-release-link   # a fixed path: the link command stays the same from build to build
mkdir -p "$shim"
echo "INPUT($archive)" > "$shim/libstdc++.so"
flags=(-c release --static-swift-stdlib --product boot-exporter
       -Xswiftc -use-ld=lld -Xlinker -z -Xlinker pack-relative-relocs -Xlinker --no-export-dynamic -Xlinker -L"$shim" "$@")
swift build "${flags[@]}" >&2
echo "$(swift build "${flags[@]}" --show-bin-path)/boot-exporter"
