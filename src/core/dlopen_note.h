#pragma once

#include <cstddef>
#include <cstdint>

// The ELF note that declares a library loaded with dlopen, which Debian's packaging tools
// and systemd read (https://systemd.io/ELF_DLOPEN_METADATA/): type 0x407c0c0a, owner
// "FDO", a JSON array as the description, NUL included. tests/cli/test_hardening.sh reads
// the notes back.
namespace tokenctl::dlopen_note {

inline constexpr char k_owner[] = "FDO";
inline constexpr std::uint32_t k_type = 0x407c0c0a;

template <std::size_t N> struct Note {
    std::uint32_t name_size;
    std::uint32_t description_size;
    std::uint32_t type;
    char name[sizeof(k_owner)];
    alignas(4) char description[(N + 3) / 4 * 4];
};

template <std::size_t N> constexpr Note<N> make(const char (&json)[N]) {
    Note<N> note{sizeof(k_owner), N, k_type, {}, {}};
    for (std::size_t i = 0; i < sizeof(k_owner); ++i) {
        note.name[i] = k_owner[i];
    }
    for (std::size_t i = 0; i < N; ++i) {
        note.description[i] = json[i];
    }
    return note;
}

} // namespace tokenctl::dlopen_note

// Declares, in the binary's .note.dlopen section, the note whose description is the JSON
// string literal `json`. Constant-initialized, so it is laid out at compile time.
#define TOKENCTL_DLOPEN_NOTE(variable, json)                                                       \
    [[gnu::used, gnu::section(".note.dlopen")]] alignas(4) constexpr auto variable =               \
        ::tokenctl::dlopen_note::make(json)
