#include "libcrypto.h"

#include <tokenctl/error.h>

#include <fmt/core.h>
#include <openssl/opensslv.h>

#include <dlfcn.h>

#include <cstddef>
#include <cstdint>
#include <type_traits>

namespace tokenctl {

namespace {

static_assert(OPENSSL_VERSION_MAJOR == 3, "the soname below is OpenSSL 3's");
#define TOKENCTL_LIBCRYPTO_SONAME "libcrypto.so.3"

#if TOKENCTL_DLOPEN_LIBCRYPTO

constexpr const char* k_soname = TOKENCTL_LIBCRYPTO_SONAME;

// The dlopen dependency, declared in the ELF note that Debian's packaging tools and
// systemd read (https://systemd.io/ELF_DLOPEN_METADATA/): type 0x407c0c0a, owner "FDO",
// a JSON array as the description, NUL included. tests/cli/test_hardening.sh reads it back.
constexpr char k_dlopen_note_owner[] = "FDO";
constexpr char k_dlopen_note_json[] =
    R"([{"feature":"crypto","description":"token secrets: random numbers, SHA-256 and AES-256-GCM",)"
    R"("priority":"required","soname":[")" TOKENCTL_LIBCRYPTO_SONAME R"("]}])";

struct DlopenNote {
    std::uint32_t name_size;
    std::uint32_t description_size;
    std::uint32_t type;
    char name[sizeof(k_dlopen_note_owner)];
    alignas(4) char description[(sizeof(k_dlopen_note_json) + 3) / 4 * 4];
};

constexpr DlopenNote make_dlopen_note() {
    DlopenNote note{sizeof(k_dlopen_note_owner), sizeof(k_dlopen_note_json), 0x407c0c0a, {}, {}};
    for (std::size_t i = 0; i < sizeof(k_dlopen_note_owner); ++i) {
        note.name[i] = k_dlopen_note_owner[i];
    }
    for (std::size_t i = 0; i < sizeof(k_dlopen_note_json); ++i) {
        note.description[i] = k_dlopen_note_json[i];
    }
    return note;
}

// Constant-initialized, so it is laid out at compile time in its own read-only section.
[[gnu::used,
  gnu::section(".note.dlopen")]] alignas(4) constexpr DlopenNote k_dlopen_note = make_dlopen_note();

[[noreturn]] void load_failure(std::string_view what) {
    throw Error(Status::failure, fmt::format("cannot load OpenSSL ({}): {}", k_soname, what),
                fmt::format("install the package that provides {}", k_soname));
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
