#include <tokenctl/error.h>
#include <tokenctl/format.h>

#include <doctest/doctest.h>

#include <sstream>

using namespace tokenctl;

namespace {

struct Row {
    std::string name;
    std::int64_t count;
    bool absent;
};

const std::array<Column<Row>, 3> k_columns{{
    {{"name", "NAME"}, [](const Row& r) { return Field::of(r.name); }},
    {{"count", "COUNT"}, [](const Row& r) { return Field::of(r.count); }},
    {{"note", ""},
     [](const Row& r) { return r.absent ? Field::none() : Field::of(std::string("n")); }},
}};

std::string render(Format format, const std::vector<Row>& rows, bool headers = true) {
    std::ostringstream out;
    int passes = 0;
    write_listing<Row>(out, format, headers, k_columns, [&](const auto& emit) {
        ++passes;
        for (const auto& r : rows) {
            emit(r);
        }
    });
    CHECK(passes == (format == Format::table ? 2 : 1));
    return out.str();
}

const std::vector<Row> k_rows = {{"alpha", 1, true}, {"a,\"b\"", 22, false}, {"日本", 3, true}};

} // namespace

TEST_CASE("text width: wide characters two columns, combining and zero-width ones none") {
    use_utf8_ctype();
    CHECK(text_width("alice") == 5);
    CHECK(text_width("日本") == 4);
    CHECK(text_width("e\u0301te\u0301") == 3);  // combining acute accents
    CHECK(text_width("a\u200bb") == 2);         // zero-width space
    CHECK(text_width("caf\u00e9 \u2615") == 7); // a precomposed é, a wide emoji
    CHECK(text_width("\xff") == 1);             // not UTF-8: one column, not a failure
}

TEST_CASE("table: aligned by display width, one header, no trailing padding") {
    use_utf8_ctype();
    CHECK(render(Format::table, k_rows) == "NAME    COUNT\n"
                                           "alpha   1\n"
                                           "a,\"b\"   22\n"
                                           "日本    3\n");
    CHECK(render(Format::table, k_rows, false) == "alpha   1\n"
                                                  "a,\"b\"   22\n"
                                                  "日本    3\n");
    CHECK(render(Format::table, {}) == "NAME   COUNT\n");
    CHECK(render(Format::table, {}, false).empty());
}

TEST_CASE("json: every key in order, null for absent values") {
    CHECK(render(Format::json, k_rows) ==
          "[\n"
          "  {\"name\":\"alpha\",\"count\":1,\"note\":null},\n"
          "  {\"name\":\"a,\\\"b\\\"\",\"count\":22,\"note\":\"n\"},\n"
          "  {\"name\":\"日本\",\"count\":3,\"note\":null}\n"
          "]\n");
    CHECK(render(Format::json, {}) == "[]\n");
}

TEST_CASE("csv: RFC 4180 quoting and CRLF") {
    CHECK(render(Format::csv, k_rows) == "name,count,note\r\n"
                                         "alpha,1,\r\n"
                                         "\"a,\"\"b\"\"\",22,n\r\n"
                                         "日本,3,\r\n");
    // Whatever the store holds, a field shows its line break escaped: a row stays a line.
    CHECK(render(Format::csv, {{"line\nbreak", 1, true}}, false) == "line\\x0abreak,1,\r\n");
    CHECK(render(Format::csv, {{"cr\r,x", 1, true}}, false) == "\"cr\\x0d,x\",1,\r\n");
}

TEST_CASE("tsv: tab-separated, escapes that keep a row on one line") {
    CHECK(render(Format::tsv, k_rows) == "name\tcount\tnote\n"
                                         "alpha\t1\t\n"
                                         "a,\"b\"\t22\tn\n"
                                         "日本\t3\t\n");
    CHECK(render(Format::tsv, {{"a\tb\nc", 1, true}}, false) == "a\\x09b\\x0ac\t1\t\n");
}

TEST_CASE("table, csv and tsv escape controls and format characters, JSON keeps them") {
    // ESC, a C1 CSI, a right-to-left override, DEL and a byte that is not UTF-8.
    const std::string hostile = "e\x1b[2Jv\xc2\x9bi\xe2\x80\xael\x7f\xff";
    const std::string shown = "e\\x1b[2Jv\\xc2\\x9bi\\xe2\\x80\\xael\\x7f\\xff";
    CHECK(render(Format::csv, {{hostile, 1, true}}, false) == shown + ",1,\r\n");
    CHECK(render(Format::tsv, {{hostile, 1, true}}, false) == shown + "\t1\t\n");
    CHECK(render(Format::table, {{hostile, 1, true}}, false) == shown + "   1\n");
    CHECK(render(Format::json, {{"a\x1b\n", 1, true}}, false).find("a\\u001b\\n") !=
          std::string::npos);
    // Printable text, ASCII or not, is shown as it is.
    CHECK(render(Format::csv, {{"Café 東京 ✓", 1, true}}, false) == "Café 東京 ✓,1,\r\n");
}

TEST_CASE("formats by name") {
    CHECK(parse_format("json") == Format::json);
    CHECK_THROWS_AS(parse_format("yaml"), Error);
}
