# The one entrypoint, appwarden/decision: SPEC §4's checks in their order of precedence, as the
# decision shape of DESIGN §3. Reads data.orgs (DESIGN §1) and input (DESIGN §2).
package appwarden

# Fail closed: when no rule below can decide (a value this policy relies on is missing from the
# data, say), the answer is a deny with the code the engine uses for an undefined result
# (DESIGN §3), never an allow and never undefined.
default decision := {
	"decision": false,
	"context": {"reason": {
		"code": "evaluation_undefined",
		"message": "the policy could not decide this input, so it is denied",
	}},
}

# The wire decision: `decision` plus `context.reason` and the outcome's extras (blocked_by,
# approval_request, advice).
decision := {
	"decision": o.allow,
	"context": object.union({"reason": {"code": o.code, "message": o.message}}, o.extra),
} if {
	o := outcome
}

# SPEC §4's order of precedence, first applying reason wins. Each step is undefined when it does
# not apply to this action, so the chain reads like the table in SPEC §4. Input this policy does
# not understand comes first: nothing about it can be trusted.
outcome := deny("invalid_input", concat("; ", sort(input_problems)), {}) if {
	count(input_problems) > 0
} else := deny("org_unknown", concat("", ["no policy is known for org ", org_id]), {}) if {
	not org_known
} else := o if {
	o := app_blocked
} else := o if {
	o := app_blocked_in_other_org
} else := o if {
	o := app_not_approved
} else := o if {
	o := guest_api_restricted
} else := o if {
	o := token_account_denied
} else := o if {
	o := token_revoked
} else := o if {
	o := token_not_yet_valid
} else := o if {
	o := token_expired
} else := o if {
	o := external_automation_disabled
} else := o if {
	o := allowed
}

deny(code, message, extra) := {"allow": false, "code": code, "message": message, "extra": extra}

allow(message, extra) := {"allow": true, "code": "allowed", "message": message, "extra": extra}

action := input.action.name

org_id := input.context.org

org := data.orgs[org_id]

org_known if org

now := input.facts.now

# rule.trigger (SPEC §4): automation rules started by web requests from external services.
external_automation_disabled := deny("external_automation_disabled", msg, {}) if {
	action == "rule.trigger"
	not org.automation.external_webhook_rules == "allow"
	msg := concat("", [
		org_id, " does not allow automation rules to be triggered by external services (rule ",
		input.resource.id, ")",
	])
}

# The allow of each action: reached only when no deny of the chain applies, and written with
# positive conditions where a value is needed, so that a missing value denies.
allowed := allow(msg, {}) if {
	action in app_actions
	msg := concat("", [action, " of app ", app_label({}), " is allowed in ", org_id])
}

allowed := allow(msg, {}) if {
	action == "api.use"
	msg := concat("", ["api.use through ", route_words[input.context.via], " is allowed in ", org_id])
}

allowed := allow(msg, {}) if {
	action == "rule.trigger"
	org.automation.external_webhook_rules == "allow"
	msg := concat("", ["external services may trigger rule ", input.resource.id, " in ", org_id])
}

allowed := allow(msg, {"advice": {"expires_at": expires_at}}) if {
	action == "token.create"
	expires_at := expiry_of(now)
	msg := concat("", ["a new ", kind_words[token_kind], " may be created in ", org_id])
}

allowed := allow(msg, {}) if {
	action == "token.use"
	now < token_expiry
	token_expiry - now > expiry_warning_seconds
	msg := concat("", [kind_words[token_kind], " ", input.resource.id, " may be used in ", org_id])
}

# SPEC §4: an allowed token.use within 7 days of expiry carries the date and a warning.
allowed := allow(msg, {"advice": {"expires_at": token_expiry, "warning": "token_expires_soon"}}) if {
	action == "token.use"
	now < token_expiry
	token_expiry - now <= expiry_warning_seconds
	msg := concat("", [
		kind_words[token_kind], " ", input.resource.id, " may be used in ", org_id,
		"; it expires within 7 days",
	])
}
