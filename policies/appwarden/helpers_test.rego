# Shared fixtures of the Rego unit tests: a data document (DESIGN §1), inputs (DESIGN §2) and
# RFC 3339 -> epoch seconds, so that each test states only what it is about.
package appwarden_test

import data.appwarden

# The settings an org has when its YAML says nothing (SPEC §3 defaults), normalized.
default_org := {
	"name": "Default",
	"apps": {
		"mode": "allow_all",
		"block_scope": "all_user_orgs",
		"blocked": {},
		"approved": {},
		"notify": ["super_admins"],
	},
	"automation": {"external_webhook_rules": "allow"},
	"tokens": {"personal_access_tokens": "enabled", "expiration": "default", "expiration_days": null},
	"guests": {"api_via_apps": "allow", "api_via_personal_access_tokens": "allow"},
	"service_accounts": {},
	"admins": {"super_admins": {}, "admins": {}},
}

# `changes` merged (recursively) over the defaults.
org_with(changes) := object.union(default_org, changes)

# 2026-06-01T00:00:00Z, the default evaluation time of the decision cases.
june := ts("2026-06-01T00:00:00Z")

ts(text) := time.parse_rfc3339_ns(text) / 1000000000

days(n) := n * 86400

# Token-settings epochs, oldest first: [[start or null, expiration_days or null, pats], ...].
epochs(rows) := [{"start": row[0], "expiration_days": row[1], "personal_access_tokens": row[2]} | some row in rows]

defaults_only := epochs([[null, null, "enabled"]])

facts_at(now, history) := {"now": now, "history": history, "token_revoked": false}

member := {"type": "user", "id": "U1", "properties": {"email": "ann@acme.example", "role": "member", "orgs": ["acme.example"]}}

guest := {"type": "user", "id": "G1", "properties": {"email": "gil@partner.example", "role": "guest", "orgs": ["acme.example"]}}

user_in(role, orgs) := {"type": "user", "id": "U2", "properties": {"email": "u2@acme.example", "role": role, "orgs": orgs}}

app_input(name, subject, app) := {
	"subject": subject,
	"action": {"name": name},
	"resource": {"type": "app", "id": app, "properties": {"name": "Some App"}},
	"context": {"org": "acme.example"},
	"facts": facts_at(june, defaults_only),
}

pat_use(created, now, history) := {
	"subject": member,
	"action": {"name": "token.use"},
	"resource": {"type": "token", "id": "tok_1", "properties": {"kind": "personal_access", "created_at": created, "owner": "U1"}},
	"context": {"org": "acme.example"},
	"facts": facts_at(now, history),
}

sa_use(account, created, now) := {
	"subject": {"type": "service_account", "id": account},
	"action": {"name": "token.use"},
	"resource": {"type": "token", "id": "tok_sa", "properties": {"kind": "service_account", "created_at": created, "service_account": account}},
	"context": {"org": "acme.example"},
	"facts": facts_at(now, defaults_only),
}

create_input(subject, kind, now, history) := {
	"subject": subject,
	"action": {"name": "token.create"},
	"resource": {"type": "token", "properties": {"kind": kind, "service_account": "ci-bot"}},
	"context": {"org": "acme.example"},
	"facts": facts_at(now, history),
}

decide(inp, orgs) := d if {
	d := appwarden.decision with input as inp with data.orgs as orgs
}

code(inp, orgs) := decide(inp, orgs).context.reason.code
