# What this policy needs from input (DESIGN §2), checked before anything is decided: input it
# does not understand is denied with reason invalid_input and a message naming every field.
package appwarden

# The resource type each action of SPEC §4 takes.
resource_types := {
	"app.connect": "app",
	"app.use": "app",
	"token.create": "token",
	"token.use": "token",
	"api.use": "api",
	"rule.trigger": "rule",
}

user_roles := {"member", "guest"}

pat_settings := {"enabled", "disabled"}

# Why every check below reads input through field(): OPA rewrites `not f(input.a.b)` into
# `x := input.a.b; not f(x)`, so a missing field would make the check undefined instead of true,
# and a missing field would go unreported. field() is null for a missing field, never undefined.
input_doc := doc if {
	doc := input
	is_object(doc)
} else := {}

field(path) := object.get(input_doc, path, null)

input_problems contains "action.name must be a string" if not is_string(field(["action", "name"]))

input_problems contains msg if {
	is_string(action)
	not resource_types[action]
	msg := concat("", [
		"unknown action \"", action, "\"; expected one of ",
		concat(", ", sort(object.keys(resource_types))),
	])
}

input_problems contains msg if {
	want := resource_types[action]
	not field(["resource", "type"]) == want
	msg := concat("", ["resource.type must be \"", want, "\" for ", action])
}

input_problems contains "context.org must be a string" if not is_string(field(["context", "org"]))

input_problems contains "subject.type must be a string" if not is_string(field(["subject", "type"]))

input_problems contains "subject.id must be a string" if not is_string(field(["subject", "id"]))

input_problems contains "facts.now must be a number (epoch seconds)" if not is_number(field(["facts", "now"]))

input_problems contains "subject.properties.role must be \"member\" or \"guest\" for a user" if {
	input.subject.type == "user"
	not user_roles[field(["subject", "properties", "role"])]
}

input_problems contains "subject.properties.orgs must be an array of org ids" if {
	orgs := input.subject.properties.orgs
	not is_array(orgs)
}

input_problems contains "subject.properties.orgs must be an array of org ids" if {
	some other in input.subject.properties.orgs
	not is_string(other)
}

input_problems contains "subject.properties.joined_at must be a number (epoch seconds)" if {
	joined := input.subject.properties.joined_at
	not is_number(joined)
}

input_problems contains msg if {
	action in {"app.connect", "app.use", "token.use", "rule.trigger"}
	not is_string(field(["resource", "id"]))
	msg := concat("", ["resource.id must be a string for ", action])
}

input_problems contains msg if {
	action in token_actions
	not kind_words[field(["resource", "properties", "kind"])]
	msg := concat("", ["resource.properties.kind must be \"personal_access\" or \"service_account\" for ", action])
}

input_problems contains "resource.properties.service_account must be a string for a service-account token" if {
	action in token_actions
	input.resource.properties.kind == "service_account"
	not is_string(field(["resource", "properties", "service_account"]))
}

input_problems contains "resource.properties.created_at must be a number (epoch seconds) for token.use" if {
	action == "token.use"
	not is_number(field(["resource", "properties", "created_at"]))
}

input_problems contains "facts.token_revoked must be a boolean for token.use" if {
	action == "token.use"
	not is_boolean(field(["facts", "token_revoked"]))
}

input_problems contains msg if {
	needs_history
	not is_array(field(["facts", "history"]))
	msg := concat("", ["facts.history must be an array of settings epochs for ", action])
}

# The token rules read the settings epochs: token actions, and API use through a PAT.
needs_history if action in token_actions

needs_history if {
	action == "api.use"
	field(["context", "via"]) == "personal_access_token"
}

input_problems contains msg if {
	needs_history
	is_array(input.facts.history)
	some i, epoch in input.facts.history
	not valid_epoch(i, epoch)
	msg := concat("", [
		"facts.history[", format_int(i, 10), "] must be {start, expiration_days, personal_access_tokens}",
		" with only the first start null, starts oldest first and expiration_days null or above 0",
	])
}

input_problems contains "context.via must be \"app\" or \"personal_access_token\" for api.use" if {
	action == "api.use"
	not guest_route_settings[field(["context", "via"])]
}

valid_epoch(i, epoch) if {
	valid_start(i, epoch.start)
	valid_days(epoch.expiration_days)
	pat_settings[epoch.personal_access_tokens]
}

valid_start(0, start) if start == null

valid_start(i, start) if {
	is_number(start)
	ordered_after_previous(i, start)
}

ordered_after_previous(0, _) := true

ordered_after_previous(i, start) if {
	i > 0
	previous := input.facts.history[i - 1].start
	not previous > start
}

valid_days(days) if days == null

valid_days(days) if {
	is_number(days)
	days > 0
}
