#include "serve/request.h"

#include <tokenctl/crypto.h>
#include <tokenctl/validate.h>

namespace tokenctl::serve {

namespace {

// One name or value decoded; none for a bad escape or a control character.
std::optional<std::string> decode_component(std::string_view text) {
    std::string out;
    out.reserve(text.size()); // no reallocation leaves a copy of what it held behind
    for (std::size_t i = 0; i < text.size(); ++i) {
        char c = text[i];
        if (c == '+') {
            c = ' ';
        } else if (c == '%') {
            if (i + 2 >= text.size()) {
                wipe(out);
                return std::nullopt;
            }
            int high = hex_digit_value(text[i + 1]);
            int low = hex_digit_value(text[i + 2]);
            if (high < 0 || low < 0) {
                wipe(out);
                return std::nullopt;
            }
            c = static_cast<char>(high * 16 + low);
            i += 2;
        }
        auto byte = static_cast<unsigned char>(c);
        if (byte < 0x20 || byte == 0x7F) {
            wipe(out);
            return std::nullopt;
        }
        out.push_back(c);
    }
    return out;
}

bool is_token68_char(char c) {
    return (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '-' ||
           c == '.' || c == '_' || c == '~' || c == '+' || c == '/';
}

} // namespace

std::optional<Target> split_target(std::string_view target) {
    if (!target.starts_with('/')) {
        return std::nullopt;
    }
    Target t;
    std::size_t question = target.find('?');
    t.path = target.substr(0, question);
    if (question != std::string_view::npos) {
        t.query = target.substr(question + 1);
        t.has_query = true;
    }
    return t;
}

Params::~Params() {
    for (auto& [name, value] : *this) {
        wipe(value);
    }
}

std::optional<Params> parse_form(std::string_view text) {
    Params params;
    if (text.empty()) {
        return params;
    }
    std::size_t start = 0;
    while (true) {
        std::size_t end = text.find('&', start);
        std::string_view pair = text.substr(
            start, end == std::string_view::npos ? std::string_view::npos : end - start);
        std::size_t equals = pair.find('=');
        if (pair.empty() || equals == std::string_view::npos || equals == 0) {
            return std::nullopt;
        }
        auto name = decode_component(pair.substr(0, equals));
        auto value = decode_component(pair.substr(equals + 1));
        bool added = name && value && !name->empty() &&
                     params.emplace(std::move(*name), std::move(*value)).second;
        if (value) {
            wipe(*value); // left behind by a refused pair
        }
        if (!added) {
            return std::nullopt;
        }
        if (end == std::string_view::npos) {
            return params;
        }
        start = end + 1;
    }
}

bool is_form_content_type(std::string_view value) {
    std::string_view type = value.substr(0, value.find(';'));
    while (!type.empty() && (type.back() == ' ' || type.back() == '\t')) {
        type.remove_suffix(1);
    }
    return iequals(type, "application/x-www-form-urlencoded");
}

std::optional<std::string_view> bearer_token(std::string_view header) {
    constexpr std::string_view k_scheme = "bearer";
    if (header.size() <= k_scheme.size() || !iequals(header.substr(0, k_scheme.size()), k_scheme) ||
        header[k_scheme.size()] != ' ') {
        return std::nullopt;
    }
    std::string_view token = header.substr(k_scheme.size());
    while (token.starts_with(' ')) {
        token.remove_prefix(1);
    }
    // token68: its characters, then optional '=' padding, and nothing else.
    std::size_t i = 0;
    while (i < token.size() && is_token68_char(token[i])) {
        ++i;
    }
    if (i == 0) {
        return std::nullopt;
    }
    while (i < token.size() && token[i] == '=') {
        ++i;
    }
    if (i != token.size()) {
        return std::nullopt;
    }
    return token;
}

} // namespace tokenctl::serve
