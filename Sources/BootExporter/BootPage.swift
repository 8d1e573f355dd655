// SPDX-License-Identifier: AGPL-3.0-or-later

import BootFSM
import CMicroHTTPD

/// The page at `/`: the boot as a picture, rendered on the server as it is at the request (so it
/// reads without JavaScript), then kept current by its script from `/boot.json`. One response, its
/// style and script inline, nothing else loaded; ``contentSecurityPolicy`` is all it needs.
///
/// The element ids are what the script (``BootPageAssets/script``) updates.
enum BootPage {
    static func html(_ state: BootPageState, version: String, metricsPath: String) -> [UInt8] {
        let h = state.health
        let failed = h.phase == .failed
        let page: HTML = """
        <!DOCTYPE html>
        <html lang="en">
        <head>
        <meta charset="utf-8">
        <meta name="viewport" content="width=device-width, initial-scale=1">
        <title>boot-exporter: \(h.phase.name)</title>
        <style>\(HTML(trusted: BootPageAssets.style))</style>
        </head>
        <body>
        <header><h1>boot-exporter</h1><span class="muted">Watches a database boot against its time budgets. Version \(version).</span></header>
        <main>
        <section id="now" class="\(phaseClass(h.phase))">
        <h2>Current phase</h2>
        <div id="phase">\(h.phase.name)</div>
        <p id="message">\(h.progressMessage)</p>
        <progress id="bar" max="1" value="\(h.progressFraction)"></progress>
        <div class="facts">
        <span>Progress <b id="percent">\(UInt64(h.progressPercent))%</b></span>
        <span>ETA <b id="eta">\(BootPageFormat.duration(h.phaseEtaMs))</b></span>
        <span>Items <b id="items">\(BootPageFormat.ofTotal(state.progress.itemsProcessed, state.progress.itemsTotal, String.init))</b></span>
        <span>Bytes <b id="bytes">\(BootPageFormat.ofTotal(state.progress.bytesProcessed, state.progress.bytesTotal, BootPageFormat.bytes))</b></span>
        <span>Boot time <b id="elapsed">\(BootPageFormat.duration(h.bootDurationMs ?? h.totalElapsedMs))</b></span>
        </div>
        <p id="failure" class="failure"\(hidden(!failed))><span id="reason">\(h.failureReason ?? "")</span> <span class="muted">(failed phase: <span id="failed-phase">\(h.failedPhase?.name ?? "unknown")</span>)</span></p>
        </section>
        <section>
        <h2>Budgets</h2>
        <table><thead><tr><th>budget</th><th>used</th><th>time</th><th>status</th></tr></thead>
        <tbody id="budgets">\(budgetRows(state.budgetUses))</tbody></table>
        </section>
        <div class="grid">
        <section>
        <h2>This boot</h2>
        <svg id="timeline" viewBox="0 0 1000 30" preserveAspectRatio="none" role="img" aria-label="the phases of this boot over time">\(timelineBars(state.timeline))</svg>
        <table><thead><tr><th>phase</th><th>start</th><th>duration</th></tr></thead>
        <tbody id="phases">\(timelineRows(state.timeline))</tbody></table>
        </section>
        <section>
        <h2>Recovery</h2>
        <div class="facts">
        <span>Mode <b id="mode">\(h.recoveryMode.name)</b></span>
        <span>WAL records replayed <b id="wal-records">\(h.walRecordsReplayed)</b></span>
        <span>WAL bytes <b id="wal-bytes">\(BootPageFormat.bytes(h.walBytesProcessed))</b></span>
        <span>Records skipped <b id="wal-skipped">\(h.walRecordsSkipped)</b></span>
        <span>Pages recovered <b id="pages">\(h.pagesRecovered)</b></span>
        <span>Transactions rolled back <b id="rollbacks">\(h.txnsRolledBack)</b></span>
        </div>
        </section>
        </div>
        <section>
        <h2>Boots of this data directory</h2>
        <p id="no-journal" class="muted"\(hidden(state.boots != nil))>No boot journal: <code>boot-exporter run</code> keeps one in its data directory; <code>follow</code> does not.</p>
        <table id="boots-table"\(hidden(state.boots == nil))><thead><tr><th>boot</th><th>outcome</th><th>duration</th><th>failed phase</th><th>reason</th></tr></thead>
        <tbody id="boots">\(bootRows(state.boots ?? []))</tbody></table>
        </section>
        </main>
        <footer>
        <p id="live">The state when the page was loaded (the script refreshes it).</p>
        <p><a href="\(metricsPath)">\(metricsPath)</a>: metrics · <a href="/health">/health</a>: the boot as JSON · <a href="/boot.json">/boot.json</a>: this page's data · probes: <a href="/livez?verbose">/livez</a> <a href="/readyz?verbose">/readyz</a> <a href="/startupz?verbose">/startupz</a></p>
        </footer>
        <script>\(HTML(trusted: BootPageAssets.script))</script>
        </body>
        </html>

        """
        return Array(page.markup.utf8)
    }

    /// The policy the page needs, and no more: its own style and script by hash, requests to its own
    /// origin (`/boot.json`), nothing else.
    static let contentSecurityPolicy =
        "default-src 'none'; script-src '\(sha256Source(BootPageAssets.script))'; style-src '\(sha256Source(BootPageAssets.style))'; connect-src 'self'; base-uri 'none'; form-action 'none'"

    /// The CSP source of an inline block: `sha256-` and the base64 of its UTF-8 bytes' SHA-256.
    static func sha256Source(_ block: String) -> String {
        var digest = [UInt8](repeating: 0, count: 32)
        let bytes = Array(block.utf8)
        let status = bytes.withUnsafeBytes { text in
            digest.withUnsafeMutableBytes { gnutls_hash_fast(GNUTLS_DIG_SHA256, text.baseAddress, text.count, $0.baseAddress) }
        }
        precondition(status == 0, "GnuTLS cannot compute SHA-256")
        return "sha256-" + Base64.encode(digest)
    }

    private static func phaseClass(_ phase: BootPhase) -> String { "p-" + phase.name }

    private static func hidden(_ isHidden: Bool) -> HTML { isHidden ? " hidden" : "" }

    private static let statusText: [BootPageState.BudgetUse.Status: String] = [
        .pending: "not yet", .running: "in progress", .done: "done", .risk: "at risk", .over: "exceeded", .failed: "failed",
    ]

    private static func budgetRows(_ uses: [BootPageState.BudgetUse]) -> HTML {
        HTML(joining: uses.map { use in
            let name: HTML = if let phase = use.phase { phaseCell("th", phase) } else { "<th>total</th>" }
            return """
            <tr class="\(use.status.rawValue)">\(name)<td class="bar"><progress max="\(max(use.budgetMs, 1))" value="\(min(use.usedMs, max(use.budgetMs, 1)))"></progress></td>\
            <td>\(BootPageFormat.duration(use.usedMs)) of \(BootPageFormat.duration(use.budgetMs))</td><td class="status">\(statusText[use.status] ?? "")</td></tr>
            """
        })
    }

    private static func timelineBars(_ entries: [BootPageState.TimelineEntry]) -> HTML {
        let span = Double(max(1, entries.map { $0.startMs + $0.durationMs }.max() ?? 1))
        return HTML(joining: entries.map { entry in
            let x = (Double(entry.startMs) / span * 10_000).rounded() / 10
            let width = (max(Double(entry.durationMs) / span * 1000, 2) * 10).rounded() / 10
            return """
            <rect class="\(phaseClass(entry.phase))" x="\(x)" width="\(width)" height="30"><title>\(entry.phase.name): \(BootPageFormat.duration(entry.durationMs))</title></rect>
            """
        })
    }

    private static func timelineRows(_ entries: [BootPageState.TimelineEntry]) -> HTML {
        HTML(joining: entries.map { entry in
            """
            <tr>\(phaseCell("td", entry.phase))<td>+\(BootPageFormat.duration(entry.startMs))</td><td>\(BootPageFormat.duration(entry.durationMs))\(entry.running ? " so far" : "")</td></tr>
            """
        })
    }

    private static func bootRows(_ boots: [BootAttempt]) -> HTML {
        HTML(joining: boots.map { boot in
            """
            <tr><td>#\(boot.attempt)</td><td class="o-\(boot.outcome.name)">\(boot.outcome.name)</td><td>\(BootPageFormat.duration(boot.duration?.milliseconds))</td>\
            <td>\(boot.failedPhase ?? "")</td><td class="reason">\(boot.reason ?? "")</td></tr>
            """
        })
    }

    private static func phaseCell(_ tag: StaticString, _ phase: BootPhase) -> HTML {
        let tag = HTML(trusted: "\(tag)")
        return "<\(tag) class=\"\(phaseClass(phase))\"><span class=\"swatch\"></span>\(phase.name)</\(tag)>"
    }
}

/// How the page writes durations and sizes; the script writes them the same way.
enum BootPageFormat {
    /// `12.3 s` under a minute, `4 min 05 s` under an hour, `1 h 02 min` beyond (`30 min`, `1 h` when
    /// whole); `—` for none.
    static func duration(_ ms: UInt64?) -> String {
        guard let ms else { return "\u{2014}" }
        if ms < 60_000 {
            let tenths = (ms + 50) / 100
            return "\(tenths / 10).\(tenths % 10) s"
        }
        let seconds = ms / 1000
        if seconds < 3600 { return seconds % 60 == 0 ? "\(seconds / 60) min" : "\(seconds / 60) min \(twoDigits(seconds % 60)) s" }
        return seconds / 60 % 60 == 0 ? "\(seconds / 3600) h" : "\(seconds / 3600) h \(twoDigits(seconds / 60 % 60)) min"
    }

    /// `512 B`, then one decimal of the largest binary unit that fits: `4.0 KiB`, `1.5 GiB`.
    static func bytes(_ count: UInt64) -> String {
        let units = ["B", "KiB", "MiB", "GiB", "TiB"]
        func unit(_ k: Int) -> Double { Double(UInt64(1) << (10 * k)) }
        var k = 0
        while k < units.count - 1 && Double(count) >= unit(k + 1) { k += 1 }
        if k == 0 { return "\(count) B" }
        let tenths = UInt64((Double(count) / unit(k) * 10).rounded())
        return "\(tenths / 10).\(tenths % 10) \(units[k])"
    }

    /// `40 of 100` when the total is known, `40` when not, `—` when nothing was counted.
    static func ofTotal(_ done: UInt64, _ total: UInt64, _ format: (UInt64) -> String) -> String {
        if total > 0 { return "\(format(done)) of \(format(total))" }
        return done > 0 ? format(done) : "\u{2014}"
    }

    private static func twoDigits(_ value: UInt64) -> String { value < 10 ? "0\(value)" : "\(value)" }
}
