-- A small site policy, tested with `userdocker-policy test tests/policy-fixture`.
ALLOWED_IMAGE_REGEXPS = { "^local/", "^nvidia/cuda:" }
VOLUME_MOUNTS_DEFAULT = {}
RUN_PULL = "never"
