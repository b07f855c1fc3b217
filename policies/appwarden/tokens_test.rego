# Unit tests of the token rules (SPEC §4/§5): expiry over history, join time, PATs off and on,
# revocation, tokens from the future, service accounts, advice.
package appwarden_test

import data.appwarden

acme := {"acme.example": org_with({"service_accounts": {
	"ci-bot": {"name": "CI", "owner": "ops@acme.example", "enabled": true},
	"old-sync": {"name": "Old", "owner": "ops@acme.example", "enabled": false},
}})}

# SPEC §5 worked examples: token created, history of tokens.expiration, expiry.
worked_examples := [
	{"created": "2026-01-10", "history": [], "expiry": "2036-01-08"},
	{"created": "2026-01-10", "history": [["2026-03-01", 30]], "expiry": "2026-03-31"},
	{"created": "2026-03-05", "history": [["2026-03-01", 30]], "expiry": "2026-04-04"},
	{"created": "2026-01-10", "history": [["2026-03-01", 30], ["2026-03-10", 90]], "expiry": "2026-03-31"},
	{"created": "2026-03-20", "history": [["2026-03-01", 30], ["2026-03-10", 90]], "expiry": "2026-06-18"},
	{"created": "2026-01-10", "history": [["2026-03-01", 90], ["2026-03-10", 30]], "expiry": "2026-04-09"},
	{"created": "2026-01-10", "history": [["2026-03-01", 30], ["2026-03-05", null]], "expiry": "2026-03-31"},
]

day_ts(date) := ts(concat("", [date, "T00:00:00Z"]))

example_history(rows) := array.concat(
	defaults_only,
	[{"start": day_ts(row[0]), "expiration_days": row[1], "personal_access_tokens": "enabled"} | some row in rows],
)

expiry_at(created, now, history) := e if {
	e := appwarden.expiry_of(created) with input as {"facts": facts_at(now, history)}
}

test_worked_examples_of_spec_5 if {
	wrong := [[ex.created, ex.expiry, got] |
		some ex in worked_examples
		got := expiry_at(day_ts(ex.created), june, example_history(ex.history))
		got != day_ts(ex.expiry)
	]
	print("wrong expiries:", wrong)
	wrong == []
}

test_default_expiry_is_exactly_3650_days if {
	created := ts("2026-01-10T13:14:15Z")
	expiry_at(created, june, defaults_only) == created + days(3650)
}

test_epochs_after_now_do_not_count_yet if {
	history := example_history([["2026-07-01", 30]])
	expiry_at(day_ts("2026-01-10"), june, history) == day_ts("2036-01-08")
}

test_empty_history_counts_live_setting_since_ever if {
	orgs := {"acme.example": org_with({"tokens": {"expiration": "30d", "expiration_days": 30}})}
	d := decide(pat_use(day_ts("2026-05-01"), june, []), orgs)
	d.context.reason.code == "token_expired"
}

test_expired_at_expiry_and_allowed_just_before_with_advice if {
	history := example_history([["2026-03-01", 30]])
	created := day_ts("2026-01-10")
	code(pat_use(created, day_ts("2026-03-31"), history), acme) == "token_expired"
	code(pat_use(created, day_ts("2026-04-02"), history), acme) == "token_expired"
	before := decide(pat_use(created, day_ts("2026-03-31") - 1, history), acme)
	before.decision == true
	before.context.advice == {"expires_at": day_ts("2026-03-31"), "warning": "token_expires_soon"}
}

test_advice_only_within_7_days if {
	history := example_history([["2026-03-01", 30]])
	created := day_ts("2026-01-10")
	expiry := day_ts("2026-03-31")
	at_7 := decide(pat_use(created, expiry - days(7), history), acme)
	at_7.context.advice.warning == "token_expires_soon"
	beyond := decide(pat_use(created, (expiry - days(7)) - 1, history), acme)
	beyond.decision == true
	not beyond.context.advice
}

test_join_time_rule if {
	history := example_history([["2026-03-01", 30]])
	joined := ts("2026-03-15T12:00:00Z")
	inp := json.patch(pat_use(day_ts("2026-02-01"), day_ts("2026-03-20"), history), [{"op": "add", "path": "/subject/properties/joined_at", "value": joined}])
	code(inp, acme) == "token_expired"
	expiry_with_join(day_ts("2026-02-01"), joined, history) == joined
}

test_join_time_rule_needs_a_non_default_setting_at_join_time if {
	history := example_history([["2026-04-01", 30]])
	joined := day_ts("2026-03-15")
	expiry_with_join(day_ts("2026-02-01"), joined, history) == day_ts("2026-05-01")
}

test_join_time_rule_is_for_pats_only if {
	history := example_history([["2026-03-01", 30]])
	joined := ts("2026-03-15T12:00:00Z")
	sa := json.patch(sa_use("ci-bot", day_ts("2026-02-01"), day_ts("2026-03-20")), [
		{"op": "replace", "path": "/facts/history", "value": history},
		{"op": "add", "path": "/subject/properties", "value": {"joined_at": joined}},
	])
	with_bot := {"acme.example": object.union(acme["acme.example"], {"service_accounts": {"ci-bot": {"owner": "ops@acme.example", "enabled": true}}})}
	decide(sa, with_bot).decision == true
}

test_pats_off_is_read_from_the_epoch_in_force_now if {
	# The CLI evaluating before a history's last change: PATs were still on then.
	off_from_march := array.concat(defaults_only, [{"start": day_ts("2026-03-01"), "expiration_days": null, "personal_access_tokens": "disabled"}])
	decide(pat_use(day_ts("2026-01-01"), day_ts("2026-02-01"), off_from_march), acme).decision == true
	code(pat_use(day_ts("2026-01-01"), day_ts("2026-03-02"), off_from_march), acme) == "pats_disabled"
}

test_api_use_through_a_pat_while_pats_are_off if {
	off_from_march := array.concat(defaults_only, [{"start": day_ts("2026-03-01"), "expiration_days": null, "personal_access_tokens": "disabled"}])
	api := {
		"subject": member, "action": {"name": "api.use"}, "resource": {"type": "api"},
		"context": {"org": "acme.example", "via": "personal_access_token"},
		"facts": facts_at(june, off_from_march),
	}
	code(api, acme) == "pats_disabled"
	decide(json.patch(api, [{"op": "replace", "path": "/context/via", "value": "app"}]), acme).decision == true
}

test_join_time_rule_skips_tokens_created_after_joining if {
	history := example_history([["2026-03-01", 30]])
	joined := day_ts("2026-03-15")
	expiry_with_join(day_ts("2026-03-16"), joined, history) == day_ts("2026-04-15")
	expiry_with_join(joined, joined, history) == joined + days(30)
}

expiry_with_join(created, joined, history) := e if {
	e := appwarden.expiry_of(created) with input as {
		"subject": {"type": "user", "id": "U1", "properties": {"role": "member", "joined_at": joined}},
		"resource": {"type": "token", "id": "tok_1", "properties": {"kind": "personal_access"}},
		"facts": facts_at(june, history),
	}
}

pats_off_on := array.concat(defaults_only, [
	{"start": day_ts("2026-03-01"), "expiration_days": null, "personal_access_tokens": "disabled"},
	{"start": day_ts("2026-03-10"), "expiration_days": null, "personal_access_tokens": "enabled"},
])

test_pats_swept_when_turned_off_stay_revoked if {
	code(pat_use(day_ts("2026-02-01"), june, pats_off_on), acme) == "token_revoked"
	code(pat_use(day_ts("2026-03-10") - 1, june, pats_off_on), acme) == "token_revoked"
	decide(pat_use(day_ts("2026-03-10"), june, pats_off_on), acme).decision == true
}

test_pats_disabled_now_denies_use_and_create_but_not_service_accounts if {
	off := {"acme.example": object.union(acme["acme.example"], {"tokens": {"personal_access_tokens": "disabled"}})}
	history := array.concat(defaults_only, [{"start": day_ts("2026-03-01"), "expiration_days": null, "personal_access_tokens": "disabled"}])
	code(pat_use(day_ts("2026-04-01"), june, history), off) == "pats_disabled"
	code(create_input(member, "personal_access", june, history), off) == "pats_disabled"
	decide(sa_use("ci-bot", day_ts("2026-04-01"), june), off).decision == true
}

test_admin_revocation if {
	inp := json.patch(pat_use(day_ts("2026-05-01"), june, defaults_only), [{"op": "replace", "path": "/facts/token_revoked", "value": true}])
	code(inp, acme) == "token_revoked"
}

test_not_yet_valid_beyond_60_seconds if {
	code(pat_use(june + 61, june, defaults_only), acme) == "token_not_yet_valid"
	decide(pat_use(june + 60, june, defaults_only), acme).decision == true
}

test_service_accounts if {
	code(sa_use("nobody", day_ts("2026-05-01"), june), acme) == "service_account_unknown"
	code(sa_use("old-sync", day_ts("2026-05-01"), june), acme) == "service_account_disabled"
	decide(sa_use("ci-bot", day_ts("2026-05-01"), june), acme).decision == true
}

test_create_carries_the_expiry_of_a_token_created_now if {
	history := example_history([["2026-03-01", 30]])
	d := decide(create_input(member, "personal_access", june, history), acme)
	d.decision == true
	d.context.advice == {"expires_at": june + days(30)}
	sa := decide(create_input(member, "service_account", june, defaults_only), acme)
	sa.context.advice == {"expires_at": june + days(3650)}
}

test_token_precedence if {
	off := {"acme.example": object.union(acme["acme.example"], {"tokens": {"personal_access_tokens": "disabled"}})}
	off_since_may := array.concat(defaults_only, [{"start": day_ts("2026-05-01"), "expiration_days": null, "personal_access_tokens": "disabled"}])
	revoked := json.patch(pat_use(june + 3600, june, defaults_only), [{"op": "replace", "path": "/facts/token_revoked", "value": true}])
	revoked_while_off := json.patch(pat_use(june + 3600, june, off_since_may), [{"op": "replace", "path": "/facts/token_revoked", "value": true}])

	# pats_disabled before token_revoked; token_revoked before token_not_yet_valid
	code(revoked_while_off, off) == "pats_disabled"
	code(revoked, acme) == "token_revoked"

	# token_revoked before token_expired
	old := json.patch(pat_use(day_ts("2010-01-01"), june, defaults_only), [{"op": "replace", "path": "/facts/token_revoked", "value": true}])
	code(old, acme) == "token_revoked"

	# service_account_unknown before token_revoked
	sa := json.patch(sa_use("nobody", day_ts("2026-05-01"), june), [{"op": "replace", "path": "/facts/token_revoked", "value": true}])
	code(sa, acme) == "service_account_unknown"
}
