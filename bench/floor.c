/* The least work any add-app can do on this stack, as a whole process: bench/run compares
 * tokenctl's add-app with it. It loads libcrypto and libsqlite3, draws random bytes from
 * OpenSSL's CSPRNG, hashes one secret with SHA-256, seals it with AES-256-GCM and inserts
 * one row with synchronous=FULL, the same row as the sqlite3 baseline. No option parsing,
 * no checks, no audit record, no key file: a lower bound, not a rival implementation.
 *
 * Usage: floor DATABASE. Built by bench/run with the system's C compiler. */
#include <openssl/evp.h>
#include <openssl/rand.h>
#include <sqlite3.h>

#include <stdio.h>

static int fail(const char* what) {
    fprintf(stderr, "floor: %s failed\n", what);
    return 1;
}

int main(int argc, char** argv) {
    unsigned char random[32 + 32 + 12], digest[32], sealed[32 + 16];
    unsigned int digest_len = 0;
    int len = 0;
    if (argc != 2) {
        fputs("usage: floor DATABASE\n", stderr);
        return 2;
    }
    if (RAND_bytes(random, sizeof random) != 1) {
        return fail("RAND_bytes");
    }
    EVP_MD* md = EVP_MD_fetch(NULL, "SHA2-256", NULL);
    if (md == NULL || EVP_Digest(random, 32, digest, &digest_len, md, NULL) != 1) {
        return fail("SHA-256");
    }
    EVP_CIPHER_CTX* ctx = EVP_CIPHER_CTX_new();
    if (ctx == NULL ||
        EVP_EncryptInit_ex(ctx, EVP_aes_256_gcm(), NULL, random + 32, random + 64) != 1 ||
        EVP_EncryptUpdate(ctx, sealed, &len, random, 32) != 1 ||
        EVP_EncryptFinal_ex(ctx, sealed + len, &len) != 1 ||
        EVP_CIPHER_CTX_ctrl(ctx, EVP_CTRL_GCM_GET_TAG, 16, sealed + 32) != 1) {
        return fail("AES-256-GCM");
    }
    EVP_CIPHER_CTX_free(ctx);
    EVP_MD_free(md);

    sqlite3* db = NULL;
    if (sqlite3_open_v2(argv[1], &db, SQLITE_OPEN_READWRITE, NULL) != SQLITE_OK ||
        sqlite3_exec(db,
                     "PRAGMA synchronous=FULL; INSERT INTO audit (at, actor, action, outcome) "
                     "VALUES (0, 'bench', 'bench', 'ok')",
                     NULL, NULL, NULL) != SQLITE_OK) {
        return fail("the insert");
    }
    return sqlite3_close(db) == SQLITE_OK ? 0 : fail("closing the database");
}
