#!/usr/bin/env bash
# Installs the pinned OPA toolchain into .tools/bin (from the Go module proxy) when it is missing
# or of another version. Used by the policy build, the Rego tests, the cross-check tests and bench.
set -euo pipefail
OPA_VERSION="${OPA_VERSION:-v1.22.3}"
root="$(cd "$(dirname "$0")/.." && pwd)"
bin="$root/.tools/bin/opa"
# Read the version into a variable first: `opa version | grep -q` under pipefail fails whenever grep
# exits before opa finishes writing (SIGPIPE), which made this script reinstall a good binary.
if [ -x "$bin" ]; then
  have="$("$bin" version 2>/dev/null || true)"
  if grep -qx "Version: ${OPA_VERSION#v}" <<<"$have"; then
    exit 0
  fi
fi
command -v go >/dev/null || { echo "install-opa: go is needed to install opa $OPA_VERSION (https://go.dev/dl)" >&2; exit 1; }
echo "install-opa: installing opa $OPA_VERSION into .tools/bin" >&2
mkdir -p "$root/.tools/bin"
GOBIN="$root/.tools/bin" GOFLAGS=-mod=mod go install "github.com/open-policy-agent/opa@$OPA_VERSION"
# Not `| head -1`: under pipefail opa's SIGPIPE when head exits early failed a good install (seen in CI).
installed="$("$bin" version)"
printf '%s\n' "${installed%%$'\n'*}" >&2
