#include "store/postgres/libpq.h"

#include "dlopen_note.h"

#include <tokenctl/error.h>

#include <fmt/core.h>

#include <dlfcn.h>

#include <type_traits>

namespace tokenctl {

namespace {

#define TOKENCTL_LIBPQ_SONAME "libpq.so.5"

constexpr const char* k_soname = TOKENCTL_LIBPQ_SONAME;

// Only PostgreSQL registries need it: "recommended", so the package recommends libpq5.
TOKENCTL_DLOPEN_NOTE(
    k_dlopen_note,
    R"([{"feature":"postgresql","description":"registries shared on a PostgreSQL server",)"
    R"("priority":"recommended","soname":[")" TOKENCTL_LIBPQ_SONAME R"("]}])");

[[noreturn]] void load_failure(std::string_view what) {
    throw Error(Status::failure,
                fmt::format("cannot load PostgreSQL's client library ({}): {}", k_soname, what),
                "install the libpq5 package to use a registry on PostgreSQL");
}

Libpq load() {
    // Never unloaded: the table is used until the process exits.
    void* library = ::dlopen(k_soname, RTLD_NOW | RTLD_LOCAL);
    if (library == nullptr) {
        const char* why = ::dlerror();
        load_failure(why != nullptr ? why : "dlopen failed");
    }
    Libpq table;
    auto resolve = [library](auto& function, const char* name) {
        function =
            reinterpret_cast<std::remove_reference_t<decltype(function)>>(::dlsym(library, name));
        if (function == nullptr) {
            load_failure(fmt::format("{} is missing", name));
        }
    };
#define TOKENCTL_LIBPQ_RESOLVE(name) resolve(table.name, #name);
    TOKENCTL_LIBPQ_FUNCTIONS(TOKENCTL_LIBPQ_RESOLVE)
#undef TOKENCTL_LIBPQ_RESOLVE
    return table;
}

} // namespace

const Libpq& libpq() {
    static const Libpq table = load();
    return table;
}

} // namespace tokenctl
