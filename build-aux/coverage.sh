#!/bin/sh
# Prints line coverage per file, then per top-level folder, of the code under
# test (tests/ and tools/ excluded). Usage: coverage.sh SRCDIR BUILDDIR
set -e
src=$(cd "$1" && pwd)
build=$(cd "$2" && pwd)
json=$build/coverage.json
gcovr --root "$src" --object-directory "$build" --exclude "$src/tests/" \
	--exclude "$src/tools/" --txt - --json "$json" "$build"
python3 - "$json" <<'PY'
import json, sys
data = json.load(open(sys.argv[1]))
folders = {}
total = [0, 0]
for f in data["files"]:
    name = f["file"]
    lines = [l for l in f["lines"] if not l.get("gcovr/noncode")]
    n = len(lines)
    hit = sum(1 for l in lines if l["count"] > 0)
    parts = name.split("/")
    key = "/".join(parts[:2]) + "/" if parts[0] == "coordd" and len(parts) > 2 else parts[0] + "/"
    c = folders.setdefault(key, [0, 0])
    c[0] += hit; c[1] += n
    total[0] += hit; total[1] += n
print("\nLine coverage by folder:")
for k in sorted(folders):
    h, n = folders[k]
    print("  %-16s %6d/%-6d %5.1f%%" % (k, h, n, 100.0 * h / n if n else 100.0))
h, n = total
print("  %-16s %6d/%-6d %5.1f%%" % ("TOTAL", h, n, 100.0 * h / n if n else 100.0))
PY
