// SPDX-License-Identifier: AGPL-3.0-or-later

/// The page at `/`: names the service and links its endpoints, as Prometheus exporters do.
enum LandingPage {
    static func html(version: String, metricsPath: String) -> [UInt8] {
        let metrics = escape(metricsPath)
        return Array("""
        <!DOCTYPE html>
        <html lang="en">
        <head><meta charset="utf-8"><title>boot-exporter</title></head>
        <body>
        <h1>boot-exporter</h1>
        <p>Watches a database boot (init, migrate, recover, warmup, ready) against its time budgets.
        Version \(escape(version)).</p>
        <ul>
        <li><a href="\(metrics)">\(metrics)</a>: metrics (Prometheus text format or OpenMetrics)</li>
        <li><a href="/health">/health</a>: the boot's state as JSON</li>
        <li><a href="/livez?verbose">/livez</a>: liveness probe</li>
        <li><a href="/readyz?verbose">/readyz</a>: readiness probe</li>
        <li><a href="/startupz?verbose">/startupz</a>: startup probe</li>
        </ul>
        </body>
        </html>

        """.utf8)
    }

    static func escape(_ text: String) -> String {
        var result = ""
        for scalar in text.unicodeScalars {
            switch scalar {
            case "&": result += "&amp;"
            case "<": result += "&lt;"
            case ">": result += "&gt;"
            case "\"": result += "&quot;"
            case "'": result += "&#39;"
            default: result.unicodeScalars.append(scalar)
            }
        }
        return result
    }
}
