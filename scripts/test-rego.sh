#!/usr/bin/env bash
# Runs the Rego unit tests and the shared decision cases in OPA's interpreter (docs/rego.md), after
# checking that the Rego (tests included) is opa-fmt formatted and passes opa check --strict.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/install-opa.sh
opa=.tools/bin/opa
if ! ls policies/appwarden/*_test.rego >/dev/null 2>&1; then echo "PASS: 0/0"; exit 0; fi
if ! unformatted="$("$opa" fmt --list --fail policies/appwarden)"; then
  echo "test-rego: not formatted (run: $opa fmt -w policies/appwarden): $unformatted" >&2
  exit 1
fi
"$opa" check --strict policies/appwarden
# The generated cases load at the data root ({datasets, cases}); without them cases_test.rego
# passes with a note, until `npm run gen` has produced the file.
exec "$opa" test -v policies/appwarden $(ls policies/testdata/cases.gen.json 2>/dev/null)
