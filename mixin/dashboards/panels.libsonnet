// SPDX-License-Identifier: AGPL-3.0-or-later
// The few Grafana building blocks both dashboards use (plain jsonnet, no grafonnet): a panel on the
// ${datasource} variable, its PromQL targets, and the option sets most panels of a type share. A panel that
// differs adds its own fields with `+ { ... }`.
{
  datasource: { type: 'prometheus', uid: '${datasource}' },

  grid(x, y, w, h): { x: x, y: y, w: w, h: h },

  // A range query drawn over time, named by legendFormat.
  target(refId, expr, legendFormat): {
    datasource: $.datasource,
    refId: refId,
    editorMode: 'code',
    expr: std.rstripChars(expr, '\n'),  // a ||| block's last newline
    legendFormat: legendFormat,
    range: true,
    instant: false,
  },

  // An instant query whose labels become a table's columns.
  tableTarget(refId, expr): $.target(refId, expr, '__auto') { format: 'table', instant: true, range: false },

  panel(id, type, title, description, gridPos, targets): {
    id: id,
    type: type,
    title: title,
    description: description,
    datasource: $.datasource,
    gridPos: gridPos,
    targets: targets,
  },

  row(id, title, y): { id: id, type: 'row', title: title, collapsed: false, gridPos: $.grid(0, y, 24, 1), panels: [] },

  thresholds(color='green'): { mode: 'absolute', steps: [{ color: color, value: null }] },

  // boot_phase_code's values, named and coloured as the exporter's phases (docs/metrics.md).
  phaseMappings: [{
    type: 'value',
    options: {
      [std.toString(i)]: { text: $.phases[i].name, color: $.phases[i].color, index: i }
      for i in std.range(0, std.length($.phases) - 1)
    },
  }],
  phases: [
    { name: 'uninitialized', color: '#8f8f8f' },
    { name: 'init', color: 'light-blue' },
    { name: 'migrate', color: 'blue' },
    { name: 'recover', color: 'purple' },
    { name: 'warmup', color: 'yellow' },
    { name: 'ready', color: 'green' },
    { name: 'readonly_recovery', color: 'dark-purple' },
    { name: 'force_recovery', color: 'orange' },
    { name: 'shutting_down', color: '#5c5c5c' },
    { name: 'failed', color: 'red' },
  ],

  reduceLast: { calcs: ['lastNotNull'], fields: '', values: false },

  statOptions: {
    reduceOptions: $.reduceLast,
    orientation: 'auto',
    textMode: 'auto',
    colorMode: 'value',
    graphMode: 'area',
    justifyMode: 'auto',
    wideLayout: true,
    showPercentChange: false,
  },

  gaugeOptions: {
    reduceOptions: $.reduceLast,
    orientation: 'auto',
    showThresholdLabels: false,
    showThresholdMarkers: true,
    sizing: 'auto',
    minVizHeight: 75,
    minVizWidth: 75,
  },

  barGaugeOptions: {
    reduceOptions: $.reduceLast,
    orientation: 'horizontal',
    displayMode: 'gradient',
    valueMode: 'color',
    namePlacement: 'auto',
    showUnfilled: true,
    sizing: 'auto',
    minVizWidth: 8,
    minVizHeight: 16,
    maxVizHeight: 300,
  },

  legendList: { displayMode: 'list', placement: 'bottom', showLegend: true },

  timeSeriesOptions: { legend: $.legendList, tooltip: { mode: 'multi', sort: 'desc' } },

  timeSeriesCustom: {
    drawStyle: 'line',
    lineWidth: 1,
    fillOpacity: 0,
    showPoints: 'never',
    spanNulls: false,
    axisBorderShow: false,
    lineInterpolation: 'linear',
    pointSize: 4,
    stacking: { mode: 'none', group: 'A' },
  },

  stateTimelineOptions: {
    mergeValues: true,
    showValue: 'auto',
    alignValue: 'left',
    rowHeight: 0.9,
    legend: $.legendList,
    tooltip: { mode: 'single', sort: 'none' },
  },

  stateTimelineCustom: { lineWidth: 0, fillOpacity: 80, hideFrom: { legend: false, tooltip: false, viz: false } },

  tableOptions: {
    showHeader: true,
    cellHeight: 'sm',
    footer: { show: false, reducer: ['sum'], countRows: false, fields: '' },
  },

  tableCustom: { align: 'auto', cellOptions: { type: 'auto' }, inspect: false },

  // A table column override: each row's instance links to its overview, keeping the data source and time range.
  instanceLinkOverride(config): {
    matcher: { id: 'byName', options: 'instance' },
    properties: [{
      id: 'links',
      value: [{
        title: 'Boot overview of ${__data.fields.instance}',
        url: '/d/%soverview/boot-overview?${datasource:queryparam}&var-job=${__data.fields.job}'
             % config.dashboardUIDPrefix + '&var-instance=${__data.fields.instance}&${__url_time_range}',
      }],
    }],
  },

  // The dashboard around the panels: the datasource, job and instance variables (instanceMulti: the fleet
  // selects many), the tag links, the time range.
  dashboard(config, uid, title, description, refresh, panels, instanceMulti=false): {
    uid: config.dashboardUIDPrefix + uid,
    title: title,
    description: description,
    tags: config.dashboardTags,
    editable: true,
    graphTooltip: 1,
    schemaVersion: 39,
    version: 1,
    timezone: 'browser',
    fiscalYearStartMonth: 0,
    liveNow: false,
    refresh: refresh,
    time: { from: 'now-30m', to: 'now' },
    timepicker: {},
    weekStart: '',
    annotations: { list: [{
      builtIn: 1,
      datasource: { type: 'grafana', uid: '-- Grafana --' },
      enable: true,
      hide: true,
      iconColor: 'rgba(0, 211, 255, 1)',
      name: 'Annotations & Alerts',
      type: 'dashboard',
    }] },
    links: [{
      title: 'BootFSM dashboards',
      type: 'dashboards',
      tags: [config.dashboardTags[0]],
      asDropdown: false,
      includeVars: false,
      keepTime: true,
      targetBlank: false,
      icon: 'external link',
      tooltip: '',
      url: '',
    }],
    local variable(name, label, definition) = {
      type: 'query',
      name: name,
      label: label,
      datasource: $.datasource,
      definition: definition,
      query: { query: definition, refId: 'PrometheusVariableQueryEditor-VariableQuery', qryType: 1 },
      refresh: 2,
      sort: 1,
      regex: '',
      hide: 0,
      options: [],
      current: {},
      multi: instanceMulti,
      includeAll: instanceMulti,
    },
    local match = if instanceMulti then '=~' else '=',
    templating: { list: [
      {
        type: 'datasource',
        name: 'datasource',
        label: 'Data source',
        query: 'prometheus',
        refresh: 1,
        regex: '',
        hide: 0,
        options: [],
        current: {},
        multi: false,
        includeAll: false,
      },
      variable('job', 'Job', 'label_values(boot_phase_code{%s}, job)' % config.bootExporterSelector),
      variable('instance', 'Instance', 'label_values(boot_phase_code{%s, job%s"$job"}, instance)'
                                       % [config.bootExporterSelector, match])
      + (if instanceMulti then { allValue: '.*' } else {}),
    ] },
    panels: panels,
  },
}
