// The JSON listing writer serializes values one at a time; its output must stay byte for
// byte what nlohmann writes for a whole object (compact, UTF-8 kept, bad bytes replaced).
#include <tokenctl/format.h>

#include <doctest/doctest.h>
#include <nlohmann/json.hpp>

#include <sstream>

using namespace tokenctl;

TEST_CASE("json listing rows are what nlohmann dumps for the whole object") {
    std::vector<ColumnSpec> columns = {
        {"token_id", "ID"}, {"n", ""}, {"odd \"key\"\t", ""}, {"none", ""}};
    std::vector<std::vector<Field>> rows = {
        {Field::of("plain"), Field::of(std::int64_t{-42}), Field::of("tab\t\"q\" \\ /"),
         Field::none()},
        {Field::of("日本 \u00e9 \x01\x1f ctrl"), Field::of(std::int64_t{0}),
         Field::of(std::string("bad \xff\xfe utf-8")), Field::of("")},
    };
    std::ostringstream out;
    auto writer = make_listing_writer(Format::json, out, columns, true);
    for (const auto& row : rows) {
        writer->write(row);
    }
    writer->finish();

    std::string expected = "[\n";
    for (std::size_t r = 0; r < rows.size(); ++r) {
        nlohmann::ordered_json object = nlohmann::ordered_json::object();
        for (std::size_t i = 0; i < columns.size(); ++i) {
            const Field& f = rows[r][i];
            std::string key(columns[i].key);
            if (f.kind == Field::Kind::text) {
                object[key] = f.text;
            } else if (f.kind == Field::Kind::number) {
                object[key] = f.number;
            } else {
                object[key] = nullptr;
            }
        }
        expected += "  " +
                    object.dump(-1, ' ', false, nlohmann::ordered_json::error_handler_t::replace) +
                    (r + 1 < rows.size() ? ",\n" : "\n");
    }
    expected += "]\n";
    CHECK(out.str() == expected);
}
