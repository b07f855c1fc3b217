#!/usr/bin/env bash
# Builds policies/policy.wasm from the Rego policy (SPEC §2): opa fmt, opa check --strict, then
# opa build -t wasm with the builtins the Wasm runtime really has (policies/capabilities.json).
#
#   bash scripts/build-policy.sh               rebuild policies/policy.wasm
#   bash scripts/build-policy.sh --check       exit 1 when the committed policy.wasm is stale
#   bash scripts/build-policy.sh --capabilities  regenerate policies/capabilities.json (docs/rego.md)
set -euo pipefail
cd "$(dirname "$0")/.."
root="$(pwd)"
opa="$root/.tools/bin/opa"
caps="policies/capabilities.json"
out="policies/policy.wasm"
entrypoint="appwarden/decision"

bash scripts/install-opa.sh

mode="${1:-build}"
case "$mode" in
  build | --check | --capabilities) ;;
  *) echo "usage: build-policy.sh [--check | --capabilities]" >&2; exit 2 ;;
esac

tmp="$(mktemp -d)"
trap 'rm -rf "$tmp"' EXIT

if [ "$mode" = "--capabilities" ]; then
  # The Wasm target runs a builtin natively when OPA's Wasm compiler maps it to a C function
  # (builtinsFunctions in internal/compiler/wasm/wasm.go); any other builtin becomes a call into
  # the host, which @open-policy-agent/opa-wasm answers only for the few in src/builtins/.
  # Everything else would be undefined at run time, so it must not compile at all.
  version="$("$opa" version | sed -n 's/^Version: //p')"
  src="$(go env GOMODCACHE)/github.com/open-policy-agent/opa@v$version"
  if [ ! -f "$src/internal/compiler/wasm/wasm.go" ]; then
    (cd "$tmp" && go mod init caps >/dev/null 2>&1 && GOFLAGS=-mod=mod go mod download "github.com/open-policy-agent/opa@v$version")
  fi
  "$opa" capabilities --version "v$version" >"$tmp/all.json"
  node - "$src" "$tmp/all.json" node_modules/@open-policy-agent/opa-wasm/src/builtins >"$tmp/caps.json" <<'EOF'
const fs = require('node:fs');
const path = require('node:path');
const [src, allFile, sdkDir] = process.argv.slice(2);
const wasmGo = fs.readFileSync(path.join(src, 'internal/compiler/wasm/wasm.go'), 'utf8');
const table = /var builtinsFunctions = map\[string\]string\{([\s\S]*?)\n\}/.exec(wasmGo);
if (!table) throw new Error('builtinsFunctions not found in wasm.go');
const idents = [...table[1].matchAll(/ast\.(\w+)\.Name/g)].map((m) => m[1]);
const decls = fs.readFileSync(path.join(src, 'v1/ast/builtins.go'), 'utf8');
const names = new Set(['eq', 'assign']); // unification and := are planned inline, not called
for (const id of idents) {
  const m = new RegExp(`^var ${id} = &Builtin\\{\\s*Name:\\s*"([^"]+)"`, 'm').exec(decls);
  if (!m) throw new Error(`no declaration for ast.${id}`);
  names.add(m[1]);
}
for (const f of fs.readdirSync(sdkDir)) {
  // Each SDK file exports an object literal keyed by builtin name; index.js only spreads them.
  const text = fs.readFileSync(path.join(sdkDir, f), 'utf8').replace(/\/\/.*$/gm, '');
  const body = /module\.exports\s*=\s*\{([\s\S]*?)\}/.exec(text);
  for (const part of body ? body[1].split(',') : []) {
    const key = part.trim().split(':')[0].trim().replace(/^"(.*)"$/, '$1');
    if (key !== '' && !key.startsWith('...')) names.add(key);
  }
}
const all = JSON.parse(fs.readFileSync(allFile, 'utf8'));
const known = new Set(all.builtins.map((b) => b.name));
for (const n of names) if (!known.has(n)) names.delete(n);
all.builtins = all.builtins.filter((b) => names.has(b.name)).sort((a, b) => (a.name < b.name ? -1 : 1));
process.stdout.write(`${JSON.stringify(all, null, 2)}\n`);
EOF
  mv "$tmp/caps.json" "$caps"
  echo "build-policy: wrote $caps ($(jq '.builtins | length' "$caps") builtins)"
  exit 0
fi

mapfile -t sources < <(find policies/appwarden -name '*.rego' ! -name '*_test.rego' | LC_ALL=C sort)
[ "${#sources[@]}" -gt 0 ] || { echo "build-policy: no policy files in policies/appwarden" >&2; exit 1; }

"$opa" fmt --list --fail policies/appwarden >"$tmp/fmt" || {
  echo "build-policy: not formatted (run: .tools/bin/opa fmt -w policies/appwarden):" >&2
  cat "$tmp/fmt" >&2
  exit 1
}
"$opa" check --strict policies/appwarden

# The capabilities file must reject what the Wasm runtime cannot run: a probe that calls
# http.send has to fail to build, or the file lets undefined-at-run-time builtins through.
mkdir -p "$tmp/probe"
printf 'package probe\n\nallow if http.send({"method": "GET", "url": "http://127.0.0.1/"}).status_code == 200\n' \
  >"$tmp/probe/probe.rego"
if "$opa" build -t wasm -e probe/allow --capabilities "$caps" -o "$tmp/probe.tar.gz" "$tmp/probe/probe.rego" \
  >"$tmp/probe.log" 2>&1; then
  echo "build-policy: $caps lets http.send through; it must list only Wasm-supported builtins" >&2
  exit 1
fi
grep -q 'undefined function http.send' "$tmp/probe.log" || {
  echo "build-policy: the http.send probe failed for another reason:" >&2
  cat "$tmp/probe.log" >&2
  exit 1
}

"$opa" build -t wasm -e "$entrypoint" --capabilities "$caps" -o "$tmp/bundle.tar.gz" "${sources[@]}"
tar -xzf "$tmp/bundle.tar.gz" -C "$tmp" /policy.wasm 2>/dev/null || tar -xzf "$tmp/bundle.tar.gz" -C "$tmp" policy.wasm

if [ "$mode" = "--check" ]; then
  if ! cmp -s "$tmp/policy.wasm" "$out"; then
    echo "policy.wasm is stale: run npm run build:policy" >&2
    exit 1
  fi
  echo "build-policy: $out is up to date"
  exit 0
fi

install -m 644 "$tmp/policy.wasm" "$out"
echo "build-policy: wrote $out ($(wc -c <"$out") bytes, sha256 $(sha256sum "$out" | cut -c1-16))"
