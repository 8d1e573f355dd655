// SPDX-License-Identifier: AGPL-3.0-or-later

/// The boot page's inline style and script. The page's Content-Security-Policy allows exactly these
/// two blocks by their SHA-256 (``BootPage/contentSecurityPolicy``): any change to them changes the
/// policy, which docs/endpoints.md prints and a test compares.
enum BootPageAssets {
    /// Phase colours as the Grafana dashboard's value mappings (dashboards/boot-overview.json).
    static let style = """
    :root{color-scheme:light dark;--fg:#1d2330;--muted:#667085;--bg:#f4f5f7;--card:#fff;--line:#dde1e6;--ok:#37872d;--risk:#e07000;--over:#d8253a}
    @media (prefers-color-scheme:dark){:root{--fg:#e6e8eb;--muted:#9aa3ad;--bg:#111418;--card:#1a1e24;--line:#2f353d}}
    *{box-sizing:border-box}
    body{margin:0;font:15px/1.45 system-ui,sans-serif;background:var(--bg);color:var(--fg)}
    header,main,footer{max-width:62rem;margin:0 auto;padding:0 1rem}
    header{display:flex;flex-wrap:wrap;align-items:baseline;gap:.2rem 1rem;padding-top:1rem}
    h1{font-size:1.1rem;margin:0}
    h2{font-size:.8rem;margin:0 0 .6rem;text-transform:uppercase;letter-spacing:.06em;color:var(--muted)}
    section{background:var(--card);border:1px solid var(--line);border-radius:8px;padding:1rem;margin:1rem 0}
    .grid{display:grid;grid-template-columns:repeat(auto-fit,minmax(24rem,1fr));gap:0 1rem}
    .grid .facts{display:grid;grid-template-columns:1fr auto}.grid .facts span{display:contents}
    .muted,footer{color:var(--muted)}
    footer{padding-bottom:1rem}
    a{color:inherit}
    #now{border-left:10px solid var(--c)}
    #phase{font-size:3.4rem;font-weight:700;line-height:1.1;color:var(--c)}
    #message{min-height:1.4em;margin:.2rem 0 .6rem;overflow-wrap:anywhere}
    progress{width:100%;height:.8rem;border:0;border-radius:4px;background:var(--line);overflow:hidden;vertical-align:middle}
    progress::-webkit-progress-bar{background:var(--line)}
    progress::-webkit-progress-value{background:var(--c)}
    progress::-moz-progress-bar{background:var(--c)}
    #bar{height:1.2rem}
    .facts{display:flex;flex-wrap:wrap;gap:.2rem 1.6rem;margin:.6rem 0 0}
    .facts b,td{font-variant-numeric:tabular-nums}
    .failure{color:var(--over);font-weight:600;overflow-wrap:anywhere}
    table{width:100%;border-collapse:collapse}
    th,td{text-align:left;padding:.3rem .8rem .3rem 0;border-bottom:1px solid var(--line);vertical-align:middle;white-space:nowrap}
    th{font-weight:600}
    td.bar{width:40%}
    tr.pending{--c:var(--line)}tr.running,tr.done{--c:var(--ok)}tr.risk{--c:var(--risk)}tr.over,tr.failed{--c:var(--over)}
    tr.risk .status,tr.over .status,tr.failed .status{color:var(--c);font-weight:700}
    svg{width:100%;height:30px;display:block;background:var(--line);border-radius:4px;margin-bottom:.5rem}
    rect{fill:var(--c)}
    .swatch{display:inline-block;width:.8em;height:.8em;border-radius:2px;background:var(--c);margin-right:.4em}
    td.reason{white-space:normal;overflow-wrap:anywhere}
    .o-failed,.o-crashed{color:var(--over);font-weight:600}.o-ready{color:var(--ok)}
    .p-uninitialized{--c:#8f8f8f}.p-init{--c:#5794f2}.p-migrate{--c:#3274d9}.p-recover{--c:#a352cc}
    .p-warmup{--c:#e0b400}.p-ready{--c:#37872d}.p-readonly_recovery{--c:#7c2eb0}.p-force_recovery{--c:#ff780a}
    .p-shutting_down{--c:#5c5c5c}.p-failed{--c:#d8253a}
    """

    /// Refreshes the page from `/boot.json`: every second while a boot is in progress (or about to
    /// start), every ten seconds after. Text goes in through `textContent` only, never as markup;
    /// the formats are the server's (``BootPageFormat``).
    static let script = #"""
    "use strict";
    (() => {
      const phases = ["uninitialized", "init", "migrate", "recover", "warmup", "ready",
        "readonly_recovery", "force_recovery", "shutting_down", "failed"];
      const byId = (id) => document.getElementById(id);
      const phaseClass = (name) => "p-" + (phases.includes(name) ? name : "uninitialized");
      const statusText = { pending: "not yet", running: "in progress", done: "done", risk: "at risk", over: "exceeded", failed: "failed" };

      function duration(ms) {
        if (ms === null || ms === undefined) return "\u2014";
        if (ms < 60000) { const t = Math.round(ms / 100); return Math.floor(t / 10) + "." + (t % 10) + " s"; }
        const s = Math.floor(ms / 1000), pad = (n) => String(n).padStart(2, "0");
        if (s < 3600) return Math.floor(s / 60) + " min" + (s % 60 ? " " + pad(s % 60) + " s" : "");
        const m = Math.floor(s / 60) % 60;
        return Math.floor(s / 3600) + " h" + (m ? " " + pad(m) + " min" : "");
      }
      function bytes(n) {
        const units = ["B", "KiB", "MiB", "GiB", "TiB"];
        let k = 0;
        while (k < units.length - 1 && n >= Math.pow(1024, k + 1)) k++;
        if (k === 0) return n + " B";
        const t = Math.round(n / Math.pow(1024, k) * 10);
        return Math.floor(t / 10) + "." + (t % 10) + " " + units[k];
      }
      function ofTotal(done, total, format) {
        if (total > 0) return format(done) + " of " + format(total);
        return done > 0 ? format(done) : "\u2014";
      }
      function element(tag, className, text) {
        const node = document.createElement(tag);
        if (className) node.className = className;
        if (text !== undefined) node.textContent = text;
        return node;
      }
      function row(className, cells) {
        const tr = element("tr", className);
        for (const cell of cells) tr.append(cell instanceof Node ? cell : element("td", "", cell));
        return tr;
      }
      function phaseCell(tag, phase) {
        const cell = element(tag, phaseClass(phase));
        cell.append(element("span", "swatch"), phase);
        return cell;
      }

      function budgetRows(uses) {
        return uses.map((u) => {
          const bar = element("progress");
          bar.max = Math.max(u.budget_ms, 1);
          bar.value = Math.min(u.used_ms, bar.max);
          const cell = element("td", "bar");
          cell.append(bar);
          const name = u.phase === null ? element("th", "", "total") : phaseCell("th", u.phase);
          return row(u.status, [name, cell, duration(u.used_ms) + " of " + duration(u.budget_ms),
            element("td", "status", statusText[u.status])]);
        });
      }

      function timeline(list) {
        const entries = list.map((e) => ({ phase: e.phase, start: e.start_ms, duration: e.duration_ms, running: e.running }));
        const span = Math.max(1, ...entries.map((e) => e.start + e.duration));
        const svg = byId("timeline");
        const rects = entries.map((e) => {
          const rect = document.createElementNS("http://www.w3.org/2000/svg", "rect");
          rect.setAttribute("class", phaseClass(e.phase));
          rect.setAttribute("x", (e.start / span * 1000).toFixed(1));
          rect.setAttribute("width", Math.max(e.duration / span * 1000, 2).toFixed(1));
          rect.setAttribute("height", "30");
          const title = document.createElementNS("http://www.w3.org/2000/svg", "title");
          title.textContent = e.phase + ": " + duration(e.duration);
          rect.append(title);
          return rect;
        });
        svg.replaceChildren(...rects);
        byId("phases").replaceChildren(...entries.map((e) =>
          row("", [phaseCell("td", e.phase), "+" + duration(e.start), duration(e.duration) + (e.running ? " so far" : "")])));
      }

      function boots(list) {
        byId("no-journal").hidden = list !== null;
        byId("boots-table").hidden = list === null;
        byId("boots").replaceChildren(...(list || []).map((b) => row("", [
          "#" + b.attempt, element("td", "o-" + b.outcome, b.outcome), duration(b.duration_ms),
          b.failed_phase || "", element("td", "reason", b.reason || "")])));
      }

      function render(s) {
        const h = s.health, p = s.progress;
        document.title = "boot-exporter: " + h.phase;
        byId("now").className = phaseClass(h.phase);
        byId("phase").textContent = h.phase;
        byId("message").textContent = h.progress_message;
        byId("bar").value = h.progress_fraction;
        byId("percent").textContent = h.progress_percent + "%";
        byId("eta").textContent = duration(h.phase_eta_ms);
        byId("items").textContent = ofTotal(p.items_processed, p.items_total, String);
        byId("bytes").textContent = ofTotal(p.bytes_processed, p.bytes_total, bytes);
        byId("elapsed").textContent = duration(h.boot_duration_ms !== null ? h.boot_duration_ms : h.total_elapsed_ms);
        byId("failure").hidden = h.phase !== "failed";
        byId("failed-phase").textContent = h.failed_phase || "unknown";
        byId("reason").textContent = h.failure_reason || "";
        byId("mode").textContent = h.recovery_mode;
        byId("wal-records").textContent = String(h.wal_records_replayed);
        byId("wal-bytes").textContent = bytes(h.wal_bytes_processed);
        byId("wal-skipped").textContent = String(h.wal_records_skipped);
        byId("pages").textContent = String(h.pages_recovered);
        byId("rollbacks").textContent = String(h.txns_rolled_back);
        byId("budgets").replaceChildren(...budgetRows(s.budget_uses));
        timeline(s.timeline);
        boots(s.boots);
      }

      async function refresh() {
        let delay = 5000;
        try {
          const response = await fetch("boot.json", { cache: "no-store" });
          if (!response.ok) throw new Error("HTTP " + response.status);
          const state = await response.json();
          render(state);
          const live = state.health.is_booting || state.health.phase === "uninitialized";
          delay = live ? 1000 : 10000;
          byId("live").textContent = "Live: refreshed every " + (live ? "second" : "10 seconds") +
            ", last at " + new Date().toLocaleTimeString() + ".";
        } catch (error) {
          byId("live").textContent = "Cannot reach the exporter (" + error.message + "); retrying.";
        }
        setTimeout(refresh, delay);
      }
      refresh();
    })();

    """#
}
