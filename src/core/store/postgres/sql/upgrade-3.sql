-- Schema version 2 to 3, after functions.sql has replaced every function (and created
-- rotate_client_secret()) and client-secrets.sql has created the applications' client
-- secrets: the grants. `tokenctl migrate` gives the existing applications their secrets
-- in its next transaction, with the key file.
REVOKE ALL ON ALL FUNCTIONS IN SCHEMA tokenctl FROM PUBLIC;
GRANT SELECT, INSERT ON tokenctl.client_secrets TO @admin@, @user@;
GRANT EXECUTE ON FUNCTION tokenctl.rotate_client_secret(bigint, bytea, bytea, bigint)
    TO @admin@, @user@;
