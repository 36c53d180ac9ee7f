#include "serve/libssl.h"

#include "core/dlopen.h"

#include <tokenctl/error.h>

#include <fmt/core.h>
#include <openssl/opensslv.h>

#include <cstddef>
#include <cstdint>

namespace tokenctl::serve {

namespace {

static_assert(OPENSSL_VERSION_MAJOR == 3, "the soname below is OpenSSL 3's");
#define TOKENCTL_LIBSSL_SONAME "libssl.so.3"

#if TOKENCTL_DLOPEN_LIBSSL

constexpr const char* k_soname = TOKENCTL_LIBSSL_SONAME;

// The dlopen dependency, declared for Debian's packaging tools (core/dlopen.h). Suggested:
// only `serve --tls-cert` loads it; Debian ships it in the package of libcrypto, which is
// required.
TOKENCTL_DLOPEN_NOTE(
    k_dlopen_note,
    R"([{"feature":"tls","description":"serve: HTTPS, with --tls-cert and --tls-key",)"
    R"("priority":"suggested","soname":[")" TOKENCTL_LIBSSL_SONAME R"("]}])");

[[noreturn]] void load_failure(std::string_view what) {
    throw Error(Status::failure, fmt::format("cannot load OpenSSL ({}): {}", k_soname, what),
                fmt::format("install the package that provides {}", k_soname));
}

Libssl load() {
    void* library = dl::open_library(k_soname, &load_failure);
    Libssl table;
#define TOKENCTL_LIBSSL_RESOLVE(name) dl::resolve(library, table.name, #name, &load_failure);
    TOKENCTL_LIBSSL_FUNCTIONS(TOKENCTL_LIBSSL_RESOLVE)
#undef TOKENCTL_LIBSSL_RESOLVE
    return table;
}

#else

// Linked the ordinary way (TOKENCTL_DLOPEN_LIBCRYPTO=OFF): the table holds the functions
// themselves.
Libssl load() {
    Libssl table;
#define TOKENCTL_LIBSSL_ADDRESS(name) table.name = &::name;
    TOKENCTL_LIBSSL_FUNCTIONS(TOKENCTL_LIBSSL_ADDRESS)
#undef TOKENCTL_LIBSSL_ADDRESS
    return table;
}

#endif

} // namespace

const Libssl& libssl() {
    static const Libssl table = load();
    return table;
}

} // namespace tokenctl::serve
