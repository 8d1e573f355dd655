# SPDX-License-Identifier: AGPL-3.0-or-later

emit() { printf '%s\n' "$1"; }  # the whole protocol: one JSON object per line on standard output
emit '{"event":"start","mode":"normal"}'
emit '{"event":"transition","phase":"migrate"}'
emit '{"event":"migration_step"}'
emit '{"event":"transition","phase":"recover"}'
for items in 0 2500 5000 7500 10000; do
    emit "{\"event\":\"progress\",\"message\":\"replaying\",\"items_processed\":$items,\"items_total\":10000}"
done
emit '{"event":"transition","phase":"ready"}'
