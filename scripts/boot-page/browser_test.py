#!/usr/bin/env python3
# SPDX-License-Identifier: AGPL-3.0-or-later
"""The boot page at / in a real browser: Debian's chromium, headless.

Drives boot-exporter (`follow` with events on standard input, and `run` on a generated store) through a
boot, and loads the page during the boot, once ready and after a failure. Each check reads the DOM as
chromium leaves it after the page's script ran (--dump-dom with a virtual time budget). The page is served
with the Content-Security-Policy docs/endpoints.md prints set once more through the web configuration file
(as an operator would copy it), and again with `script-src 'none'` there: without its script the page must
show the state the server rendered. A progress message and a failure reason of <script>alert(1)</script>
must come out as text. The page's inline blocks must hash to the policy the server sends.

    python3 scripts/boot-page/browser_test.py [--binary .build/debug/boot-exporter] [--screenshots docs]

With --screenshots, one PNG per state is written there (boot-page-booting.png, -ready.png, -failed.png).
"""

import argparse
import base64
import hashlib
import html.parser
import json
import os
import re
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
import urllib.request

XSS = "<script>alert(1)</script>"
ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
VOID = {"area", "base", "br", "col", "embed", "hr", "img", "input", "link", "meta", "source", "track", "wbr"}


class Node:
    def __init__(self, tag, attrs, parent):
        self.tag, self.attrs, self.parent, self.children = tag, dict(attrs), parent, []

    def text(self):
        return "".join(c if isinstance(c, str) else c.text() for c in self.children)

    def all(self, tag=None):
        for child in self.children:
            if isinstance(child, Node):
                if tag is None or child.tag == tag:
                    yield child
                yield from child.all(tag)

    def find(self, id):
        return next((n for n in self.all() if n.attrs.get("id") == id), None)


class DOM(html.parser.HTMLParser):
    """The document chromium serialised, as a tree of Nodes."""

    def __init__(self, text):
        super().__init__(convert_charrefs=True)
        self.root = self.current = Node("#document", [], None)
        self.feed(text)
        self.close()

    def handle_starttag(self, tag, attrs):
        node = Node(tag, attrs, self.current)
        self.current.children.append(node)
        if tag not in VOID:
            self.current = node

    def handle_endtag(self, tag):
        node = self.current
        while node is not self.root and node.tag != tag:
            node = node.parent
        if node is not self.root:
            self.current = node.parent

    def handle_data(self, data):
        self.current.children.append(data)


class Failures:
    def __init__(self):
        self.items = []

    def check(self, condition, what):
        if not condition:
            self.items.append(what)
            print(f"  FAIL {what}", file=sys.stderr)


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class Exporter:
    """boot-exporter serving on 127.0.0.1 and a free port, its standard input a pipe."""

    def __init__(self, binary, *args, policy=None, scratch=None):
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        if policy is not None:
            config = os.path.join(scratch, f"web-{self.port}.yml")
            with open(config, "w") as file:
                file.write(f"http_server_config:\n  headers:\n    Content-Security-Policy: {json.dumps(policy)}\n")
            args = (*args, "--web.config.file", config)
        self.process = subprocess.Popen([binary, *args, "--web.listen-address", f"127.0.0.1:{self.port}"],
                                        stdin=subprocess.PIPE, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        deadline = time.monotonic() + 20
        while True:
            try:
                self.get("/health")
                return
            except OSError:
                if self.process.poll() is not None or time.monotonic() > deadline:
                    raise SystemExit(f"boot-exporter {' '.join(args)} did not start")
                time.sleep(0.05)

    def get(self, path):
        try:
            with urllib.request.urlopen(self.url + path, timeout=5) as response:
                return response.status, dict(response.headers), response.read().decode()
        except urllib.error.HTTPError as error:
            return error.code, dict(error.headers), error.read().decode()

    def state(self):
        return json.loads(self.get("/boot.json")[2])

    def send(self, *events):
        for event in events:
            self.process.stdin.write((json.dumps(event) + "\n").encode())
        self.process.stdin.flush()
        time.sleep(0.2)

    def stop(self):
        if self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)
            try:
                self.process.wait(timeout=20)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()


class Browser:
    def __init__(self, binary, profile):
        self.binary, self.profile = binary, profile

    def run(self, url, *extra):
        command = [self.binary, "--headless", "--no-sandbox", "--disable-gpu", "--no-first-run",
                   "--hide-scrollbars", f"--user-data-dir={self.profile}", *extra, url]
        result = subprocess.run(command, capture_output=True, text=True, timeout=60)
        if result.returncode != 0:
            raise SystemExit(f"chromium failed on {url}: {result.stderr[-2000:]}")
        return result.stdout

    def dom(self, url):
        """The DOM after the page's script (if the policy let it run) had 2.5 s of virtual time."""
        return DOM(self.run(url, "--virtual-time-budget=2500", "--dump-dom")).root

    def screenshot(self, url, path):
        self.run(url, "--virtual-time-budget=2500", "--window-size=1100,1060", f"--screenshot={path}")


def check_common(f, doc, state, label, javascript, advancing=False):
    """What holds in every state: the page shows the state of /boot.json, and nothing was injected.
    The counters of a boot `advancing` on its own (under `run`) may have moved on since: not compared."""
    h = state["health"]
    where = f"{label}{'' if javascript else ' (script forbidden)'}"
    f.check(doc.find("phase") is not None and doc.find("phase").text() == h["phase"],
            f"{where}: #phase shows {h['phase']}")
    f.check(f"p-{h['phase']}" in doc.find("now").attrs.get("class", ""), f"{where}: #now has the phase's colour class")
    f.check(len(list(doc.all("script"))) == 1, f"{where}: exactly one script element (nothing injected)")
    f.check(not list(doc.all("img")), f"{where}: no img element (nothing injected)")
    f.check(doc.find("mode").text() == h["recovery_mode"], f"{where}: recovery mode shown")
    for id, key in (("wal-records", "wal_records_replayed"), ("pages", "pages_recovered"), ("rollbacks", "txns_rolled_back")):
        shown = doc.find(id).text()
        fits = shown.isdigit() and (int(shown) >= h[key] if advancing else int(shown) == h[key])
        f.check(fits, f"{where}: #{id} shows {key} ({shown!r}, /boot.json said {h[key]})")
    f.check(len(list(doc.find("budgets").all("tr"))) == 5, f"{where}: four phase budgets and the total")
    live = doc.find("live").text()
    if javascript:
        every = "second" if h["is_booting"] or h["phase"] == "uninitialized" else "10 seconds"
        f.check(live.startswith(f"Live: refreshed every {every}"), f"{where}: the script refreshes every {every} ({live!r})")
    else:
        f.check(live.startswith("The state when the page was loaded"), f"{where}: server-rendered state ({live!r})")


def budget_status(doc, name):
    for row in doc.find("budgets").all("tr"):
        if row.children and isinstance(row.children[0], Node) and row.children[0].text() == name:
            return row.attrs.get("class")
    return None


def documented_policy():
    with open(os.path.join(ROOT, "docs", "endpoints.md")) as docs:
        match = re.search(r"^Content-Security-Policy: (default-src .*)$", docs.read(), re.M)
    if not match:
        raise SystemExit("docs/endpoints.md prints no Content-Security-Policy line")
    return match.group(1)


def check_policy(f, exporter):
    """The served inline script and style hash to the policy the response and docs/endpoints.md give."""
    _, headers, body = exporter.get("/")
    # urllib joins repeated headers; the page's own policy comes first.
    policy = headers.get("Content-Security-Policy", "").split(", ")[0]
    script = re.search(r"<script>(.*?)</script>", body, re.S).group(1)
    style = re.search(r"<style>(.*?)</style>", body, re.S).group(1)
    digest = lambda text: "sha256-" + base64.b64encode(hashlib.sha256(text.encode()).digest()).decode()
    f.check(f"script-src '{digest(script)}'" in policy, "the served script's hash is the policy's script-src")
    f.check(f"style-src '{digest(style)}'" in policy, "the served style's hash is the policy's style-src")
    f.check(policy == documented_policy(), "docs/endpoints.md prints the policy the page is served with")
    f.check(len(body.encode()) < 30 * 1024, f"the page is under 30 KB ({len(body.encode())} bytes)")


def follow_states(f, binary, browser, shots, scratch):
    # The same boot twice: under the documented policy (the script runs), under one that forbids scripts.
    exporters = [Exporter(binary, "follow", "--boot.budget.recover", "20s", "--boot.budget-policy", "report-only",
                          policy=policy, scratch=scratch) for policy in (documented_policy(), "script-src 'none'")]
    try:
        check_policy(f, exporters[0])
        for exporter in exporters:
            exporter.send({"event": "start"}, {"event": "transition", "phase": "migrate"},
                          {"event": "transition", "phase": "recover"},
                          {"event": "wal", "records": 1200, "bytes": 3 << 20}, {"event": "pages", "count": 77},
                          {"event": "rollbacks", "count": 3})
        time.sleep(0.5)
        for exporter in exporters:
            # 2% after half a second or more: an ETA far past the 20 s budget, so recover is at risk.
            exporter.send({"event": "progress", "message": XSS + " replaying", "items_processed": 2, "items_total": 100,
                           "bytes_processed": 4096, "bytes_total": 10240})
        for exporter, javascript in zip(exporters, (True, False)):
            state = exporter.state()
            doc = browser.dom(exporter.url + "/")
            check_common(f, doc, state, "follow, booting", javascript)
            f.check(doc.find("message").text() == XSS + " replaying", "follow, booting: the message is shown as text")
            f.check(doc.find("percent").text() == "2%", "follow, booting: 2%")
            f.check(doc.find("items").text() == "2 of 100", "follow, booting: items processed of expected")
            f.check(doc.find("bytes").text() == "4.0 KiB of 10.0 KiB", "follow, booting: bytes processed of expected")
            f.check(doc.find("eta").text().endswith(("s", "min")), "follow, booting: an ETA")
            f.check(budget_status(doc, "recover") == "risk", "follow, booting: recover budget at risk")
            f.check(budget_status(doc, "init") == "done", "follow, booting: init budget done")
            f.check(len(list(doc.find("timeline").all("rect"))) == 3, "follow, booting: three phases on the timeline")
            f.check(doc.find("phases").text().endswith("so far"), "follow, booting: the running phase last")
            f.check("hidden" in doc.find("failure").attrs, "follow, booting: no failure shown")
            f.check("hidden" not in doc.find("no-journal").attrs and "hidden" in doc.find("boots-table").attrs,
                    "follow, booting: no journal under follow")
        exporter = exporters[0]
        exporter.send({"event": "transition", "phase": "warmup"}, {"event": "transition", "phase": "ready"})
        state = exporter.state()
        doc = browser.dom(exporter.url + "/")
        check_common(f, doc, state, "follow, ready", True)
        f.check(len(list(doc.find("phases").all("tr"))) == 4, "follow, ready: four completed phases")
        f.check(budget_status(doc, "total") == "done", "follow, ready: total budget done")
        f.check(doc.find("percent").text() == "100%", "follow, ready: 100%")
    finally:
        for exporter in exporters:
            exporter.stop()

    exporters = [Exporter(binary, "follow", policy=policy, scratch=scratch) for policy in (None, "script-src 'none'")]
    try:
        for exporter in exporters:
            exporter.send({"event": "start"}, {"event": "transition", "phase": "migrate"},
                          {"event": "transition", "phase": "recover"}, {"event": "wal", "records": 5000, "bytes": 1 << 20},
                          {"event": "progress", "percent": 63, "message": "replaying segment 7"},
                          {"event": "fail", "reason": XSS})
        for exporter, javascript in zip(exporters, (True, False)):
            state = exporter.state()
            doc = browser.dom(exporter.url + "/")
            check_common(f, doc, state, "follow, failed", javascript)
            f.check("hidden" not in doc.find("failure").attrs, "follow, failed: the failure is shown")
            f.check(doc.find("reason").text().endswith(XSS), f"follow, failed: the reason is shown as text ({doc.find('reason').text()!r})")
            f.check(doc.find("failed-phase").text() == "recover", "follow, failed: the failed phase")
            f.check(budget_status(doc, "recover") == "failed" and budget_status(doc, "total") == "failed",
                    "follow, failed: recover and total marked failed")
            f.check(doc.find("live").text().startswith("Live: refreshed every 10 seconds") if javascript else True,
                    "follow, failed: the script slows down")
        if shots:
            browser.screenshot(exporters[0].url + "/", os.path.join(shots, "boot-page-failed.png"))
    finally:
        for exporter in exporters:
            exporter.stop()


def run_states(f, binary, browser, shots, data):
    """`run` on a generated store: a boot stopped mid-recover, then one watched to ready."""
    args = ["run", "--data-dir", data, "--generate.records", "30000", "--recover.max-records-per-second", "6000",
            "--boot.startup-probe-seconds", "60"]
    exporter = Exporter(binary, *args)
    try:
        wait_for(exporter, lambda s: s["health"]["phase"] == "recover" and s["health"]["progress_percent"] >= 5, "recover")
    finally:
        exporter.stop()
    exporter = Exporter(binary, *args)
    try:
        state = wait_for(exporter, lambda s: s["health"]["phase"] == "recover" and s["health"]["progress_percent"] >= 30, "recover")
        doc = browser.dom(exporter.url + "/")
        check_common(f, doc, state, "run, booting", True, advancing=True)
        rows = [[cell.text() for cell in row.all("td")] for row in doc.find("boots").all("tr")]
        f.check(len(rows) == 2 and rows[0][:2] == ["#2", "running"], f"run, booting: this boot first in the journal ({rows})")
        f.check(len(rows) == 2 and rows[1][:2] == ["#1", "stopped"] and rows[1][4] != "",
                f"run, booting: the stopped boot before it, with its reason ({rows})")
        if shots:
            browser.screenshot(exporter.url + "/", os.path.join(shots, "boot-page-booting.png"))
        state = wait_for(exporter, lambda s: s["health"]["phase"] == "ready", "ready", timeout=60)
        doc = browser.dom(exporter.url + "/")
        check_common(f, doc, state, "run, ready", True)
        f.check(int(doc.find("wal-records").text()) > 0, "run, ready: WAL records replayed")
        rows = [[cell.text() for cell in row.all("td")] for row in doc.find("boots").all("tr")]
        f.check(rows and rows[0][:2] == ["#2", "ready"], f"run, ready: this boot ready in the journal ({rows})")
        if shots:
            browser.screenshot(exporter.url + "/", os.path.join(shots, "boot-page-ready.png"))
    finally:
        exporter.stop()


def wait_for(exporter, condition, what, timeout=30):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        state = exporter.state()
        if condition(state):
            return state
        time.sleep(0.05)
    raise SystemExit(f"the boot did not reach {what} in {timeout} s: {exporter.state()['health']}")


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--binary", default=os.path.join(ROOT, ".build", "debug", "boot-exporter"))
    parser.add_argument("--chromium", default=shutil.which("chromium") or "chromium")
    parser.add_argument("--screenshots", help="write one PNG per state into this directory")
    options = parser.parse_args()
    if options.screenshots:
        options.screenshots = os.path.abspath(options.screenshots)
        os.makedirs(options.screenshots, exist_ok=True)
    started = time.monotonic()
    failures = Failures()
    with tempfile.TemporaryDirectory(prefix="boot-page-") as scratch:
        browser = Browser(options.chromium, os.path.join(scratch, "profile"))
        follow_states(failures, options.binary, browser, options.screenshots, scratch)
        run_states(failures, options.binary, browser, options.screenshots, os.path.join(scratch, "data"))
    took = time.monotonic() - started
    if failures.items:
        print(f"boot page: {len(failures.items)} check(s) failed in {took:.1f} s", file=sys.stderr)
        return 1
    print(f"boot page: every check passed in chromium in {took:.1f} s")
    return 0


if __name__ == "__main__":
    sys.exit(main())
