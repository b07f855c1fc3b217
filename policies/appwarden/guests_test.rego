# Unit tests of the guest API restrictions (SPEC §4): which route each action counts as, and that
# they bind guests only.
package appwarden_test

no_app_route := {"acme.example": org_with({"guests": {"api_via_apps": "deny"}})}

no_pat_route := {"acme.example": org_with({"guests": {"api_via_personal_access_tokens": "deny"}})}

api_input(subject, via) := {
	"subject": subject,
	"action": {"name": "api.use"},
	"resource": {"type": "api"},
	"context": {"org": "acme.example", "via": via},
	"facts": facts_at(june, defaults_only),
}

test_api_use_by_route if {
	code(api_input(guest, "app"), no_app_route) == "guest_api_restricted"
	decide(api_input(guest, "personal_access_token"), no_app_route).decision == true
	code(api_input(guest, "personal_access_token"), no_pat_route) == "guest_api_restricted"
	decide(api_input(guest, "app"), no_pat_route).decision == true
}

test_members_and_service_accounts_are_never_guests if {
	decide(api_input(member, "app"), no_app_route).decision == true
	with_bot := {"acme.example": object.union(no_app_route["acme.example"], {"service_accounts": {"ci-bot": {"owner": "ops@acme.example", "enabled": true}}})}
	decide(api_input({"type": "service_account", "id": "ci-bot", "properties": {"role": "guest"}}, "app"), with_bot).decision == true
}

test_a_service_account_using_the_api_must_be_declared_and_enabled if {
	bot := {"type": "service_account", "id": "ci-bot"}
	code(api_input(bot, "app"), no_app_route) == "service_account_unknown"
	disabled := {"acme.example": object.union(no_app_route["acme.example"], {"service_accounts": {"ci-bot": {"owner": "ops@acme.example", "enabled": false}}})}
	code(api_input(bot, "app"), disabled) == "service_account_disabled"
}

test_app_actions_are_the_app_route if {
	code(app_input("app.connect", guest, "A1"), no_app_route) == "guest_api_restricted"
	code(app_input("app.use", guest, "A1"), no_app_route) == "guest_api_restricted"
	decide(app_input("app.use", guest, "A1"), no_pat_route).decision == true
}

test_pats_are_the_pat_route if {
	guest_pat := json.patch(pat_use(june - days(1), june, defaults_only), [{"op": "replace", "path": "/subject", "value": guest}])
	code(guest_pat, no_pat_route) == "guest_api_restricted"
	code(create_input(guest, "personal_access", june, defaults_only), no_pat_route) == "guest_api_restricted"
	decide(create_input(guest, "personal_access", june, defaults_only), no_app_route).decision == true
}

test_guest_restriction_before_token_rules if {
	off := {"acme.example": object.union(no_pat_route["acme.example"], {"tokens": {"personal_access_tokens": "disabled"}})}
	off_history := epochs([[null, null, "disabled"]])
	code(create_input(guest, "personal_access", june, off_history), off) == "guest_api_restricted"
	code(create_input(member, "personal_access", june, off_history), off) == "pats_disabled"
}
