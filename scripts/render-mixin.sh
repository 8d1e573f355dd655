#!/usr/bin/env bash
# SPDX-License-Identifier: AGPL-3.0-or-later
# Renders the monitoring mixin (mixin/, plain jsonnet) into the files the repository ships for users without
# jsonnet: dashboards/*.json, alerts/boot-alerts.yml and deploy/kubernetes/prometheusrule.yaml.
#
#   scripts/render-mixin.sh            rewrites them (make mixin)
#   scripts/render-mixin.sh --check    writes nothing; fails, naming the files, when one differs from the render
set -euo pipefail
cd "$(dirname "$0")/.."
source scripts/lib/deps.sh
command -v jsonnet >/dev/null 2>&1 || install_packages jsonnet

check=false
case "${1:-}" in
    "") ;;
    --check) check=true ;;
    *) echo "render-mixin: unknown argument '$1' (only --check)" >&2; exit 2 ;;
esac

OUT=$(mktemp -d "${TMPDIR:-/tmp}/render-mixin.XXXXXX")
trap 'rm -rf "$OUT"' EXIT
mkdir -p "$OUT/alerts" "$OUT/dashboards" "$OUT/deploy/kubernetes"
jsonnet -S -m "$OUT" mixin/render.jsonnet >"$OUT/files"

status=0
while read -r file; do
    path=${file#"$OUT"/}
    if $check; then
        if ! cmp -s "$file" "$path"; then
            echo "render-mixin: $path differs from what mixin/ renders (run make mixin):" >&2
            diff -u "$path" "$file" | head -20 >&2 || true
            status=1
        fi
    elif ! cmp -s "$file" "$path"; then
        cp "$file" "$path"
        echo "wrote $path"
    fi
done <"$OUT/files"
# A dashboard that the mixin no longer renders would still be provisioned into Grafana.
for path in dashboards/*.json; do
    if ! grep -qxF "$OUT/$path" "$OUT/files"; then
        echo "render-mixin: $path is not rendered by mixin/ (remove it, or add it to grafanaDashboards)" >&2
        status=1
    fi
done
exit $status
