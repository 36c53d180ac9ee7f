#!/usr/bin/env bash
# pg_query_plan: every listing the PostgreSQL store sends reads through the index meant for
# it. tokenctl-seed fills a registry big enough that the planner prefers indexes (20,000
# tokens of 2,000 users, and 50,000 audit records), ANALYZE counts it, and the unit tests
# of tests/unit/test_pg_query_plan.cpp hold the EXPLAIN of each listing's statement, as the
# store builds it, to its index (TOKENCTL_UNIT_BIN, on the registry TOKENCTL_PG_PLAN_DB).
SUITE_TAG=pgq
LOGIN_NAMES="own"
. "$(dirname "$0")/lib-registry.sh"
: "${TOKENCTL_SEED_BIN:?TOKENCTL_SEED_BIN must name tokenctl-seed}"
: "${TOKENCTL_UNIT_BIN:?TOKENCTL_UNIT_BIN must name the binary of the unit tests}"

case_ "tokenctl-seed fills a registry"
new_database
PGUSER=$L_own "$TOKENCTL_SEED_BIN" --db "$DB" --tokens 20000 >"$TMP/seed.out" 2>"$TMP/seed.err"
RC=$? OUT=$(cat "$TMP/seed.out") ERR=$(cat "$TMP/seed.err")
expect_rc 0

case_ "the audit log gets records of many actors over many days"
# The registry's triggers and policies would take only the writer's own name and time.
sql "SET session_replication_role = replica;
  INSERT INTO tokenctl.audit (at, actor, action, subject, outcome)
  SELECT (extract(epoch FROM now()) * 1000)::bigint - i::bigint * 1000000,
    'user' || lpad((i % 2000 + 1)::text, 4, '0'),
    CASE WHEN i % 200 = 0 THEN 'rekey' ELSE 'verify' END, 'tok' || i, 'ok'
  FROM generate_series(1, 50000) i;
  ANALYZE tokenctl.tokens, tokenctl.secrets, tokenctl.users, tokenctl.apps, tokenctl.audit" >/dev/null
check test "$(sql "SELECT count(*) FROM tokenctl.audit")" -gt 50000

case_ "each listing's plan reads its index"
TOKENCTL_PG_PLAN_DB=$DB PGUSER=$L_own "$TOKENCTL_UNIT_BIN" --test-case='PostgreSQL*' \
  >"$TMP/plan.out" 2>&1
RC=$? OUT=$(cat "$TMP/plan.out") ERR=""
expect_rc 0
# Every case ran: none was skipped for want of the registry.
expect_out_has "|  6 passed | 0 failed |"

finish
