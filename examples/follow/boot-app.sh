#!/bin/sh
# SPDX-License-Identifier: AGPL-3.0-or-later
# A real program booting under `boot-exporter follow`: it migrates a SQLite database through its
# schema versions, replays a change log into it, warms the pages of its hot table, then starts an
# HTTP server, reporting each step as one JSON event per line on standard output:
#
#   ./examples/follow/boot-app.sh /tmp/app 8080 | boot-exporter follow
#
# Everything else it prints goes to standard error.
set -eu
dir=${1:-/tmp/boot-app}
port=${2:-8080}
emit() { printf '%s\n' "$1"; }
sql() { python3 -c 'import sqlite3, sys; c = sqlite3.connect(sys.argv[1]); c.executescript(sys.argv[2]); c.commit()' "$dir/app.db" "$1"; }

emit '{"event":"start","mode":"normal"}'
mkdir -p "$dir"
emit '{"event":"progress","message":"data directory ready"}'

emit '{"event":"transition","phase":"migrate"}'
step=0
for migration in \
    "CREATE TABLE IF NOT EXISTS items (id INTEGER PRIMARY KEY, name TEXT);" \
    "CREATE TABLE IF NOT EXISTS changes (id INTEGER PRIMARY KEY, item INTEGER, name TEXT);" \
    "CREATE INDEX IF NOT EXISTS items_by_name ON items(name);"; do
    sql "$migration"
    step=$((step + 1))
    emit '{"event":"migration_step"}'
    emit "{\"event\":\"progress\",\"message\":\"schema step $step of 3\",\"items_processed\":$step,\"items_total\":3}"
done

emit '{"event":"transition","phase":"recover"}'
total=2000
sql "DELETE FROM changes; INSERT INTO changes (item, name) WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < $total) SELECT i, 'item ' || i FROM n;"
emit '{"event":"checkpoint","bytes":'"$(wc -c < "$dir/app.db")"'}'
done_count=0
while [ "$done_count" -lt "$total" ]; do
    sql "INSERT OR REPLACE INTO items (id, name) SELECT item, name FROM changes WHERE id > $done_count AND id <= $((done_count + 500));"
    done_count=$((done_count + 500))
    emit "{\"event\":\"wal\",\"records\":500,\"bytes\":$((500 * 16))}"
    emit "{\"event\":\"progress\",\"message\":\"replaying the change log\",\"items_processed\":$done_count,\"items_total\":$total}"
done
emit '{"event":"pages","count":'"$(( $(wc -c < "$dir/app.db") / 4096 ))"'}'

emit '{"event":"transition","phase":"warmup"}'
cat "$dir/app.db" > /dev/null
emit '{"event":"warmup_hit_ratio","ratio":1.0}'

python3 -m http.server "$port" --bind 127.0.0.1 --directory "$dir" >&2 2>/dev/null &
server=$!
trap 'kill $server 2>/dev/null' EXIT INT TERM
until python3 -c 'import sys, urllib.request; urllib.request.urlopen(sys.argv[1], timeout=1)' "http://127.0.0.1:$port/" 2>/dev/null; do
    kill -0 "$server" 2>/dev/null || { emit '{"event":"fail","reason":"the HTTP server exited during start"}'; exit 1; }
    sleep 0.1
done
emit '{"event":"transition","phase":"ready"}'
wait "$server"
