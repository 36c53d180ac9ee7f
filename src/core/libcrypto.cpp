#include "libcrypto.h"

#include <tokenctl/error.h>

#include <fmt/core.h>
#include <openssl/opensslv.h>

#include <dlfcn.h>

#include <type_traits>

namespace tokenctl {

namespace {

static_assert(OPENSSL_VERSION_MAJOR == 3, "the soname below is OpenSSL 3's");
constexpr const char* k_soname = "libcrypto.so.3";

[[noreturn]] void load_failure(std::string_view what) {
    throw Error(Status::failure, fmt::format("cannot load OpenSSL ({}): {}", k_soname, what),
                "install OpenSSL 3's library (Debian: libssl3)");
}

Libcrypto load() {
    // Never unloaded: the table is used until the process exits.
    void* library = ::dlopen(k_soname, RTLD_NOW | RTLD_LOCAL);
    if (library == nullptr) {
        const char* why = ::dlerror();
        load_failure(why != nullptr ? why : "dlopen failed");
    }
    Libcrypto table;
    auto resolve = [library](auto& function, const char* name) {
        function =
            reinterpret_cast<std::remove_reference_t<decltype(function)>>(::dlsym(library, name));
        if (function == nullptr) {
            load_failure(fmt::format("{} is missing", name));
        }
    };
#define TOKENCTL_LIBCRYPTO_RESOLVE(name) resolve(table.name, #name);
    TOKENCTL_LIBCRYPTO_FUNCTIONS(TOKENCTL_LIBCRYPTO_RESOLVE)
#undef TOKENCTL_LIBCRYPTO_RESOLVE
    return table;
}

} // namespace

const Libcrypto& libcrypto() {
    static const Libcrypto table = load();
    return table;
}

} // namespace tokenctl
