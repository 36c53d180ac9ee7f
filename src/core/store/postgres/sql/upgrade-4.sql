-- Schema version 3 to 4, after functions.sql has replaced every function (those that every
-- check calls are PL/pgSQL now, and token_counts(), serve's GET /metrics, is new): the grants.
-- No table changes.
REVOKE ALL ON ALL FUNCTIONS IN SCHEMA tokenctl FROM PUBLIC;
GRANT EXECUTE ON FUNCTION tokenctl.token_counts(bigint, bigint) TO @admin@, @verifier@;
