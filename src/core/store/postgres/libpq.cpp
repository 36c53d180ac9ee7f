#include "store/postgres/libpq.h"

#include "dlopen.h"

#include <tokenctl/error.h>

#include <fmt/core.h>

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
    void* library = dl::open_library(k_soname, &load_failure);
    Libpq table;
#define TOKENCTL_LIBPQ_RESOLVE(name) dl::resolve(library, table.name, #name, &load_failure);
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
