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
