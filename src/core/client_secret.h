#pragma once

#include <tokenctl/crypto.h>
#include <tokenctl/model.h>
#include <tokenctl/store.h>

#include <cstdint>
#include <string>

// Applications' client secrets (apps.cpp): made, sealed and filled in by the core.
namespace tokenctl {

// A new client secret for application `app`, made at `now`: returns it with its digest and
// its sealed form under `key` (associated data "CLIENT_ID:client"), and the plain secret
// in `plain` (the caller wipes it).
ClientSecret make_client_secret(const App& app, const Key& key, Millis now, std::string& plain);

// Gives every application that has none (one made before client secrets, on a registry
// migrated without the key) a new client secret sealed under `key`, in the current write
// transaction. Returns how many it gave.
std::int64_t give_missing_client_secrets(Store& store, const Key& key);

} // namespace tokenctl
