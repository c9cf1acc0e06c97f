# shellcheck shell=bash
# PAM account checks gate userdocker before anything else is read.

ud_pam_service 'account required pam_succeed_if.so quiet user notin udt-bob
account required pam_permit.so'
ud_as udt-alice run local/busybox id -u
is "$RUN_STATUS" 0 "pam: an allowed user runs"
is "$RUN_OUT" "$(id -u udt-alice)" "pam: the allowed user's container ran as them"

ud_refused "pam: a user the PAM service refuses" 77 \
	'^userdocker: access denied by PAM \(service userdocker-itest\)' udt-bob run local/busybox id

# Refused before the configuration is read: a broken config.lua does not
# change the answer for bob.
ud_config 'this is not lua'
ud_refused "pam: refused before config is read" 77 \
	'^userdocker: access denied by PAM' udt-bob run local/busybox id
ud_config ''

ud_pam_service 'account requisite pam_deny.so'
ud_refused "pam: pam_deny stops everyone" 77 '^userdocker: access denied by PAM' \
	udt-alice run local/busybox id
ud_refused "pam: pam_deny stops -n too" 77 '^userdocker: access denied by PAM' \
	udt-alice -n run local/busybox id

# A file of allowed users, as admins do with pam_listfile.
list=$UD_PREFIX/etc/userdocker-users
printf 'udt-alice\n' >"$list" && chmod 644 "$list"
ud_pam_service "account required pam_listfile.so item=user sense=allow file=$list onerr=fail
account required pam_permit.so"
ud_as udt-alice ps -q
is "$RUN_STATUS" 0 "pam: pam_listfile lets a listed user in"
ud_refused "pam: pam_listfile keeps an unlisted user out" 77 '^userdocker: access denied by PAM' \
	udt-bob ps -q
rm -f "$list"

# PAM_SESSION: a session around the docker command, closed when docker has
# exited.  pam_exec logs each call, and whether the container's mark was
# there yet.
T15=$UD_PREFIX/t15
mkdir -p "$T15" && chmod 0755 "$T15"
: >"$T15/session.log"
mark=$UD_ALICE_HOME/t15-ran
printf '#!/bin/sh\nif [ -e %s ]; then m=ran; else m=not-yet; fi\necho "$PAM_TYPE $PAM_USER $m" >>%s\n' \
	"$mark" "$T15/session.log" >"$T15/log.sh"
chmod 0755 "$T15/log.sh"
rm -f "$mark"
ud_pam_service "account required pam_permit.so
session required pam_exec.so $T15/log.sh"
ud_config 'PAM_SESSION = true'
ud_as udt-alice run local/busybox sh -c 'touch "$HOME/t15-ran"; echo in-session'
is "$RUN_STATUS:$RUN_OUT" "0:in-session" "pam session: the run works"
is "$(cat "$T15/session.log")" "open_session udt-alice not-yet
close_session udt-alice ran" "pam session: opened before docker ran, closed after it exited"
: >"$T15/session.log"
ud_config ''
ud_as udt-alice run local/busybox true
is "$(cat "$T15/session.log")" "" "pam session: none without PAM_SESSION"
ud_pam_service 'account required pam_permit.so
session required pam_deny.so'
ud_config 'PAM_SESSION = true'
ud_refused "pam session: a session the service refuses stops the run" 77 \
	'^userdocker: PAM session refused \(service userdocker-itest\)' udt-alice run local/busybox true
ud_pam_service 'account required pam_permit.so'
ud_config ''
rm -rf "$T15" "$mark"
