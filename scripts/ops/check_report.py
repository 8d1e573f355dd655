# SPDX-License-Identifier: AGPL-3.0-or-later
"""Prints one line per check and appends PASS/FAIL to the file named by $OPS_RESULTS, which
scripts/check-ops.sh counts for its closing line."""
import os
import sys


class CheckReport:
    def __init__(self):
        self.passed = 0
        self.failures = 0
        self._results = os.environ.get("OPS_RESULTS")

    def _record(self, status, name):
        if self._results:
            with open(self._results, "a", encoding="utf-8") as f:
                f.write(f"{status} {name}\n")

    def ok(self, name):
        self.passed += 1
        print(f"  ok    {name}", flush=True)
        self._record("PASS", name)

    def fail(self, name, why=""):
        self.failures += 1
        print(f"  FAIL  {name}" + (f"\n          {why}" if why else ""), flush=True)
        self._record("FAIL", name)

    def check(self, condition, name, why=""):
        """Records `name` as passed when `condition` holds, else as failed with `why`."""
        if condition:
            self.ok(name)
        else:
            self.fail(name, why)
        return bool(condition)

    @staticmethod
    def note(text):
        print(f"  note  {text}", flush=True)

    @staticmethod
    def skip(text):
        print(f"  skip  {text}", flush=True)

    def exit(self):
        sys.exit(1 if self.failures else 0)
