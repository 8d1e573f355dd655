#!/usr/bin/env python3
# SPDX-License-Identifier: AGPL-3.0-or-later
"""Differential test of `--web.config.file`: the same web configuration files, run by boot-exporter and by
Debian's prometheus-node-exporter (which uses the real exporter toolkit), side by side on loopback ports.

For each file it compares whether the file is accepted (refused: the process exits or never listens within a
few seconds); for an accepted file, the HTTP status or the failed TLS handshake ("no answer") of about a dozen
curl requests (credentials right and wrong, client certificates valid, of another CA, for server authentication
only, expired, TLS versions, plain HTTP to the TLS port); and the security headers of an authorised answer.
A difference listed in deliberate-differences.txt (beside this script, and in docs/configuration.md) is reported, not failed.
Certificates are made with openssl in a temporary directory; nothing is installed.

    compare.py [--boot-exporter BIN] [--node-exporter BIN] [--only NAME]...
"""
import argparse
import concurrent.futures
import os
import pathlib
import shutil
import socket
import subprocess
import sys
import tempfile
import time
import warnings

with warnings.catch_warnings():
    warnings.simplefilter("ignore", DeprecationWarning)  # crypt is Python 3.11's way to bcrypt
    import crypt

ROOT = pathlib.Path(__file__).resolve().parents[2]
HERE = pathlib.Path(__file__).resolve().parent
PASSWORD = "s3cret"
START_TIMEOUT = 5.0
SECURITY_HEADERS = ["strict-transport-security", "x-content-type-options", "x-frame-options",
                    "x-xss-protection", "content-security-policy"]

TLS = "tls_server_config:\n  cert_file: server.crt\n  key_file: server.key\n"
VERIFY = TLS + "  client_auth_type: RequireAndVerifyClientCert\n  client_ca_file: ca.crt\n"
USERS = "basic_auth_users:\n  prometheus: {hash}\n"

# name -> file text; {hash} is the bcrypt hash of PASSWORD for the user `prometheus`.
CONFIGURATIONS = {
    # Accepted by the toolkit: every documented key.
    "empty-file": "",
    "comments-only": "# nothing configured\n",
    "basic-auth": USERS,
    "basic-auth-two-users": USERS + "  alice: {hash}\n",
    "headers-all": "http_server_config:\n  headers:\n    Strict-Transport-Security: max-age=31536000\n"
                   "    X-Content-Type-Options: nosniff\n    X-Frame-Options: deny\n    X-XSS-Protection: 1; mode=block\n"
                   "    Content-Security-Policy: default-src 'self'\n",
    "header-frame-sameorigin": "http_server_config:\n  headers:\n    X-Frame-Options: sameorigin\n",
    "http2-false": "http_server_config:\n  http2: false\n",
    "tls": TLS,
    "tls-basic-auth-headers": TLS + USERS + "http_server_config:\n  headers:\n    X-Frame-Options: deny\n",
    "no-client-cert": TLS + "  client_auth_type: NoClientCert\n",
    "request-client-cert": TLS + "  client_auth_type: RequestClientCert\n  client_ca_file: ca.crt\n",
    "require-any-client-cert": TLS + "  client_auth_type: RequireAnyClientCert\n  client_ca_file: ca.crt\n",
    "require-client-cert-alias": TLS + "  client_auth_type: RequireClientCert\n  client_ca_file: ca.crt\n",
    "verify-if-given": TLS + "  client_auth_type: VerifyClientCertIfGiven\n  client_ca_file: ca.crt\n",
    "require-and-verify": VERIFY,
    "require-and-verify-basic-auth": VERIFY + USERS,
    "client-allowed-sans": VERIFY + "  client_allowed_sans: [prometheus.example]\n",
    "client-allowed-sans-unlisted": VERIFY + "  client_allowed_sans: [other.example]\n",
    "min-version-tls13": TLS + "  min_version: TLS13\n",
    "min-version-tls11": TLS + "  min_version: TLS11\n",
    "max-version-tls12": TLS + "  max_version: TLS12\n",
    "cipher-suites": TLS + "  max_version: TLS12\n  cipher_suites: [TLS_ECDHE_ECDSA_WITH_AES_128_GCM_SHA256]\n",
    "curve-preferences": TLS + "  curve_preferences: [X25519, CurveP256]\n",
    "prefer-server-cipher-suites": TLS + "  prefer_server_cipher_suites: false\n",
    # YAML features.
    "yaml-document-markers": "---\n" + USERS + "...\n",
    "yaml-anchor-alias": "basic_auth_users:\n  prometheus: &hash {hash}\n  alice: *hash\n",
    "yaml-flow-mapping-multiline": "tls_server_config: {{\n  cert_file: server.crt,\n  key_file: server.key\n}}\n",
    "yaml-flow-sequence-multiline": TLS + "  curve_preferences: [\n    X25519,\n    CurveP256\n  ]\n",
    "yaml-block-scalar": "tls_server_config:\n  cert_file: |-\n    server.crt\n  key_file: server.key\n",
    "yaml-str-tag": "tls_server_config:\n  cert_file: !!str server.crt\n  key_file: !!str server.key\n",
    "yaml-quoted-strings": "tls_server_config:\n  cert_file: \"server.crt\"\n  key_file: 'server.key'\n",
    "yaml-comments-everywhere": "# web configuration\ntls_server_config:  # TLS\n  cert_file: server.crt  # chain\n"
                                "  # the key\n  key_file: server.key\n",
    # Refused by the toolkit.
    "unknown-top-level-key": "tls_config:\n  cert_file: server.crt\n",
    "unknown-tls-key": TLS + "  cert_chain: server.crt\n",
    "duplicate-key": USERS + "basic_auth_users:\n  alice: {hash}\n",
    "plaintext-password": "basic_auth_users:\n  prometheus: hunter2\n",
    "missing-cert-file": "tls_server_config:\n  cert_file: missing.crt\n  key_file: server.key\n",
    "missing-key-file": "tls_server_config:\n  cert_file: server.crt\n",
    "key-does-not-match": "tls_server_config:\n  cert_file: server.crt\n  key_file: client.key\n",
    "bad-client-auth-type": TLS + "  client_auth_type: RequireCertificates\n  client_ca_file: ca.crt\n",
    "bad-min-version": TLS + "  min_version: SSL3\n",
    "bad-cipher-suite": TLS + "  cipher_suites: [TLS_NOT_A_SUITE]\n",
    "bad-curve": TLS + "  curve_preferences: [CurveP999]\n",
    "client-ca-without-auth-type": TLS + "  client_ca_file: ca.crt\n",
    "header-not-allowed": "http_server_config:\n  headers:\n    Set-Cookie: a=b\n",
    "header-bad-value": "http_server_config:\n  headers:\n    X-Frame-Options: allowall\n",
    "malformed-yaml": "basic_auth_users: [\n",
    "users-not-a-mapping": "basic_auth_users: [prometheus]\n",
    "tab-indentation": "tls_server_config:\n\tcert_file: server.crt\n\tkey_file: server.key\n",
    # Where we are stricter on purpose (deliberate-differences.txt).
    "second-document": "basic_auth_users:\n  prometheus: {hash}\n---\n" + TLS,
    "empty-tls-server-config": "tls_server_config: {{}}\n",
    "require-and-verify-without-ca": TLS + "  client_auth_type: RequireAndVerifyClientCert\n",
}

# name -> curl arguments; run against every accepted file (those marked TLS only against TLS files).
CERT = ["--cert", "client.crt", "--key", "client.key"]
AUTH = ["-u", "prometheus:" + PASSWORD]
REQUESTS = {
    "no credentials": [],
    "right password": AUTH,
    "wrong password": ["-u", "prometheus:wrong"],
    "unknown user": ["-u", "nobody:" + PASSWORD],
    "valid client cert": CERT,
    "valid client cert and password": CERT + AUTH,
    "client cert without EKU": ["--cert", "client-no-eku.crt", "--key", "client.key"] + AUTH,
    "client cert of another CA": ["--cert", "client-other-ca.crt", "--key", "client.key"] + AUTH,
    "client cert for server auth only": ["--cert", "client-server-eku.crt", "--key", "client.key"] + AUTH,
    "the server's own cert": ["--cert", "server.crt", "--key", "server.key"] + AUTH,
    "expired client cert": ["--cert", "client-expired.crt", "--key", "client.key"] + AUTH,
    "TLS 1.2 only": ["--tls-max", "1.2"] + CERT + AUTH,
    "TLS 1.3 only": ["--tlsv1.3"] + CERT + AUTH,
}
HEADERS_REQUEST = "valid client cert and password"
PLAIN_HTTP_TO_TLS = "plain HTTP to the TLS port"


def make_pki(directory):
    """A CA, another CA, a server certificate for 127.0.0.1 and client certificates of each kind (one key)."""
    def openssl(*arguments):
        subprocess.run(["openssl", *arguments], cwd=directory, check=True, capture_output=True)

    def write(name, text):
        (directory / name).write_text(text)

    ec = ["-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256", "-nodes"]
    openssl("req", "-x509", *ec, "-days", "2", "-subj", "/CN=test-ca", "-keyout", "ca.key", "-out", "ca.crt")
    openssl("req", "-x509", *ec, "-days", "2", "-subj", "/CN=other-ca", "-keyout", "other-ca.key", "-out", "other-ca.crt")
    openssl("req", *ec, "-subj", "/CN=127.0.0.1", "-keyout", "server.key", "-out", "server.csr")
    openssl("req", *ec, "-subj", "/CN=prometheus", "-keyout", "client.key", "-out", "client.csr")
    write("server.ext", "subjectAltName=IP:127.0.0.1,DNS:localhost\nextendedKeyUsage=serverAuth\n")
    write("client.ext", "extendedKeyUsage=clientAuth\nsubjectAltName=DNS:prometheus.example\n")
    write("client-server-eku.ext", "extendedKeyUsage=serverAuth\nsubjectAltName=DNS:prometheus.example\n")
    write("client-no-eku.ext", "subjectAltName=DNS:prometheus.example\n")

    def sign(csr, out, ext, ca="ca"):
        openssl("x509", "-req", "-in", csr, "-CA", f"{ca}.crt", "-CAkey", f"{ca}.key", "-CAcreateserial",
                "-days", "2", "-extfile", ext, "-out", out)

    sign("server.csr", "server.crt", "server.ext")
    sign("client.csr", "client.crt", "client.ext")
    sign("client.csr", "client-server-eku.crt", "client-server-eku.ext")
    sign("client.csr", "client-no-eku.crt", "client-no-eku.ext")
    sign("client.csr", "client-other-ca.crt", "client.ext", ca="other-ca")
    # OpenSSL 3.0's x509 cannot backdate; its ca command can.
    write("ca.cnf", "[ca]\ndefault_ca = test\n[test]\ndatabase = index.txt\nnew_certs_dir = .\nserial = serial\n"
                    "default_md = sha256\npolicy = any\ncopy_extensions = none\nx509_extensions = client\n"
                    "[any]\ncommonName = supplied\n[client]\nextendedKeyUsage = clientAuth\n")
    write("index.txt", "")
    write("serial", "1000\n")
    openssl("ca", "-batch", "-config", "ca.cnf", "-cert", "ca.crt", "-keyfile", "ca.key", "-in", "client.csr",
            "-startdate", "20200101000000Z", "-enddate", "20200102000000Z", "-notext", "-out", "client-expired.crt")


def free_port():
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def listening(port):
    with socket.socket() as probe:
        probe.settimeout(0.2)
        return probe.connect_ex(("127.0.0.1", port)) == 0


class Server:
    """One exporter run with one file: started, waited for, asked, stopped."""

    def __init__(self, command, port, log):
        self.port = port
        self.log = log
        self.process = subprocess.Popen(command, stdout=subprocess.DEVNULL, stderr=log, stdin=subprocess.DEVNULL)

    def started(self):
        """Whether it listens (and still runs a moment later: the toolkit listens before it reads the file)."""
        deadline = time.monotonic() + START_TIMEOUT
        while time.monotonic() < deadline and self.process.poll() is None:
            if listening(self.port):
                time.sleep(0.2)
                return self.process.poll() is None
            time.sleep(0.05)
        return False

    def stop(self):
        if self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(timeout=5)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()
        self.log.close()


def ask(directory, port, tls, arguments):
    """The HTTP status, or "no answer" (handshake refused, connection closed), and the security headers."""
    scheme = "https" if tls else "http"
    result = subprocess.run(
        ["curl", "-s", "-o", "/dev/null", "-D", "-", "-w", "\n%{http_code}", "--max-time", "3", "--cacert", "ca.crt",
         *arguments, f"{scheme}://127.0.0.1:{port}/metrics"],
        cwd=directory, capture_output=True, text=True)
    *head, code = result.stdout.rsplit("\n", 1)
    headers = {}
    for line in (head[0] if head else "").splitlines():
        name, _, value = line.partition(":")
        if name.strip().lower() in SECURITY_HEADERS:
            headers[name.strip().lower()] = value.strip()
    return ("no answer" if code in ("", "000") else code), headers


def observe(server, directory, tls):
    """What a client sees of one running server: {check: outcome}."""
    seen = {}
    for name, arguments in REQUESTS.items():
        outcome, headers = ask(directory, server.port, tls, arguments)
        seen[name] = outcome
        if name == HEADERS_REQUEST:
            seen["security headers"] = ", ".join(f"{k}: {v}" for k, v in sorted(headers.items())) or "none"
    if tls:
        seen[PLAIN_HTTP_TO_TLS] = ask(directory, server.port, False, [])[0]
    return seen


def run_file(name, directory, boot_exporter, node_exporter):
    """{check: (boot-exporter's outcome, node_exporter's outcome)} for one file."""
    config = directory / f"{name}.yml"
    tls = "tls_server_config" in config.read_text()
    boot_port, node_port = free_port(), free_port()
    servers = {
        "boot-exporter": Server([boot_exporter, "run", "--data-dir", str(directory / f"data-{name}"),
                                 "--generate.records", "0", "--web.listen-address", f"127.0.0.1:{boot_port}",
                                 "--web.config.file", str(config)], boot_port,
                                open(directory / f"{name}.boot-exporter.log", "w")),
        "node_exporter": Server([node_exporter, "--web.config.file", str(config),
                                 "--web.listen-address", f"127.0.0.1:{node_port}",
                                 "--collector.disable-defaults", "--collector.time"], node_port,
                                open(directory / f"{name}.node_exporter.log", "w")),
    }
    try:
        with concurrent.futures.ThreadPoolExecutor(2) as pool:
            started = dict(zip(servers, pool.map(Server.started, servers.values())))
        outcomes = {"start": tuple("accepted" if started[s] else "refused" for s in servers)}
        if all(started.values()):
            with concurrent.futures.ThreadPoolExecutor(2) as pool:
                seen = list(pool.map(lambda server: observe(server, directory, tls), servers.values()))
            for check in seen[0]:
                outcomes[check] = (seen[0][check], seen[1][check])
        return outcomes
    finally:
        for server in servers.values():
            server.stop()


def read_deliberate(path):
    """[(file or *, check, reason)] from `file | check | reason` lines."""
    entries = []
    for line in path.read_text().splitlines():
        if line.strip() and not line.startswith("#"):
            file, check, reason = (part.strip() for part in line.split("|", 2))
            entries.append((file, check, reason))
    return entries


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--boot-exporter", default=os.environ.get("BOOT_EXPORTER", str(ROOT / ".build/debug/boot-exporter")))
    parser.add_argument("--node-exporter", default=shutil.which("prometheus-node-exporter") or "/usr/bin/prometheus-node-exporter")
    parser.add_argument("--only", action="append", help="run only this file (repeatable)")
    parser.add_argument("--verbose", action="store_true", help="print every check's outcomes, equal or not")
    args = parser.parse_args()
    for binary in (args.boot_exporter, args.node_exporter):
        if not os.access(binary, os.X_OK):
            sys.exit(f"compare.py: {binary} is not an executable (build boot-exporter; install prometheus-node-exporter)")
    deliberate = read_deliberate(HERE / "deliberate-differences.txt")
    readme = " ".join((ROOT / "docs" / "configuration.md").read_text().split())  # reasons may wrap there
    names = args.only or list(CONFIGURATIONS)
    started_at = time.monotonic()

    with tempfile.TemporaryDirectory(prefix="web-config-compare.") as temporary:
        directory = pathlib.Path(temporary)
        make_pki(directory)
        password_hash = crypt.crypt(PASSWORD, crypt.mksalt(crypt.METHOD_BLOWFISH, rounds=1024))
        for name in names:
            (directory / f"{name}.yml").write_text(CONFIGURATIONS[name].format(hash=password_hash))
        with concurrent.futures.ThreadPoolExecutor(3) as pool:
            results = dict(zip(names, pool.map(
                lambda name: run_file(name, directory, args.boot_exporter, args.node_exporter), names)))

    passed = failed = 0
    used = set()
    for name in names:
        differences = []
        for check, (ours, theirs) in results[name].items():
            if args.verbose:
                print(f"        . {name} {check}: boot-exporter {ours}, node_exporter {theirs}")
            if ours == theirs:
                continue
            reason = next((entry for entry in deliberate if entry[0] in (name, "*") and entry[1] == check), None)
            if reason:
                used.add(reason)
            differences.append((check, ours, theirs, reason))
        unexplained = [d for d in differences if d[3] is None]
        print(f"{'FAIL' if unexplained else 'ok  '}  {name}")
        for check, ours, theirs, reason in differences:
            note = "  (deliberate)" if reason else ""
            print(f"        {check}: boot-exporter {ours}, node_exporter {theirs}{note}")
        if unexplained:
            failed += 1
        else:
            passed += 1
    for entry in deliberate:
        if " ".join(entry[2].split()) not in readme:
            print(f"FAIL  deliberate difference not in docs/configuration.md: {entry[2]}")
            failed += 1
        if entry not in used and (entry[0] == "*" or entry[0] in names):
            print(f"note  deliberate difference not seen: {entry[0]} | {entry[1]}")
    print(f"web configuration comparison took {time.monotonic() - started_at:.0f} s")
    print(f"{passed} passed, {failed} failed")
    return 0 if failed == 0 else 1


if __name__ == "__main__":
    sys.exit(main())
