#!/usr/bin/env bash
# tokenctl turns off core dumps of itself: secrets and the key live in its memory. A
# tokenctl blocked on its input is killed with SIGQUIT under `ulimit -c unlimited`; no
# core file may appear, its core size limit must read 0, and (run as another user, where
# the kernel shows it) its /proc entry must belong to root, as it does for a process that
# is not dumpable.
. "$(dirname "$0")/lib.sh"

fresh_db
pattern=$(cat /proc/sys/kernel/core_pattern)
W="$TMP/work"
mkdir -p "$W"

# Starts `tokenctl verify` (which reads standard input first) on a FIFO that stays open
# but silent, as the user given (or the caller), in folder $W; sets PID once it waits.
start_blocked() {
  rm -f "$TMP/in"
  mkfifo "$TMP/in"
  exec 3<>"$TMP/in"
  (
    cd "$W" || exit 1
    ulimit -c unlimited
    exec "$@" "$TOKENCTL_BIN" verify <&3 >/dev/null 2>&1
  ) &
  PID=$!
  exec 3>&-
  local bin state
  bin=$(readlink -f "$TOKENCTL_BIN")
  for _ in $(seq 200); do
    state=$(awk '{print $3}' "/proc/$PID/stat" 2>/dev/null)
    if [ "$(readlink "/proc/$PID/exe" 2>/dev/null)" = "$bin" ] && [ "$state" = S ]; then
      return 0
    fi
    sleep 0.05
  done
  fail "tokenctl never blocked on its standard input"
  return 1
}

case_ "the core size limit reads 0, and SIGQUIT leaves no core file"
if start_blocked; then
  limit=$(awk '/^Max core file size/ {print $5, $6}' "/proc/$PID/limits")
  check test "$limit" = "0 0"
  kill -QUIT "$PID"
  wait "$PID" 2>/dev/null
  RC=$?
  expect_rc $((128 + 3))
  check test -z "$(find "$W" -name 'core*' -print -quit)"
  case "$pattern" in
  '|'*) echo "note: core_pattern pipes cores to $pattern; only the limit and the flag are observable here" ;;
  *) [ "$(ulimit -Hc)" = 0 ] && echo "note: the hard core limit is 0 here; no core could appear anyway" ;;
  esac
fi

if [ "$(id -u)" = 0 ] && command -v setpriv >/dev/null; then
  case_ "run as another user, tokenctl is not dumpable: /proc shows it as root's"
  if start_blocked setpriv --reuid 65534 --regid 65534 --clear-groups; then
    check test "$(stat -c %u "/proc/$PID/status")" = 0
    kill -QUIT "$PID"
    wait "$PID" 2>/dev/null
    check test -z "$(find "$W" -name 'core*' -print -quit)"
  fi
fi

finish
