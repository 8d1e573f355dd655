#!/usr/bin/env python3
# SPDX-License-Identifier: AGPL-3.0-or-later
"""Checks deploy/systemd/boot-exporter.service: `systemd-analyze verify` accepts it (its ExecStart pointed at the
built binary, in a temporary copy), `systemd-analyze security` rates its exposure 2.0 or less, it is a Type=notify
service whose TimeoutStartSec is the binary's default init budget, with the hardening options, writing only its
data directory, and every flag of its ExecStart is one `boot-exporter run` takes. Then its ExecStart runs as
systemd would run it, with a data directory of its own: a datagram socket bound here stands for NOTIFY_SOCKET and
keeps systemd's start timeout (TimeoutStartSec, moved by each EXTEND_TIMEOUT_USEC); READY=1 must come before it
runs out, and STOPPING=1 and a clean exit within TimeoutStopSec after SIGTERM.

    check_systemd.py REPO_ROOT BINARY
"""
import os
import re
import shlex
import shutil
import socket
import subprocess
import sys
import tempfile
import time

from check_report import CheckReport


def parse_unit(path):
    """{(section, key): [values]} of a unit file."""
    entries, section = {}, None
    with open(path, encoding="utf-8") as f:
        for line in f:
            line = line.strip()
            if not line or line[0] in "#;":
                continue
            if line.startswith("["):
                section = line.strip("[]")
                continue
            key, _, value = line.partition("=")
            entries.setdefault((section, key.strip()), []).append(value.strip())
    return entries


def seconds(text):
    """Seconds of a systemd or boot-exporter duration: 30s, 2min, 1m, 1h30m."""
    units = {"ms": 0.001, "s": 1, "sec": 1, "m": 60, "min": 60, "h": 3600}
    parts = re.findall(r"(\d+)\s*(ms|sec|s|min|m|h)", text)
    if not parts or re.sub(r"\s", "", text) != "".join(n + u for n, u in parts):
        raise ValueError(f"not a duration: {text!r}")
    return sum(int(n) * units[u] for n, u in parts)


def live_boot(report, binary, arguments, start_timeout, stop_timeout, work):
    """Runs ExecStart's arguments under a NOTIFY_SOCKET bound here, keeping systemd's start timeout."""
    address = os.path.join(work, "notify")
    listener = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
    listener.bind(address)
    listener.settimeout(0.2)
    arguments = [a for a in arguments]
    data_dir = os.path.join(work, "data")
    for flag, value in (("--data-dir", data_dir), ("--web.listen-address", "127.0.0.1:0")):
        arguments[arguments.index(flag) + 1] = value
    # A small WAL, generated quickly, replayed in about 2 s: long enough for the boot to extend the timeout.
    arguments += ["--generate.records", "20000", "--recover.max-records-per-second", "10000"]
    env = dict(os.environ, NOTIFY_SOCKET=address)
    log = open(os.path.join(work, "exporter.log"), "w+", encoding="utf-8")
    process = subprocess.Popen([binary] + arguments, env=env, stdout=subprocess.DEVNULL, stderr=log)
    started = time.monotonic()
    deadline = started + start_timeout
    messages, ready_at = [], None
    try:
        while time.monotonic() < deadline and process.poll() is None:
            try:
                datagram = listener.recv(65536).decode()
            except socket.timeout:
                continue
            messages.append(datagram)
            for line in datagram.split("\n"):
                if line.startswith("EXTEND_TIMEOUT_USEC="):
                    deadline = max(deadline, time.monotonic() + int(line.split("=", 1)[1]) / 1e6)
            if "READY=1" in datagram.split("\n"):
                ready_at = time.monotonic() - started
                break
        log.seek(0)
        report.check(ready_at is not None,
                     f"ExecStart says READY=1 within TimeoutStartSec and its extensions ({len(messages)} datagrams)",
                     f"datagrams: {messages[-5:]}\n          log: {log.read()[-2000:]}")
        if ready_at is None:
            return
        extensions = sum("EXTEND_TIMEOUT_USEC=" in m for m in messages)
        report.check(extensions > 0, f"READY=1 after {ready_at:.1f} s, after {extensions} extensions of the start timeout",
                     f"datagrams: {messages}")
        process.terminate()
        stop_deadline = time.monotonic() + stop_timeout
        stopping = False
        while time.monotonic() < stop_deadline and not stopping:
            try:
                stopping = "STOPPING=1" in listener.recv(65536).decode().split("\n")
            except socket.timeout:
                pass
        report.check(stopping, "SIGTERM: STOPPING=1 within TimeoutStopSec")
        try:
            status = process.wait(timeout=max(stop_deadline - time.monotonic(), 1))
        except subprocess.TimeoutExpired:
            status = None
        log.seek(0)
        report.check(status == 0, "SIGTERM: exits 0 within TimeoutStopSec", f"status {status}: {log.read()[-2000:]}")
    finally:
        if process.poll() is None:
            process.kill()
            process.wait()
        listener.close()
        log.close()


def main():
    repo_root, binary = os.path.abspath(sys.argv[1]), os.path.abspath(sys.argv[2])
    unit_path = os.path.join(repo_root, "deploy", "systemd", "boot-exporter.service")
    report = CheckReport()
    unit = parse_unit(unit_path)
    service = {key: values for (section, key), values in unit.items() if section == "Service"}
    last = {key: values[-1] for key, values in service.items()}

    report.check(last.get("Type") == "notify", "Type=notify")
    report.check(last.get("NotifyAccess") == "main", "NotifyAccess=main")
    for key, value in (("ProtectSystem", "strict"), ("NoNewPrivileges", "yes"), ("PrivateTmp", "yes"),
                       ("ProtectHome", "yes")):
        report.check(last.get(key) == value, f"{key}={value}", f"found {last.get(key)!r}")

    command = shlex.split(last.get("ExecStart", ""))
    report.check(len(command) > 2 and command[1] == "run", "ExecStart runs `boot-exporter run`", f"{command}")
    arguments = command[1:]
    data_dir = arguments[arguments.index("--data-dir") + 1] if "--data-dir" in arguments else None
    writable = " ".join(service.get("ReadWritePaths", [])).split()
    report.check(data_dir is not None and data_dir in writable,
                 f"ReadWritePaths= holds the data directory ({data_dir})", f"ReadWritePaths={writable}")

    if not os.access(binary, os.X_OK):
        report.fail(f"boot-exporter binary at {binary} (run 'swift build --build-tests' first, or set BOOT_EXPORTER)")
        report.exit()
    help_text = subprocess.run([binary, "run", "--help"], capture_output=True, text=True).stdout
    flags = [a.split("=")[0] for a in arguments[1:] if a.startswith("--")]
    unknown = [flag for flag in flags if not re.search(rf"(^|\s){re.escape(flag)}[\s,]", help_text)]
    report.check(flags and not unknown, f"ExecStart's flags are `run`'s ({', '.join(flags)})", f"unknown: {unknown}")
    default_init = re.search(r"--boot\.budget\.init <[^>]*>\s+Time budget of the init phase \(default ([^)]+)\)", help_text)
    report.check(default_init and seconds(last.get("TimeoutStartSec", "")) == seconds(default_init.group(1)),
                 f"TimeoutStartSec={last.get('TimeoutStartSec')} is the default init budget "
                 f"({default_init.group(1) if default_init else '?'})")

    analyze = shutil.which("systemd-analyze")
    work = tempfile.mkdtemp(prefix="check-systemd.")
    try:
        if analyze is None:
            report.fail("systemd-analyze is installed (Debian's systemd package)")
        else:
            # verify wants ExecStart's binary to exist: a copy of the unit runs the one just built.
            copy = os.path.join(work, "boot-exporter.service")
            with open(unit_path, encoding="utf-8") as f:
                text = f.read().replace(command[0], binary)
            with open(copy, "w", encoding="utf-8") as f:
                f.write(text)
            verify = subprocess.run([analyze, "verify", copy], capture_output=True, text=True)
            report.check(verify.returncode == 0 and not verify.stderr.strip(),
                         "systemd-analyze verify deploy/systemd/boot-exporter.service",
                         (verify.stdout + verify.stderr).strip())
            security = subprocess.run([analyze, "security", "--offline=true", copy], capture_output=True, text=True)
            level = re.search(r"Overall exposure level for \S+: ([\d.]+)", security.stdout)
            report.check(level and float(level.group(1)) <= 2.0,
                         f"systemd-analyze security: exposure {level.group(1) if level else '?'} (at most 2.0)",
                         (security.stdout + security.stderr)[-1500:])
        live_boot(report, binary, arguments, seconds(last["TimeoutStartSec"]),
                  seconds(last.get("TimeoutStopSec", "90s")), work)
    finally:
        shutil.rmtree(work, ignore_errors=True)
    report.exit()


if __name__ == "__main__":
    main()
