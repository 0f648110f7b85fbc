#!/usr/bin/env bash
# Builds and runs Examples/ResearchDemo the way a user's package gets Fovea: by URL, with README's
# line `.package(url: …, branch: "main")` (the repository has no release tag yet), against a
# snapshot of this working tree (tracked and untracked-but-not-ignored files) committed on a branch
# `main` of a temporary git repository; then the same with `from: "0.1.0"` against that snapshot
# tagged 0.1.0, the line users will write once Fovea is tagged.
#
# Why not simply `swift run --package-path Examples/ResearchDemo`: that resolves Fovea by path, and
# SwiftPM lets path (and branch) dependencies use unsafe compiler flags, so a library target with
# unsafe flags would still build there. As a versioned dependency it fails ("the target 'Fovea' in
# product 'Fovea' contains unsafe build flags"), as it would for users; a lost `public` fails every way.
#
# Usage: Scripts/run-example-as-dependency.sh [extra `swift run` arguments, e.g. -c release]
set -euo pipefail
root="$(cd "$(dirname "$0")/.." && pwd)"
example="$root/Examples/ResearchDemo"
work="$(mktemp -d "${TMPDIR:-/tmp}/fovea-example.XXXXXX")"
trap 'rm -rf "$work"' EXIT

# The library as a user would fetch it: this tree, tagged 0.1.0.
mkdir "$work/fovea"
(cd "$root" && git ls-files -z --cached --others --exclude-standard \
    | while IFS= read -r -d '' file; do [ -e "$file" ] && printf '%s\0' "$file"; done \
    | xargs -0 cp --parents -t "$work/fovea")
git -C "$work/fovea" init -q -b main
git -C "$work/fovea" add -A
git -C "$work/fovea" -c user.name=ci -c user.email=ci@localhost commit -q -m "snapshot of $root"
git -C "$work/fovea" tag 0.1.0

# The example, with its path dependency replaced by README's URL form (branch), then by the
# versioned form.
path_form='.package(name: "fovea", path: "../..")'
for url_form in ".package(url: \"file://$work/fovea\", branch: \"main\")" ".package(url: \"file://$work/fovea\", from: \"0.1.0\")"; do
rm -rf "$work/consumer"
mkdir "$work/consumer"
cp -R "$example/Package.swift" "$example/Sources" "$work/consumer/"
grep -qF "$path_form" "$work/consumer/Package.swift" || {
    echo "error: $example/Package.swift no longer contains '$path_form'; update $0" >&2
    exit 1
}
python3 - "$work/consumer/Package.swift" "$path_form" "$url_form" <<'PY'
import sys
path, old, new = sys.argv[1:]
text = open(path).read()
open(path, "w").write(text.replace(old, new))
PY
echo "ResearchDemo with $url_form"
swift run --package-path "$work/consumer" "$@" ResearchDemo
done
