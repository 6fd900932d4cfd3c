#!/usr/bin/env bash
# Recalculate every workbook in a folder with xlbatch fill.
#
#   examples/recalc-folder.sh DIR            # fill each workbook in place
#   examples/recalc-folder.sh DIR OUTDIR     # write filled copies to OUTDIR
#
# Extra fill flags go in XLBATCH_FILL_FLAGS, e.g. XLBATCH_FILL_FLAGS="--only-missing".
# The xlbatch binary is taken from $XLBATCH, else from PATH, else built with go run.
# Each workbook is filled on its own; answers are cached, so the same address in
# several workbooks is looked up once. Exit status: 0 all filled; 1 some cells hold
# errors or were left untouched; 2 some workbooks could not be filled.
set -u

if [ $# -lt 1 ] || [ $# -gt 2 ] || [ ! -d "$1" ]; then
	echo "usage: $0 DIR [OUTDIR]" >&2
	exit 2
fi
dir=$1
outdir=${2:-}
if [ -n "$outdir" ]; then
	mkdir -p "$outdir" || exit 2
fi

if [ -n "${XLBATCH:-}" ]; then
	xlbatch=("$XLBATCH")
elif command -v xlbatch >/dev/null 2>&1; then
	xlbatch=(xlbatch)
else
	here=$(cd "$(dirname "$0")/.." && pwd)
	xlbatch=(go run "$here/cmd/xlbatch")
fi
read -r -a flags <<<"${XLBATCH_FILL_FLAGS:-}"

worst=0 count=0
shopt -s nullglob nocaseglob
for book in "$dir"/*.xlsx "$dir"/*.xlsm; do
	name=$(basename "$book")
	case "$name" in
	'~$'* | .*) continue ;; # Excel lock files and hidden temporaries
	esac
	count=$((count + 1))
	if [ -n "$outdir" ]; then
		"${xlbatch[@]}" fill --progress never "${flags[@]}" "$book" -o "$outdir/$name"
	else
		"${xlbatch[@]}" fill --progress never "${flags[@]}" --in-place "$book"
	fi
	status=$?
	case $status in
	0) ;;
	1) echo "$name: some cells hold errors or were left untouched (see above)" >&2 ;;
	*) echo "$name: not filled (exit $status)" >&2 ;;
	esac
	if [ "$status" -gt "$worst" ]; then
		worst=$status
	fi
done
echo "recalculated $count workbook(s) in $dir" >&2
exit "$worst"
