# SPDX-License-Identifier: AGPL-3.0-or-later

import json

def emit(event, **fields):  # the whole protocol: one JSON object per line on standard output
    print(json.dumps({"event": event, **fields}), flush=True)

emit("start", mode="normal")
emit("transition", phase="migrate"); emit("migration_step")
emit("transition", phase="recover")
for done in range(0, 10_001, 2_500):
    emit("progress", message="replaying", items_processed=done, items_total=10_000)
emit("transition", phase="ready")
