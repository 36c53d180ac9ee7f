# Helpers shared by the end-to-end suites of the core commands (init, user, add-app,
# list, system-list, revoke, download). Sourced after lib.sh.
#
#   run_umask0 ARGS...            runs tokenctl from a subshell whose umask is 000
#   run_pty ANSWER ARGS...        runs tokenctl with a pseudo-terminal on stdin and stderr,
#                                 answers ANSWER (a line, or EOF for Ctrl-D) to the first
#                                 `[y/N] ` prompt; sets RC, OUT (stdout), ERR (the terminal,
#                                 without carriage returns)
#   sha FILE                      the SHA-256 of FILE
#   expect_no_secret              neither OUT nor ERR holds a tca_/tcr_ secret
#   expect_err_lacks_secret       ERR holds no secret
#   times_masked                  OUT with every RFC 3339 time replaced by TIME
#   race SQL ARGS...              runs tokenctl ARGS while a second connection holds the
#                                 write lock; once the command waits for it, the holder
#                                 runs SQL and commits; sets RC, OUT, ERR

run_umask0() {
  (
    umask 000
    exec "$TOKENCTL_BIN" "$@"
  ) </dev/null >"$TMP/out" 2>"$TMP/err"
  RC=$?
  OUT=$(cat "$TMP/out")
  ERR=$(cat "$TMP/err")
}

PTY_DRIVER="$TMP/pty_driver.py"
cat >"$PTY_DRIVER" <<'PY'
# Runs a command with a pseudo-terminal as its standard input and standard error,
# answers the first "[y/N] " prompt, and records the terminal and standard output.
import os, pty, select, subprocess, sys, time

answer, out_path, tty_path = sys.argv[1:4]
command = sys.argv[4:]
master, slave = pty.openpty()
proc = subprocess.Popen(command, stdin=slave, stdout=subprocess.PIPE, stderr=slave,
                        close_fds=True)
os.close(slave)
transcript = b""
answered = False
deadline = time.monotonic() + 30
while time.monotonic() < deadline:
    ready, _, _ = select.select([master], [], [], 0.1)
    if ready:
        try:
            data = os.read(master, 4096)
        except OSError:
            data = b""
        if not data:
            break
        transcript += data
    if not answered and b"[y/N] " in transcript:
        os.write(master, b"\x04" if answer == "EOF" else answer.encode() + b"\n")
        answered = True
else:
    proc.kill()
stdout = proc.stdout.read()
rc = proc.wait()
with open(out_path, "wb") as f:
    f.write(stdout)
with open(tty_path, "wb") as f:
    f.write(transcript.replace(b"\r", b""))
sys.exit(rc)
PY

run_pty() {
  local answer=$1
  shift
  python3 "$PTY_DRIVER" "$answer" "$TMP/out" "$TMP/err" "$TOKENCTL_BIN" "$@"
  RC=$?
  OUT=$(cat "$TMP/out")
  ERR=$(cat "$TMP/err")
}

sha() { sha256sum "$1" | cut -d' ' -f1; }

has_secret() { printf '%s' "$1" | grep -qE 'tc[ar]_[0-9A-Za-z]{10}'; }
expect_no_secret() {
  if has_secret "$OUT" || has_secret "$ERR"; then fail "a secret was printed"; else pass; fi
}
expect_err_lacks_secret() {
  if has_secret "$ERR"; then fail "a secret on stderr"; else pass; fi
}

times_masked() {
  printf '%s\n' "$OUT" | sed -E 's/[0-9]{4}-[0-9]{2}-[0-9]{2}T[0-9]{2}:[0-9]{2}:[0-9]{2}Z/TIME                /g'
}

# run_on_tty COLUMNS ARGS...: runs tokenctl with a pseudo-terminal COLUMNS wide as its
# standard input, output and error; OUT is what the terminal showed (no carriage returns).
run_on_tty() {
  local columns=$1
  shift
  python3 - "$columns" "$TOKENCTL_BIN" "$@" >"$TMP/out" 2>"$TMP/err" <<'PY'
import fcntl, os, pty, struct, subprocess, sys, termios
columns = int(sys.argv[1])
master, slave = pty.openpty()
fcntl.ioctl(slave, termios.TIOCSWINSZ, struct.pack("HHHH", 24, columns, 0, 0))
proc = subprocess.Popen(sys.argv[2:], stdin=slave, stdout=slave, stderr=slave, close_fds=True)
os.close(slave)
data = b""
while True:
    try:
        chunk = os.read(master, 4096)
    except OSError:
        break
    if not chunk:
        break
    data += chunk
rc = proc.wait()
sys.stdout.buffer.write(data.replace(b"\r\n", b"\n"))
sys.exit(rc)
PY
  RC=$?
  OUT=$(cat "$TMP/out")
  ERR=$(cat "$TMP/err")
}

# The lock holder: takes the write lock, says so, waits for $TMP/release, runs SQL, commits.
# On SQLite the write lock is BEGIN IMMEDIATE; on PostgreSQL, the registry's row that every
# writer locks through tokenctl.lock_writers().
cat >"$TMP/hold.py" <<'PY'
import os, sqlite3, sys, time
db, sql, ready, release = sys.argv[1:5]
con = sqlite3.connect(db, isolation_level=None, timeout=10)
con.execute("BEGIN IMMEDIATE")
open(ready, "w").close()
deadline = time.time() + 20
while not os.path.exists(release) and time.time() < deadline:
    time.sleep(0.02)
for statement in sql.split(";"):
    if statement.strip():
        con.execute(statement)
con.execute("COMMIT")
PY
hold_lock() {
  local sql=$1 ready=$2 release=$3
  if [ "$BACKEND" = postgres ]; then
    pg_psql <<SQL
BEGIN;
SELECT tokenctl.lock_writers();
\\! touch '$ready'
\\! for i in \$(seq 1000); do [ -e '$release' ] && break; sleep 0.02; done
$sql;
COMMIT;
SQL
  else
    python3 "$TMP/hold.py" "$DB" "$sql" "$ready" "$release"
  fi
}

# race SQL ARGS...: runs tokenctl ARGS while the lock is held; once it is waiting for the
# lock, the holder runs SQL and commits. Sets RC, OUT, ERR like run.
race() {
  local sql=$1
  shift
  rm -f "$TMP/ready" "$TMP/release"
  hold_lock "$sql" "$TMP/ready" "$TMP/release" >/dev/null &
  local holder=$!
  for _ in $(seq 200); do [ -e "$TMP/ready" ] && break; sleep 0.02; done
  "$TOKENCTL_BIN" "$@" </dev/null >"$TMP/out" 2>"$TMP/err" &
  local cmd=$!
  sleep 0.7 # the command has read the facts as they were and waits for the lock
  touch "$TMP/release"
  wait "$holder"
  wait "$cmd"
  RC=$?
  OUT=$(cat "$TMP/out")
  ERR=$(cat "$TMP/err")
}
