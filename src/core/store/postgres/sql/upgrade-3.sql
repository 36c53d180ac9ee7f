-- Schema version 2 to 3, after functions.sql has replaced every function (and created
-- rotate_client_secret(), claim_client_refresh() and rotate_for_client()) and
-- client-secrets.sql has created the applications' client secrets and the tokens' previous
-- refresh digests: the grants. `tokenctl migrate` gives the existing applications their secrets
-- in its next transaction, with the key file.
REVOKE ALL ON ALL FUNCTIONS IN SCHEMA tokenctl FROM PUBLIC;
GRANT SELECT, INSERT ON tokenctl.client_secrets TO @admin@, @user@;
GRANT EXECUTE ON FUNCTION tokenctl.rotate_client_secret(bigint, bytea, bytea, bigint)
    TO @admin@, @user@;
-- serve's login (a verifier or an administrator): tokens refreshed for the clients that
-- prove their refresh token and client secret, through the functions that check them.
GRANT EXECUTE ON FUNCTION tokenctl.claim_client_refresh(text, text, text, bigint, bigint),
    tokenctl.rotate_for_client(text, text, text, bigint, bigint, bigint, bytea, bytea, bytea,
                               bytea)
    TO @admin@, @verifier@;
