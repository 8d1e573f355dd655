#!/usr/bin/env python3
# SPDX-License-Identifier: AGPL-3.0-or-later
"""Checks that the documentation says what the code does:

- every relative link and anchor in README.md, CONTRIBUTING.md, docs/*.md and the DocC articles resolves (GitHub's anchors: lowercase,
  spaces to '-', punctuation dropped, '-1', '-2' after repeated headings);
- every flag named in docs/configuration.md is one of boot-exporter's, and each subcommand's "Flags of" tables list
  exactly the flags its --help prints;
- every metric in docs/metrics.md's table appears in a scrape of a live exporter (its second boot of a data
  directory, when the boot journal's metrics exist), but for those whose row says they are "absent" in some state,
  which must appear in a scrape of a failed boot; every metric scraped is in the table;
- every Swift code block that follows a `<!-- snippet: PATH -->` line equals that file (PATH relative to the page;
  its licence header left out): the files under Snippets/ are built by `swift build`, the one under Tests/ by
  `swift build --build-tests`, so every Swift example in the pages compiles (a block that is only a fragment,
  such as lines of a Package.swift, says so with `<!-- fragment: what it is -->`);
- the Python, shell and Go programs docs/follow.md shows each bring `boot-exporter follow` to ready, no line rejected
  (Go only where `go` is installed).

    check_docs.py [--binary .build/debug/boot-exporter]

Ends with "docs: N passed, N failed"; exits non-zero on a failure.
"""
import argparse
import glob
import os
import re
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.request

from check_report import CheckReport

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
SUBCOMMANDS = ["run", "follow", "generate", "write", "history", "probes"]
FLAG = re.compile(r"--[a-z][a-z0-9.-]*[a-z0-9](?![\w.*-])")  # not a family such as --boot.budget.*
LINK = re.compile(r"\[[^\]]*\]\(([^)\s]+)\)")
SNIPPET = re.compile(r"<!-- snippet: (\S+) -->\n```\w+\n(.*?)```", re.S)
# The programs docs/follow.md shows, each run under `boot-exporter follow`: (command, what it needs).
FOLLOW_EXAMPLES = [(["python3", "examples/follow/boot.py"], "python3"),
                   (["sh", "examples/follow/boot.sh"], "sh"),
                   (["go", "run", "examples/follow/boot.go"], "go")]


def github_anchor(heading):
    text = re.sub(r"\[([^\]]*)\]\([^)]*\)", r"\1", heading.strip().lower())
    return re.sub(r"[^\w -]", "", text).replace(" ", "-")


def prose(text):
    """The text outside fenced code blocks and inline code."""
    text = re.sub(r"^```.*?^```", "", text, flags=re.S | re.M)
    return re.sub(r"`[^`\n]*`", "", text)


def anchors(path):
    with open(path, encoding="utf-8") as f:
        text = re.sub(r"^```.*?^```", "", f.read(), flags=re.S | re.M)
    seen, result = {}, set()
    for heading in re.findall(r"^#{1,6} (.+)$", text, re.M):
        slug = github_anchor(heading)
        n = seen.get(slug, 0)
        seen[slug] = n + 1
        result.add(slug if n == 0 else f"{slug}-{n}")
    return result


def check_links(report, pages):
    for page in pages:
        rel = os.path.relpath(page, ROOT)
        with open(page, encoding="utf-8") as f:
            targets = LINK.findall(prose(f.read()))
        broken = []
        for target in targets:
            if re.match(r"^[a-z]+:", target):
                continue
            path, _, anchor = target.partition("#")
            file = os.path.normpath(os.path.join(os.path.dirname(page), path)) if path else page
            if not os.path.exists(file):
                broken.append(f"{target}: no file {os.path.relpath(file, ROOT)}")
            elif anchor and (not file.endswith(".md") or anchor not in anchors(file)):
                broken.append(f"{target}: no heading with that anchor in {os.path.relpath(file, ROOT)}")
        report.check(not broken, f"{rel}: {len(targets)} relative links and anchors resolve", "; ".join(broken))


def help_flags(binary, sub):
    out = subprocess.run([binary, sub, "--help"], capture_output=True, text=True, timeout=30)
    # The options are the lines that start with one; descriptions may name other flags.
    return set(re.findall(r"^  (?:-\w, )?(--[a-z][a-z0-9.-]*)", out.stdout, re.M)) - {"--help", "--version"}


def check_flags(report, binary):
    path = os.path.join(ROOT, "docs", "configuration.md")
    with open(path, encoding="utf-8") as f:
        text = re.sub(r"\]\([^)]*\)", "]", f.read())  # link targets are anchors, not flags
    helps = {sub: help_flags(binary, sub) for sub in SUBCOMMANDS}
    every = set().union(*helps.values())
    named = set(FLAG.findall(text)) - {"--help", "--version"}
    report.check(named <= every, f"docs/configuration.md: the {len(named)} flags it names are boot-exporter's",
                 "unknown: " + ", ".join(sorted(named - every)))
    for sub in SUBCOMMANDS:
        section = re.search(rf"^## Flags of `{sub}`\n(.*?)(?=^## |\Z)", text, re.S | re.M)
        if not section:
            report.fail(f"docs/configuration.md: a section \"Flags of `{sub}`\"")
            continue
        rows = re.findall(r"^\| ([^|]*) \|", section.group(1), re.M)
        documented = {flag for cell in rows for flag in FLAG.findall(cell)}
        missing, extra = helps[sub] - documented, documented - helps[sub]
        report.check(helps[sub] and not missing and not extra,
                     f"boot-exporter {sub}: its {len(helps[sub])} flags in --help are the ones documented",
                     f"undocumented: {sorted(missing)}; not in --help: {sorted(extra)}")


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def wait_for_phase(base, phase, seconds):
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        try:
            with urllib.request.urlopen(base + "/health", timeout=2) as r:
                body = r.read().decode()
        except urllib.error.HTTPError as error:  # 503 once the boot failed: the body still says so
            body = error.read().decode()
        except OSError:
            body = ""
        if f'"phase":"{phase}"' in body:
            return True
        time.sleep(0.1)
    return False


def check_follow_examples(report, binary):
    for command, tool in FOLLOW_EXAMPLES:
        name = " ".join(command)
        if not shutil.which(tool):
            report.skip(f"{name}: no {tool} here")
            continue
        port = free_port()
        program = subprocess.Popen(command, cwd=ROOT, stdout=subprocess.PIPE)
        exporter = subprocess.Popen([binary, "follow", "--web.listen-address", f"127.0.0.1:{port}"],
                                    stdin=program.stdout, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
        program.stdout.close()
        try:
            ready = wait_for_phase(f"http://127.0.0.1:{port}", "ready", 120)
        finally:
            exporter.send_signal(signal.SIGTERM)
            _, errors = exporter.communicate(timeout=30)
            program.wait(timeout=30)
        rejected = [line for line in errors.decode(errors="replace").splitlines() if line.startswith("follow:")]
        report.check(ready and not rejected, f"{name} | boot-exporter follow: the boot is ready, no line rejected",
                     "; ".join(rejected) or "not ready within 120 s")


def scrape_after(binary, data_dir, until, *flags):
    """Runs one boot of data_dir until /health says `until` (a phase), scrapes /metrics, stops it with SIGTERM."""
    port = free_port()
    base = f"http://127.0.0.1:{port}"
    proc = subprocess.Popen([binary, "run", "--data-dir", data_dir, "--generate.records", "1000",
                             "--web.listen-address", f"127.0.0.1:{port}", *flags],
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        if not wait_for_phase(base, until, 60):
            raise subprocess.SubprocessError(f"{data_dir}: the boot did not get to {until} within 60 s")
        with urllib.request.urlopen(base + "/metrics", timeout=5) as r:
            return r.read().decode()
    finally:
        proc.send_signal(signal.SIGTERM)
        proc.wait(timeout=30)


def check_metrics(report, binary):
    path = os.path.join(ROOT, "docs", "metrics.md")
    with open(path, encoding="utf-8") as f:
        rows = re.findall(r"^\| (`[a-z_]+`(?:, `[a-z_]+`)*) \|(.*)$", f.read(), re.M)
    documented, optional = set(), set()
    for names, rest in rows:
        for name in re.findall(r"`([a-z_]+)`", names):
            documented.add(name)
            if "absent" in rest:
                optional.add(name)
    with tempfile.TemporaryDirectory(prefix="check-docs.") as tmp:
        try:
            scrape_after(binary, os.path.join(tmp, "ready"), "ready")
            ready = scrape_after(binary, os.path.join(tmp, "ready"), "ready")  # the second boot: the journal's metrics
            # A boot that fails its recover budget: the failure's metrics.
            failed = scrape_after(binary, os.path.join(tmp, "failed"), "failed",
                                  "--recover.max-records-per-second", "100", "--boot.budget.recover", "1s")
        except (OSError, subprocess.SubprocessError) as error:
            report.fail("live boot-exporters scraped (ready, second boot; failed)", str(error))
            return
    in_ready = set(re.findall(r"^# TYPE (\S+) ", ready, re.M))
    in_failed = set(re.findall(r"^# TYPE (\S+) ", failed, re.M))
    missing = documented - in_ready - optional
    report.check(documented and not missing,
                 f"docs/metrics.md: its {len(documented)} metrics appear in a scrape of a ready second boot "
                 f"(but {len(optional)} documented as absent in some states)", f"not scraped: {sorted(missing)}")
    missing = documented - (in_ready | in_failed)
    report.check(not missing, f"docs/metrics.md: each of its {len(documented)} metrics appears in a scrape of a "
                 "ready or a failed boot", f"in neither: {sorted(missing)}")
    extra = (in_ready | in_failed) - documented
    report.check(not extra, f"the scrapes' {len(in_ready | in_failed)} metrics are all in docs/metrics.md",
                 f"undocumented: {sorted(extra)}")


def check_snippets(report, pages):
    for page in pages:
        with open(page, encoding="utf-8") as f:
            text = f.read()
        unbuilt = re.findall(r"^(?!<!-- (?:snippet: \S+|fragment: [^\n]*) -->\n)[^\n]*\n```swift$", "\n" + text, re.M)
        report.check(not unbuilt, f"{os.path.relpath(page, ROOT)}: every Swift block is a built snippet "
                     "(or marked as a fragment)", f"{len(unbuilt)} Swift blocks without <!-- snippet: PATH -->")
        for name, block in SNIPPET.findall(text):
            rel = os.path.relpath(page, ROOT)
            file = os.path.normpath(os.path.join(os.path.dirname(page), name))
            if not os.path.exists(file):
                report.fail(f"{rel}: the snippet {name} exists")
                continue
            with open(file, encoding="utf-8") as f:
                code = f.read()
            # The file's licence header, up to its first blank line, is not part of what the page shows.
            code = re.sub(r"\A((//|#)[^\n]*\n)+\n", "", code)
            report.check(block == code, f"{rel}: its code block equals {name}",
                         "copy the file into the page (or the page into the file)")


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--binary", default=os.path.join(ROOT, ".build", "debug", "boot-exporter"))
    args = parser.parse_args()
    report = CheckReport()
    pages = [os.path.join(ROOT, p) for p in ("README.md", "CONTRIBUTING.md")]
    pages += sorted(glob.glob(os.path.join(ROOT, "docs", "*.md")))
    pages += sorted(glob.glob(os.path.join(ROOT, "Sources", "*", "*.docc", "*.md")))  # the DocC articles
    check_links(report, pages)
    check_snippets(report, pages)
    if os.access(args.binary, os.X_OK):
        check_flags(report, args.binary)
        check_metrics(report, args.binary)
        check_follow_examples(report, args.binary)
    else:
        report.fail(f"boot-exporter at {args.binary} (build it first: swift build)")
    print(f"docs: {report.passed} passed, {report.failures} failed", flush=True)
    report.exit()


if __name__ == "__main__":
    main()
