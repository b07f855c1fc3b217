#!/usr/bin/env bash
# Runs the Rego unit tests and the shared decision cases in OPA's interpreter.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/install-opa.sh
if ! ls policies/appwarden/*_test.rego >/dev/null 2>&1; then echo "PASS: 0/0"; exit 0; fi
exec .tools/bin/opa test -v policies/appwarden $(ls policies/testdata/cases.gen.json 2>/dev/null)
