# App checks of SPEC §4 for app.connect and app.use: blocks here, blocks that follow the user
# from their other orgs, and approval mode.
package appwarden

app_actions := {"app.connect", "app.use"}

app_id := input.resource.id

# SPEC §4 app_blocked: the app is in this org's blocked list (a lookup by id, DESIGN §1).
app_blocked := deny("app_blocked", msg, {"blocked_by": org_id}) if {
	action in app_actions
	entry := org.apps.blocked[app_id]
	msg := concat("", ["app ", app_label(entry), " is blocked in ", org_id, reason_suffix(entry)])
}

# Other orgs of the user whose block of this app follows the user here (SPEC §4): only explicit
# blocked entries, and only from orgs whose block_scope is not this_org. A missing block_scope
# counts as the default, all_user_orgs.
orgs_blocking_app contains other if {
	action in app_actions
	some other in user_orgs
	other != org_id
	not data.orgs[other].apps.block_scope == "this_org"
	data.orgs[other].apps.blocked[app_id]
}

# SPEC §4 app_blocked_in_other_org. Several orgs may block the app; the lexicographically
# smallest org id is named so that the same input always gets the same answer.
app_blocked_in_other_org := deny("app_blocked_in_other_org", msg, {"blocked_by": by}) if {
	count(orgs_blocking_app) > 0
	by := min(orgs_blocking_app)
	entry := data.orgs[by].apps.blocked[app_id]
	msg := concat("", [
		"app ", app_label(entry), " is blocked in ", by, reason_suffix(entry),
		"; that block follows its members into all of their orgs, including ", org_id,
	])
}

# SPEC §4 app_not_approved: any mode but allow_all requires an approval (fail closed on a
# missing or unknown mode). app.connect also says how to ask for approval.
app_not_approved := deny("app_not_approved", msg, approval_request) if {
	action in app_actions
	not org.apps.mode == "allow_all"
	not org.apps.approved[app_id]
	msg := concat("", [
		"app ", app_label({}), " is not approved in ", org_id,
		", which allows approved apps only; ask an admin of ", org_id, " to approve it",
	])
}

approval_request := {"approval_request": {"org": org_id, "app": app_id}} if action == "app.connect"

else := {}

# The orgs the user belongs to (SPEC §4 subject.properties.orgs); none when not given.
user_orgs := orgs if {
	orgs := input.subject.properties.orgs
	is_array(orgs)
} else := []

# `Name (id)` when a name is known (from the org's entry, else from the request), else the id.
app_label(entry) := concat("", [entry.name, " (", app_id, ")"]) if {
	is_string(entry.name)
} else := concat("", [name, " (", app_id, ")"]) if {
	name := input.resource.properties.name
	is_string(name)
} else := app_id

# The admin's reason without its closing period: the message goes on after it.
reason_suffix(entry) := concat("", [": ", trim_right(entry.reason, ".")]) if {
	is_string(entry.reason)
} else := ""
