#include <tokenctl/crypto.h>
#include <tokenctl/error.h>
#include <tokenctl/secret.h>

#include <array>

namespace tokenctl {

namespace {

constexpr std::string_view k_alphabet =
    "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz";
constexpr std::size_t k_value_digits = 43; // 62^43 > 2^256
constexpr std::size_t k_crc_digits = 6;    // 62^6 > 2^32
constexpr std::size_t k_prefix_length = 4;

// Each kind's prefix and name, in SecretKind's order.
struct KindText {
    std::string_view prefix;
    std::string_view name;
};
constexpr std::array<KindText, 3> k_kinds = {{
    {"tca_", "access"},
    {"tcr_", "refresh"},
    {"tcs_", "client"},
}};

std::string_view prefix_of(SecretKind kind) {
    return k_kinds[static_cast<std::size_t>(kind)].prefix;
}

const std::array<std::uint32_t, 256>& crc_table() {
    static const auto table = [] {
        std::array<std::uint32_t, 256> t{};
        for (std::uint32_t i = 0; i < 256; ++i) {
            std::uint32_t c = i;
            for (int k = 0; k < 8; ++k) {
                c = (c & 1u) ? 0xEDB88320u ^ (c >> 1) : c >> 1;
            }
            t[i] = c;
        }
        return t;
    }();
    return table;
}

// The secret of a 256-bit random value; wipes `value`.
std::string secret_of(SecretKind kind, std::array<unsigned char, 32>& value) {
    // The 256-bit big-endian number as eight 32-bit limbs, most significant first: the
    // long division below then takes 8 steps a digit instead of 32.
    std::array<std::uint32_t, 8> limbs{};
    for (std::size_t i = 0; i < limbs.size(); ++i) {
        limbs[i] = (std::uint32_t{value[4 * i]} << 24) | (std::uint32_t{value[4 * i + 1]} << 16) |
                   (std::uint32_t{value[4 * i + 2]} << 8) | std::uint32_t{value[4 * i + 3]};
    }
    wipe(value.data(), value.size());
    std::string out(prefix_of(kind));
    std::string digits(k_value_digits, '0');
    // Long division of the number by 62, one digit at a time.
    for (std::size_t d = k_value_digits; d-- > 0;) {
        std::uint64_t remainder = 0;
        for (auto& limb : limbs) {
            std::uint64_t acc = (remainder << 32) | limb;
            limb = static_cast<std::uint32_t>(acc / 62);
            remainder = acc % 62;
        }
        digits[d] = k_alphabet[remainder];
    }
    out += digits;
    out += base62_u32(crc32(out), k_crc_digits);
    wipe(limbs.data(), sizeof limbs);
    wipe(digits.data(), digits.size());
    return out;
}

std::string hex_of(const std::string& raw) {
    static constexpr std::string_view k_hex = "0123456789abcdef";
    std::string out;
    out.reserve(raw.size() * 2);
    for (char c : raw) {
        auto b = static_cast<unsigned char>(c);
        out += k_hex[b >> 4];
        out += k_hex[b & 0xFu];
    }
    return out;
}

} // namespace

std::string_view kind_name(SecretKind kind) {
    return k_kinds[static_cast<std::size_t>(kind)].name;
}

std::string sealing_context(std::string_view owner_id, SecretKind kind) {
    std::string context(owner_id);
    context += ':';
    context += kind_name(kind);
    return context;
}

std::uint32_t crc32(std::string_view data) {
    const auto& table = crc_table();
    std::uint32_t c = 0xFFFFFFFFu;
    for (char ch : data) {
        c = table[(c ^ static_cast<unsigned char>(ch)) & 0xFFu] ^ (c >> 8);
    }
    return c ^ 0xFFFFFFFFu;
}

std::string base62_u32(std::uint32_t value, std::size_t width) {
    std::string out(width, '0');
    for (std::size_t i = width; i-- > 0 && value != 0;) {
        out[i] = k_alphabet[value % 62];
        value /= 62;
    }
    return out;
}

std::string generate_secret(SecretKind kind) {
    std::array<unsigned char, 32> value{};
    random_bytes(value.data(), value.size());
    return secret_of(kind, value);
}

std::string generate_secret(SecretKind kind, RandomPool& pool) {
    std::array<unsigned char, 32> value{};
    pool.fill(value.data(), value.size());
    return secret_of(kind, value);
}

bool is_well_formed_secret(std::string_view text, SecretKind kind) {
    if (text.size() != k_secret_length || !text.starts_with(prefix_of(kind))) {
        return false;
    }
    for (char c : text.substr(k_prefix_length)) {
        if (k_alphabet.find(c) == std::string_view::npos) {
            return false;
        }
    }
    std::string_view body = text.substr(0, k_prefix_length + k_value_digits);
    return text.substr(body.size()) == base62_u32(crc32(body), k_crc_digits);
}

std::string random_hex(std::size_t bytes) {
    std::string raw(bytes, '\0');
    random_bytes(reinterpret_cast<std::uint8_t*>(raw.data()), bytes);
    return hex_of(raw);
}

std::string random_hex(std::size_t bytes, RandomPool& pool) {
    std::string raw(bytes, '\0');
    pool.fill(reinterpret_cast<std::uint8_t*>(raw.data()), bytes);
    return hex_of(raw);
}

} // namespace tokenctl
