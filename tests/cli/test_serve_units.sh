#!/usr/bin/env bash
# The systemd units of serve (packaging/tokenctl-serve.{service,socket}): systemd-analyze
# verifies them (ExecStart pointed at the binary under test), and their hardening rates
# as a low exposure.
. "$(dirname "$0")/lib.sh"

if ! command -v systemd-analyze >/dev/null 2>&1; then
  echo "SKIP test_serve_units: no systemd-analyze"
  finish
  exit
fi
units="$TMP/units"
mkdir -p "$units"
cp "$TOKENCTL_SOURCE_DIR"/packaging/tokenctl-serve.service "$TOKENCTL_SOURCE_DIR"/packaging/tokenctl-serve.socket "$units/"
sed -i "s|^ExecStart=/usr/bin/tokenctl |ExecStart=$TOKENCTL_BIN |" "$units/tokenctl-serve.service"

case_ "systemd-analyze verify: no complaint"
systemd-analyze verify --man=no "$units/tokenctl-serve.socket" "$units/tokenctl-serve.service" \
  >"$TMP/out" 2>"$TMP/err"
RC=$?
OUT=$(cat "$TMP/out")
ERR=$(cat "$TMP/err")
expect_rc 0
expect_err_empty

case_ "the service: Type=notify, socket activation, the usual hardening"
for line in Type=notify Requires=tokenctl-serve.socket NoNewPrivileges=yes ProtectSystem=strict \
  ProtectHome=yes PrivateTmp=yes "RestrictAddressFamilies=AF_UNIX AF_INET AF_INET6" \
  SystemCallFilter=@system-service CapabilityBoundingSet= MemoryDenyWriteExecute=yes; do
  check grep -qx -- "$line" "$units/tokenctl-serve.service"
done
check grep -qx "SocketMode=0660" "$units/tokenctl-serve.socket"

case_ "systemd-analyze security: exposure below 2"
if systemd-analyze security --offline=yes "$units/tokenctl-serve.service" >"$TMP/out" 2>&1; then
  score=$(sed -n 's/.*Overall exposure level for tokenctl-serve.service: \([0-9.]*\).*/\1/p' "$TMP/out")
  check python3 -c "import sys; sys.exit(0 if float('$score') < 2 else 1)"
else
  SKIPPED=$((SKIPPED + 1))
  echo "SKIP [$CASE] this systemd-analyze cannot rate a unit offline"
fi

finish
