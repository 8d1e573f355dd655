// SPDX-License-Identifier: AGPL-3.0-or-later
// grafanaDashboards: file name to dashboard.
(import 'overview.libsonnet') +
(import 'fleet.libsonnet')
