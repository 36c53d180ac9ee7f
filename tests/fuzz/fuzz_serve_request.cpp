// Feeds arbitrary bytes to serve's request parsers (src/serve/request.h): the request
// target, the form parameters of a query string or body, the Content-Type and the
// Authorization header. None may crash; what each accepts must meet its contract.
#include "fuzz_support.h"

#include "serve/request.h"

#include <cstddef>
#include <cstdint>
#include <string_view>

namespace {

bool is_token68(char c) {
    return fuzz::is_alpha(c) || (c >= '0' && c <= '9') || c == '-' || c == '.' || c == '_' ||
           c == '~' || c == '+' || c == '/' || c == '=';
}

} // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
    std::string_view text(reinterpret_cast<const char*>(data), size);
    using namespace tokenctl::serve;

    if (auto target = split_target(text)) {
        fuzz::require(target->path.starts_with('/'), "a path starts with /");
        fuzz::require(target->path.find('?') == std::string_view::npos, "a path holds no ?");
        fuzz::require(target->path.size() + target->query.size() + (target->has_query ? 1 : 0) ==
                          text.size(),
                      "path and query make the target");
    }

    if (auto params = parse_form(text)) {
        std::size_t pairs = text.empty() ? 0 : 1;
        for (char c : text) {
            pairs += c == '&' ? 1 : 0;
        }
        fuzz::require(params->size() == pairs, "one parameter per pair: none repeated");
        for (const auto& [name, value] : *params) {
            fuzz::require(!name.empty(), "a parameter has a name");
            for (char c : name + value) {
                auto byte = static_cast<unsigned char>(c);
                fuzz::require(byte >= 0x20 && byte != 0x7F, "no control character decoded");
            }
        }
    }

    if (is_form_content_type(text)) {
        fuzz::require(text.size() >= 33, "the form type is named in full");
    }

    if (auto token = bearer_token(text)) {
        fuzz::require(!token->empty(), "a bearer token is not empty");
        fuzz::require(text.ends_with(*token), "the token ends the header");
        for (char c : *token) {
            fuzz::require(is_token68(c), "a bearer token is token68");
        }
    }
    return 0;
}
