# Token checks of SPEC §4/§5 for token.create and token.use: PATs turned off, service accounts,
# revocation, tokens from the future, and the expiry over the org's settings history.
package appwarden

token_actions := {"token.create", "token.use"}

token_kind := input.resource.properties.kind

kind_words := {
	"personal_access": "personal access token",
	"service_account": "service-account token",
}

# Every duration is an exact multiple of a UTC day (SPEC §4); times are epoch seconds.
day_seconds := 86400

# SPEC §5: `default` is 10 years, counted as exactly 3,650 days.
default_expiry_seconds := 3650 * day_seconds

# SPEC §4: a created_at more than 60 s after the evaluation time is not yet valid.
clock_skew_seconds := 60

# SPEC §4: an allowed token.use this close to expiry carries a warning.
expiry_warning_seconds := 7 * day_seconds

# A PAT is at work: a PAT is created or used, or the API is used through one (SPEC §5: while PATs
# are off "every PAT use and creation in the org is denied", whatever action carries it).
uses_pat if {
	action in token_actions
	token_kind == "personal_access"
}

uses_pat if {
	action == "api.use"
	input.context.via == "personal_access_token"
}

# A service account is at work: its token is created or used, or it uses the API itself.
uses_service_account if {
	action in token_actions
	token_kind == "service_account"
}

uses_service_account if {
	action == "api.use"
	input.subject.type == "service_account"
}

service_account_id := input.resource.properties.service_account if action in token_actions

service_account_id := input.subject.id if {
	action == "api.use"
	input.subject.type == "service_account"
}

# SPEC §5: the PAT setting in force now is the one of the latest epoch that has begun — the live
# setting on the server, the history's at an earlier evaluation time for the CLI. Anything but an
# explicit `enabled` counts as off (fail closed).
current_epoch := epochs[count(epochs) - 1]

pats_enabled_now if current_epoch.personal_access_tokens == "enabled"

# SPEC §4: PATs disabled now, or the service account is unknown or disabled.
token_account_denied := deny("pats_disabled", msg, {}) if {
	uses_pat
	not pats_enabled_now
	msg := concat("", ["personal access tokens are disabled in ", org_id])
}

token_account_denied := deny("service_account_unknown", msg, {}) if {
	uses_service_account
	not org.service_accounts[service_account_id]
	msg := concat("", ["service account ", service_account_id, " is not declared in ", org_id])
}

token_account_denied := deny("service_account_disabled", msg, {}) if {
	uses_service_account
	account := org.service_accounts[service_account_id]
	not account.enabled == true
	msg := concat("", ["service account ", service_account_id, " is disabled in ", org_id])
}

# SPEC §4/§5 token_revoked: by an admin (the registry's fact), or swept when PATs were turned off.
token_revoked := deny("token_revoked", msg, {}) if {
	action == "token.use"
	input.facts.token_revoked == true
	msg := concat("", [kind_words[token_kind], " ", input.resource.id, " was revoked by an admin of ", org_id])
} else := deny("token_revoked", msg, {}) if {
	action == "token.use"
	token_kind == "personal_access"
	pats_swept(token_created_at)
	msg := concat("", [
		"personal access token ", input.resource.id,
		" was revoked when personal access tokens were turned off in ", org_id,
	])
}

token_not_yet_valid := deny("token_not_yet_valid", msg, {}) if {
	action == "token.use"
	token_created_at > now + clock_skew_seconds
	msg := concat("", [
		kind_words[token_kind], " ", input.resource.id,
		" was created more than 60 seconds after the evaluation time",
	])
}

token_expired := deny("token_expired", msg, {}) if {
	action == "token.use"
	now >= token_expiry
	msg := concat("", [
		kind_words[token_kind], " ", input.resource.id,
		" has expired under the token expiration policy of ", org_id,
	])
}

token_created_at := input.resource.properties.created_at

token_expiry := expiry_of(token_created_at) if action == "token.use"

# SPEC §5: expiry(C) = min(C + 3650 days, min over epochs e with N_e set and C < end_e of
# max(C, start_e) + N_e days), and the join-time rule.
expiry_of(created) := min(candidates) if {
	# The epochs are passed down rather than read inside the comprehensions: a comprehension is
	# never undefined, so unreadable epochs would otherwise leave only the 3,650-day cap.
	known := epochs
	candidates := ({created + default_expiry_seconds} | policy_expiries(created, known)) | join_expiries(created, known)
}

policy_expiries(created, known) := {expiry |
	some epoch in known
	is_number(epoch.expiration_days)
	not ended_by(epoch, created)
	expiry := max({created, start_or(epoch, created)}) + (epoch.expiration_days * day_seconds)
}

# SPEC §5 join-time rule: a token created before its owner joined this org expires at the join
# time when the org's expiration setting at that time was not `default`. Only PATs have a user as
# owner (a PAT acts as its owner, the subject); a service account does not join orgs.
join_expiries(created, known) := {joined |
	token_kind == "personal_access"
	joined := input.subject.properties.joined_at
	is_number(joined)
	created < joined
	some epoch in known
	started_by(epoch, joined)
	not ended_by(epoch, joined)
	is_number(epoch.expiration_days)
}

# SPEC §5: a PAT that existed when PATs were turned off, or was created while they were off
# (created before that off-epoch ended), stays revoked after they are turned on again.
pats_swept(created) if {
	some epoch in epochs
	epoch.personal_access_tokens == "disabled"
	not ended_by(epoch, created)
}

# The settings epochs of context.org that have begun by now, each with its end (DESIGN §2):
# the next epoch's start, or null (open) when there is none or it has not begun yet.
epochs := begun if {
	# A comprehension is never undefined: without this guard an unreadable history would be an
	# empty one, and only the 3,650-day cap would apply.
	all_epochs := history
	begun := [{
		"start": epoch.start,
		"end": epoch_end(i),
		"expiration_days": epoch.expiration_days,
		"personal_access_tokens": epoch.personal_access_tokens,
	} |
		some i, epoch in all_epochs
		started_by(epoch, now)
	]
}

# Without recorded history, the live settings count as in force since ever: the strictest
# reading, so that a missing history never lengthens a token's life.
history := input.facts.history if {
	count(input.facts.history) > 0
} else := [{
	"start": null,
	"expiration_days": org.tokens.expiration_days,
	"personal_access_tokens": org.tokens.personal_access_tokens,
}]

epoch_end(i) := history[i + 1].start if {
	history[i + 1].start <= now
} else := null

started_by(epoch, _) if epoch.start == null

started_by(epoch, t) if epoch.start <= t

ended_by(epoch, t) if {
	is_number(epoch.end)
	t >= epoch.end
}

start_or(epoch, fallback) := epoch.start if is_number(epoch.start)

else := fallback
