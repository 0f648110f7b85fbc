#!/usr/bin/env bash
# Counts the public declarations a user of `import Fovea` sees: those of the Fovea module and of
# every module it re-exports with `@_exported import` (read from Sources/Fovea/Exports.swift).
#
# Usage: Scripts/count-public-declarations.sh
# Prints one line per module (declarations by kind) and the total. A declaration is one symbol of
# `swift package dump-symbol-graph --minimum-access-level public`: a type, case, method, property,
# initialiser, operator, subscript or typealias.
set -euo pipefail
cd "$(dirname "$0")/.."

# The test modules' graphs can fail on a tree whose tests are not built; only the library's matter.
swift package dump-symbol-graph --minimum-access-level public >/dev/null 2>&1 || true
graphs=$(find .build -type d -name symbolgraph -path '*linux*' | head -n 1)
modules="Fovea $(sed -n 's/^@_exported import \([A-Za-z0-9_]*\).*/\1/p' Sources/Fovea/Exports.swift | tr '\n' ' ')"
for module in $modules; do
    if [ ! -f "$graphs/$module.symbols.json" ]; then
        echo "error: no symbol graph for $module in '$graphs' (does 'swift build' succeed?)" >&2
        exit 1
    fi
done

python3 - "$graphs" $modules <<'PY'
import glob, json, os, sys
graphs, modules = sys.argv[1], sys.argv[2:]
total = 0
for module in modules:
    files = glob.glob(os.path.join(graphs, module + ".symbols.json")) + \
            glob.glob(os.path.join(graphs, module + "@*.symbols.json"))
    kinds = {}
    for path in files:
        for symbol in json.load(open(path))["symbols"]:
            kind = symbol["kind"]["identifier"].removeprefix("swift.")
            kinds[kind] = kinds.get(kind, 0) + 1
    count = sum(kinds.values())
    total += count
    detail = ", ".join(f"{k} {v}" for k, v in sorted(kinds.items(), key=lambda kv: -kv[1]))
    print(f"{module:16} {count:5}  ({detail})")
print(f"{'total':16} {total:5}  public declarations seen by `import Fovea`")
PY
