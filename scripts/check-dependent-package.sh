#!/usr/bin/env bash
# Checks that a package depending on SmallMind the way the README says builds and generates text,
# and that a versioned dependency is refused (SwiftPM rejects `unsafeFlags` in packages depended on
# by version; see Package.swift).
#
# It clones this repository's committed HEAD (not uncommitted changes) into a scratch folder as
# `SmallMind.git`, then builds and runs three scratch packages against it:
#   1. a branch dependency   .package(url: "file://…/SmallMind.git", branch: "<current branch>")
#   2. a path dependency     .package(path: "…/SmallMind")
#   3. a version dependency  .package(url: "file://…/SmallMind.git", from: "0.1.0")   — must fail
# Packages 1 and 2 generate text with the demo model and must print it.
#
# usage: scripts/check-dependent-package.sh [--keep]
# Each build compiles SmallMind from scratch (a few minutes for the first, the second reuses
# nothing): too slow for every CI run, so CI does not run it. It needs swift-argument-parser to
# resolve (SmallMind's manifest names it), from the network or SwiftPM's cache.
set -euo pipefail
repo=$(cd "$(dirname "$0")/.." && pwd)
keep=${1:-}
work=$(mktemp -d "${TMPDIR:-/tmp}/smallmind-dependent.XXXXXX")
if [ "$keep" != "--keep" ]; then trap 'rm -rf "$work"' EXIT; else echo "scratch folder: $work"; fi

branch=$(git -C "$repo" rev-parse --abbrev-ref HEAD)
git clone --quiet --bare "$repo" "$work/SmallMind.git"
git clone --quiet --branch "$branch" "$work/SmallMind.git" "$work/SmallMind"
git -C "$work/SmallMind.git" tag 0.1.0 "$branch"

# A scratch package named $1 whose dependency line is $2.
scratch() {
    local name=$1 dependency=$2
    mkdir -p "$work/$name/Sources/App"
    cat > "$work/$name/Package.swift" <<EOF
// swift-tools-version: 6.0
import PackageDescription

let package = Package(
    name: "App",
    platforms: [.macOS(.v15)],
    dependencies: [
        $dependency,
    ],
    targets: [
        .executableTarget(name: "App", dependencies: [.product(name: "SmallMind", package: "SmallMind")]),
    ]
)
EOF
    cat > "$work/$name/Sources/App/main.swift" <<'EOF'
import SmallMind

let model = Model.demo()
let completion = try model.generate("Once upon a time", GenerationParameters(maxTokens: 24, temperature: 0.8, seed: 1))
print(completion.text)
print("finish: \(completion.finishReason), \(completion.tokens.count) tokens")
EOF
}

run() {
    local name=$1
    echo "== $name: swift run"
    local output
    output=$(cd "$work/$name" && swift run -c release App 2>"$work/$name.log") || { cat "$work/$name.log" >&2; echo "FAIL: $name did not build or run" >&2; exit 1; }
    echo "$output"
    case "$output" in
        "Once upon a time"*"finish: length, 24 tokens"*) echo "ok: $name generated text" ;;
        *) echo "FAIL: $name printed something else" >&2; exit 1 ;;
    esac
}

scratch branch ".package(url: \"file://$work/SmallMind.git\", branch: \"$branch\")"
scratch path ".package(path: \"$work/SmallMind\")"
scratch version ".package(url: \"file://$work/SmallMind.git\", from: \"0.1.0\")"

run branch
run path

# Resolution succeeds; loading the package graph for a build is where SwiftPM refuses (in seconds,
# before compiling anything).
echo "== version: swift build (must be refused)"
if (cd "$work/version" && swift build >"$work/version.log" 2>&1); then
    cat "$work/version.log"
    echo "FAIL: a versioned dependency resolved; update the README's note on unsafeFlags" >&2
    exit 1
fi
grep -i "unsafe build flags" "$work/version.log" || { cat "$work/version.log" >&2; echo "FAIL: refused, but not for unsafe flags" >&2; exit 1; }
echo "ok: the versioned dependency is refused for unsafe build flags"
