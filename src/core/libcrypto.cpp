#include "libcrypto.h"

#include "dlopen.h"

#include <tokenctl/error.h>

#include <fmt/core.h>
#include <openssl/opensslv.h>

#include <cstddef>
#include <cstdint>

namespace tokenctl {

namespace {

static_assert(OPENSSL_VERSION_MAJOR == 3, "the soname below is OpenSSL 3's");
#define TOKENCTL_LIBCRYPTO_SONAME "libcrypto.so.3"

#if TOKENCTL_DLOPEN_LIBCRYPTO

constexpr const char* k_soname = TOKENCTL_LIBCRYPTO_SONAME;

// The dlopen dependency, declared for Debian's packaging tools (dlopen.h).
TOKENCTL_DLOPEN_NOTE(
    k_dlopen_note,
    R"([{"feature":"crypto","description":"token secrets: random numbers, SHA-256 and AES-256-GCM",)"
    R"("priority":"required","soname":[")" TOKENCTL_LIBCRYPTO_SONAME R"("]}])");

[[noreturn]] void load_failure(std::string_view what) {
    throw Error(Status::failure, fmt::format("cannot load OpenSSL ({}): {}", k_soname, what),
                fmt::format("install the package that provides {}", k_soname));
}

Libcrypto load() {
    void* library = dl::open_library(k_soname, &load_failure);
    Libcrypto table;
#define TOKENCTL_LIBCRYPTO_RESOLVE(name) dl::resolve(library, table.name, #name, &load_failure);
    TOKENCTL_LIBCRYPTO_FUNCTIONS(TOKENCTL_LIBCRYPTO_RESOLVE)
#undef TOKENCTL_LIBCRYPTO_RESOLVE
    return table;
}

#else

// Linked the ordinary way (TOKENCTL_DLOPEN_LIBCRYPTO=OFF): the dynamic loader maps
// libcrypto at start-up and the table holds the functions themselves.
Libcrypto load() {
    Libcrypto table;
#define TOKENCTL_LIBCRYPTO_ADDRESS(name) table.name = &::name;
    TOKENCTL_LIBCRYPTO_FUNCTIONS(TOKENCTL_LIBCRYPTO_ADDRESS)
#undef TOKENCTL_LIBCRYPTO_ADDRESS
    return table;
}

#endif

} // namespace

const Libcrypto& libcrypto() {
    static const Libcrypto table = load();
    return table;
}

} // namespace tokenctl
