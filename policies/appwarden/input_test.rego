# Unit tests of input handling: anything the policy does not understand is a deny with reason
# invalid_input naming the field, never an allow and never undefined.
package appwarden_test

import data.appwarden

valid_app := app_input("app.connect", member, "A9")

without(inp, path) := json.patch(inp, [{"op": "remove", "path": path}])

with_value(inp, path, value) := json.patch(inp, [{"op": "add", "path": path, "value": value}])

denied_as_invalid(inp, needle) if {
	d := decide(inp, {"acme.example": default_org})
	d.decision == false
	d.context.reason.code == "invalid_input"
	contains(d.context.reason.message, needle)
}

test_the_valid_base_input_is_allowed if {
	decide(valid_app, {"acme.example": default_org}).decision == true
}

test_unknown_action if {
	denied_as_invalid(with_value(valid_app, "/action/name", "app.delete"), "unknown action \"app.delete\"")
}

test_missing_fields if {
	denied_as_invalid(without(valid_app, "/action"), "action.name")
	denied_as_invalid(without(valid_app, "/context/org"), "context.org")
	denied_as_invalid(without(valid_app, "/resource/id"), "resource.id")
	denied_as_invalid(without(valid_app, "/subject/properties/role"), "role")
	denied_as_invalid(without(valid_app, "/facts"), "facts.now")
	denied_as_invalid(with_value(valid_app, "/resource/type", "token"), "resource.type must be \"app\"")
	denied_as_invalid(with_value(valid_app, "/subject/properties/orgs", "acme.example"), "orgs")
	denied_as_invalid(with_value(valid_app, "/subject/properties/orgs", [1]), "orgs")
	denied_as_invalid(with_value(valid_app, "/subject/properties/joined_at", "2026-01-01"), "joined_at")
}

test_token_fields if {
	use := pat_use(june - days(1), june, defaults_only)
	denied_as_invalid(without(use, "/resource/properties/created_at"), "created_at")
	denied_as_invalid(with_value(use, "/resource/properties/kind", "oauth"), "kind")
	denied_as_invalid(without(use, "/facts/token_revoked"), "token_revoked")
	denied_as_invalid(without(use, "/facts/history"), "facts.history")
	denied_as_invalid(with_value(use, "/facts/history/0/expiration_days", 0), "facts.history[0]")
	denied_as_invalid(without(use, "/facts/history/0/personal_access_tokens"), "facts.history[0]")
	denied_as_invalid(without(use, "/facts/history/0/start"), "facts.history[0]")
	denied_as_invalid(with_value(use, "/facts/history/-", {"start": null, "expiration_days": null, "personal_access_tokens": "enabled"}), "facts.history[1]")
	unordered := epochs([[null, null, "enabled"], [june, 30, "enabled"], [june - 1, 30, "enabled"]])
	denied_as_invalid(pat_use(june - days(1), june, unordered), "facts.history[2]")
	sa := sa_use("ci-bot", june - days(1), june)
	denied_as_invalid(without(sa, "/resource/properties/service_account"), "service_account")
}

test_api_use_needs_a_route if {
	inp := {
		"subject": member, "action": {"name": "api.use"}, "resource": {"type": "api"},
		"context": {"org": "acme.example", "via": "carrier_pigeon"}, "facts": facts_at(june, defaults_only),
	}
	denied_as_invalid(inp, "context.via")
}

test_every_problem_is_named if {
	d := decide({"action": {"name": "app.use"}}, {})
	d.context.reason.code == "invalid_input"
	contains(d.context.reason.message, "context.org")
	contains(d.context.reason.message, "subject.id")
	contains(d.context.reason.message, "resource.id")
}

test_garbage_is_denied if {
	decide("not an object", {}).decision == false
	decide([], {}).decision == false
	d := appwarden.decision with input as {}
	d.decision == false
}

# Data the policy cannot read (a missing setting) must deny, not fall through to an allow.
test_missing_settings_fail_closed if {
	broken := {"acme.example": object.remove(default_org, ["guests", "automation"])}
	code(app_input("app.use", guest, "A1"), broken) == "guest_api_restricted"
	no_mode := {"acme.example": json.remove(default_org, ["apps/mode"])}
	code(valid_app, no_mode) == "app_not_approved"

	# PATs are on only when the epoch in force says so explicitly.
	no_pats := {"acme.example": json.remove(default_org, ["tokens/personal_access_tokens"])}
	code(pat_use(june - days(1), june, epochs([[null, null, "disabled"]])), no_pats) == "pats_disabled"
}

# Nothing decides (no history and no token settings to stand in for it): a deny, never undefined.
test_undecidable_input_is_denied if {
	no_tokens := {"acme.example": object.union(object.remove(default_org, ["tokens"]), {"service_accounts": {"ci-bot": {"owner": "ops@acme.example", "enabled": true}}})}
	d := decide(create_input(member, "service_account", june, []), no_tokens)
	d.decision == false
	d.context.reason.code == "evaluation_undefined"
}
