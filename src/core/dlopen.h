#pragma once

#include <cstddef>
#include <cstdint>
#include <string_view>

// Libraries loaded with dlopen on first use (libcrypto, libpq), and the ELF note that
// declares them to Debian's packaging tools and systemd
// (https://systemd.io/ELF_DLOPEN_METADATA/): type 0x407c0c0a, owner "FDO", a JSON array as
// the description, NUL included. tests/cli/test_hardening.sh reads the notes back.
namespace tokenctl::dl {

// Called with the reason a library or a symbol cannot be had; throws.
using Failure = void (*)(std::string_view why);

// Opens the library `soname` for good (never unloaded: its functions are used until the
// process exits), or calls `fail`.
void* open_library(const char* soname, Failure fail);

// The address of the symbol `name` of `library`, or calls `fail`.
void* symbol(void* library, const char* name, Failure fail);

// Points `function` at the symbol `name` of `library`, or calls `fail`.
template <class Function>
void resolve(void* library, Function& function, const char* name, Failure fail) {
    function = reinterpret_cast<Function>(symbol(library, name, fail));
}

inline constexpr char k_note_owner[] = "FDO";
inline constexpr std::uint32_t k_note_type = 0x407c0c0a;

template <std::size_t N> struct Note {
    std::uint32_t name_size;
    std::uint32_t description_size;
    std::uint32_t type;
    char name[sizeof(k_note_owner)];
    alignas(4) char description[(N + 3) / 4 * 4];
};

template <std::size_t N> constexpr Note<N> make_note(const char (&json)[N]) {
    Note<N> note{sizeof(k_note_owner), N, k_note_type, {}, {}};
    for (std::size_t i = 0; i < sizeof(k_note_owner); ++i) {
        note.name[i] = k_note_owner[i];
    }
    for (std::size_t i = 0; i < N; ++i) {
        note.description[i] = json[i];
    }
    return note;
}

} // namespace tokenctl::dl

// Declares, in the binary's .note.dlopen section, the note whose description is the JSON
// string literal `json`. Constant-initialized, so it is laid out at compile time.
#define TOKENCTL_DLOPEN_NOTE(variable, json)                                                       \
    [[gnu::used, gnu::section(".note.dlopen")]] alignas(4) constexpr auto variable =               \
        ::tokenctl::dl::make_note(json)
