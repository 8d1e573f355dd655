// SPDX-License-Identifier: AGPL-3.0-or-later

package main

import (
	"encoding/json"
	"os"
)

var events = json.NewEncoder(os.Stdout) // Encode writes one JSON object and a newline

func emit(event map[string]any) { _ = events.Encode(event) }

func main() {
	emit(map[string]any{"event": "start", "mode": "normal"})
	emit(map[string]any{"event": "transition", "phase": "migrate"})
	emit(map[string]any{"event": "migration_step"})
	emit(map[string]any{"event": "transition", "phase": "recover"})
	for done := 0; done <= 10000; done += 2500 {
		emit(map[string]any{"event": "progress", "message": "replaying", "items_processed": done, "items_total": 10000})
	}
	emit(map[string]any{"event": "wal", "records": 10000, "bytes": 640000})
	emit(map[string]any{"event": "transition", "phase": "ready"})
}
