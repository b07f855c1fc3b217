# Unit tests of the app rules (SPEC §4): blocks here and from other orgs, approval mode, and
# their precedence.
package appwarden_test

blocking := {
	"acme.example": org_with({"apps": {"blocked": {"A1": {"name": "FileSync Pro", "reason": "data leaves the company"}}}}),
	"beta.example": org_with({"apps": {"blocked": {"A2": {"name": "Beta Block"}, "A3": {}}}}),
	"alpha.example": org_with({"apps": {"blocked": {"A3": {"name": "Alpha Block"}}}}),
	"local.example": org_with({"apps": {"block_scope": "this_org", "blocked": {"A4": {}}}}),
	"strict.example": org_with({"apps": {"mode": "require_approval", "approved": {"OK1": {"name": "Calendar"}}, "blocked": {"A5": {}}}}),
}

all_orgs := ["acme.example", "beta.example", "alpha.example", "local.example", "strict.example"]

in_org(inp, org) := json.patch(inp, [{"op": "replace", "path": "/context/org", "value": org}])

test_blocked_here_names_the_org_and_reason if {
	d := decide(app_input("app.connect", member, "A1"), blocking)
	d.decision == false
	d.context.reason.code == "app_blocked"
	d.context.blocked_by == "acme.example"
	d.context.reason.message == "app FileSync Pro (A1) is blocked in acme.example: data leaves the company"
}

test_block_follows_user_from_other_org if {
	d := decide(app_input("app.use", user_in("member", all_orgs), "A2"), blocking)
	d.context.reason.code == "app_blocked_in_other_org"
	d.context.blocked_by == "beta.example"
}

test_block_does_not_follow_users_who_are_not_members_there if {
	d := decide(app_input("app.use", user_in("member", ["acme.example"]), "A2"), blocking)
	d.decision == true
}

test_this_org_block_scope_stays_home if {
	decide(app_input("app.connect", user_in("member", all_orgs), "A4"), blocking).decision == true
	code(in_org(app_input("app.connect", user_in("member", all_orgs), "A4"), "local.example"), blocking) == "app_blocked"
}

test_smallest_blocking_org_is_named if {
	d := decide(app_input("app.connect", user_in("member", all_orgs), "A3"), blocking)
	d.context.blocked_by == "alpha.example"
}

test_unknown_orgs_in_the_user_list_are_ignored if {
	decide(app_input("app.connect", user_in("member", ["nowhere.example", "acme.example"]), "A9"), blocking).decision == true
}

test_not_approved_carries_approval_request_on_connect_only if {
	connect := decide(in_org(app_input("app.connect", member, "NEW"), "strict.example"), blocking)
	connect.context.reason.code == "app_not_approved"
	connect.context.approval_request == {"org": "strict.example", "app": "NEW"}
	use := decide(in_org(app_input("app.use", member, "NEW"), "strict.example"), blocking)
	use.context.reason.code == "app_not_approved"
	not use.context.approval_request
	decide(in_org(app_input("app.use", member, "OK1"), "strict.example"), blocking).decision == true
}

test_not_approved_does_not_follow_users if {
	# NEW is not approved in strict.example, which the user belongs to; acme.example allows all.
	decide(app_input("app.connect", user_in("member", all_orgs), "NEW"), blocking).decision == true
}

test_app_precedence if {
	# app_blocked before app_blocked_in_other_org and app_not_approved
	here := in_org(app_input("app.connect", user_in("guest", all_orgs), "A5"), "strict.example")
	strict_blocks_a2 := object.union(blocking, {"strict.example": {"apps": {"blocked": {"A2": {}}}}})
	code(here, blocking) == "app_blocked"
	code(in_org(app_input("app.connect", user_in("guest", all_orgs), "A2"), "strict.example"), strict_blocks_a2) == "app_blocked"

	# app_blocked_in_other_org before app_not_approved and guest_api_restricted
	no_guests := object.union(blocking, {"strict.example": {"guests": {"api_via_apps": "deny"}}})
	code(in_org(app_input("app.connect", user_in("guest", all_orgs), "A2"), "strict.example"), no_guests) == "app_blocked_in_other_org"

	# app_not_approved before guest_api_restricted
	code(in_org(app_input("app.connect", user_in("guest", all_orgs), "NEW"), "strict.example"), no_guests) == "app_not_approved"
}

test_unknown_org_comes_first if {
	d := decide(in_org(app_input("app.connect", user_in("member", all_orgs), "A2"), "ghost.example"), blocking)
	d.context.reason.code == "org_unknown"
	d.decision == false
}

test_rule_trigger if {
	inp := {
		"subject": {"type": "external_service", "id": "zapier"},
		"action": {"name": "rule.trigger"},
		"resource": {"type": "rule", "id": "R1"},
		"context": {"org": "acme.example"},
		"facts": facts_at(june, defaults_only),
	}
	decide(inp, blocking).decision == true
	closed := {"acme.example": org_with({"automation": {"external_webhook_rules": "deny"}})}
	code(inp, closed) == "external_automation_disabled"
}
