# Runs every shared decision case (policies/testdata/cases.gen.json, DESIGN §4) in OPA's
# interpreter; test/decision-cases.test.ts runs the same cases through the Wasm.
package appwarden_test

import data.appwarden

# The generated file is loaded at the data root: {datasets, cases}.
cases_loaded if data.cases

# Names (and where they come from) of the cases whose decision differs from `want`.
failing_cases contains sprintf("%s (%s:%v): want %v, got %v", [c.name, c.file, c.line, c.want, got]) if {
	some c in data.cases
	got := appwarden.decision with input as c.input with data.orgs as data.datasets[c.dataset].orgs
	not matches(got, c.want, c.input)
}

matches(got, want, inp) if {
	got.decision == want.decision
	got.context.reason.code == want.code
	optional(want, "blocked_by") == optional(got.context, "blocked_by")
	optional(want, "expires_at") == optional(object.get(got.context, "advice", {}), "expires_at")
	optional(want, "warning") == optional(object.get(got.context, "advice", {}), "warning")
	approval_request_matches(want, got.context, inp)
}

# A field the case leaves out (or sets to null) must be absent from the decision too.
optional(obj, key) := object.get(obj, key, null)

approval_request_matches(want, ctx, inp) if {
	want.approval_request == true
	ctx.approval_request == {"org": inp.context.org, "app": inp.resource.id}
}

approval_request_matches(want, ctx, _) if {
	not want.approval_request == true
	not ctx.approval_request
}

# Passes without cases only while the generator has not produced the file; once it exists the
# cases must be there and must all match.
test_decision_cases if all_cases_pass

all_cases_pass if {
	not cases_loaded
	print("decision cases: policies/testdata/cases.gen.json not generated yet (npm run gen)")
}

all_cases_pass if {
	cases_loaded
	count(data.cases) > 0
	print("decision cases:", count(data.cases), "run,", count(failing_cases), "failing")
	print_failures
	count(failing_cases) == 0
}

print_failures if {
	every failure in failing_cases {
		print("FAILING CASE:", failure)
	}
}
