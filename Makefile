# SPDX-License-Identifier: AGPL-3.0-or-later

.PHONY: bench mixin

# Builds everything in release mode, measures boot-exporter side by side with its peers and writes
# BENCHMARKS.md (see scripts/bench.sh). 6-7 minutes on 2 cores once the builds are cached.
bench:
	./scripts/bench.sh

# Renders mixin/ (jsonnet) into dashboards/*.json, alerts/boot-alerts.yml and deploy/kubernetes/prometheusrule.yaml.
mixin:
	./scripts/render-mixin.sh
