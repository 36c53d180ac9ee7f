-- Schema version 3 to 4, after functions.sql has replaced every function (and created
-- token_counts(), serve's GET /metrics): the grants. No table changes.
REVOKE ALL ON ALL FUNCTIONS IN SCHEMA tokenctl FROM PUBLIC;
GRANT EXECUTE ON FUNCTION tokenctl.token_counts(bigint, bigint) TO @admin@, @verifier@;
