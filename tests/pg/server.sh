# The facts of the tests' PostgreSQL server (tests/pg/with-postgres), for the suites that
# run against one: TOKENCTL_PG_HOST, TOKENCTL_PG_PORT and TOKENCTL_PG_SUPERUSER as the
# environment gives them, else read from the file TOKENCTL_PG_STATE that
# `with-postgres --start` wrote (exit 1 when that file is missing). Sourced.
#
#   pg_server_known          whether the three facts are known (then exported, with
#                            TOKENCTL_PG_DIR, the server's folder, when known)

if [ -z "${TOKENCTL_PG_HOST-}" ] && [ -n "${TOKENCTL_PG_STATE-}" ]; then
  if [ ! -f "$TOKENCTL_PG_STATE" ]; then
    echo "no PostgreSQL server: $TOKENCTL_PG_STATE is missing (tests/pg/with-postgres --start writes it)"
    exit 1
  fi
  # shellcheck disable=SC1090
  . "$TOKENCTL_PG_STATE"
fi

pg_server_known() {
  [ -n "${TOKENCTL_PG_HOST-}" ] && [ -n "${TOKENCTL_PG_PORT-}" ] && [ -n "${TOKENCTL_PG_SUPERUSER-}" ] &&
    export TOKENCTL_PG_HOST TOKENCTL_PG_PORT TOKENCTL_PG_SUPERUSER TOKENCTL_PG_DIR
}
