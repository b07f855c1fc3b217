# Guest API restrictions of SPEC §3/§4: a guest's API use by app or by personal access token,
# whichever action it comes through.
package appwarden

# The org setting that governs each route (SPEC §3 spec.guests).
guest_route_settings := {
	"app": "api_via_apps",
	"personal_access_token": "api_via_personal_access_tokens",
}

route_words := {
	"app": "apps",
	"personal_access_token": "personal access tokens",
}

# The route an action uses the API by. app.connect and app.use are the app route (connecting or
# using an app is how a guest would reach the API through it); personal access tokens are the PAT
# route; api.use names its route in context.via. Service-account tokens have no guest route.
guest_route := "app" if action in app_actions

guest_route := "personal_access_token" if {
	action in token_actions
	token_kind == "personal_access"
}

guest_route := input.context.via if action == "api.use"

# Guest rules apply to users whose role is guest, never to service accounts (SPEC §4).
is_guest if {
	input.subject.type == "user"
	input.subject.properties.role == "guest"
}

# SPEC §4 guest_api_restricted: anything but an explicit allow of the route denies guests.
guest_api_restricted := deny("guest_api_restricted", msg, {}) if {
	is_guest
	setting := guest_route_settings[guest_route]
	not org.guests[setting] == "allow"
	msg := concat("", [
		"guests of ", org_id, " may not use the API through ", route_words[guest_route],
		" (", action, ")",
	])
}
