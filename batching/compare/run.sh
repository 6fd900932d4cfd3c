#!/bin/sh
# Runs the batching package's benchmarks and the same workloads on
# vikstrous/dataloadgen and graph-gophers/dataloader in one go, then prints
# the medians and the ratios.
#
#   batching/compare/run.sh [COUNT]     # COUNT runs of each (default 5)
#
# Wall-clock figures move with whatever else the machine is doing; the
# cpu-ns/key column (CPU time of the whole process per key) is steadier.
set -eu
cd "$(dirname "$0")"
count=${1:-5}
out=$(mktemp)
trap 'rm -f "$out"' EXIT

echo "== batching (one long-lived batcher)"
(cd ../.. && go test -run '^$' -bench . -benchmem -count "$count" ./batching) | tee "$out"
echo "== comparison"
go test -run '^$' -bench . -benchmem -count "$count" . | tee -a "$out"
echo
awk -f ratios.awk "$out"
