#pragma once

#include <cstdint>
#include <functional>
#include <memory>
#include <ostream>
#include <span>
#include <string>
#include <string_view>
#include <vector>

namespace tokenctl {

enum class Format { table, json, csv, tsv };

// Sets LC_CTYPE from the environment, or to C.UTF-8 when that is not a UTF-8 locale:
// names are UTF-8 whatever the caller's locale, and tables align them by display width.
void use_utf8_ctype();

// The columns a terminal gives UTF-8 `text`, as tables align it (wcwidth under LC_CTYPE).
std::size_t text_width(std::string_view text);

// Parses table|json|csv|tsv; throws Error(usage) otherwise.
Format parse_format(std::string_view text);

// One value of a row: text, a number, or absent (JSON null, an empty CSV/TSV field).
struct Field {
    enum class Kind { text, number, null };
    Kind kind = Kind::null;
    std::string text;
    std::int64_t number = 0;

    static Field of(std::string value) { return {Kind::text, std::move(value), 0}; }
    static Field of(std::int64_t value) { return {Kind::number, {}, value}; }
    static Field none() { return {}; }
};

// A column of a listing: its machine key (JSON, CSV and TSV) and, when it shows in
// tables, its header.
struct ColumnSpec {
    std::string_view key;
    std::string_view header; // empty: not shown in the table format
};

// Streams a listing in one format. Rows go to write() as they come; the table format
// needs every row measured first, so its callers make two passes (see two_passes()).
class ListingWriter {
  public:
    virtual ~ListingWriter() = default;
    // True when every row must be passed to measure() before the first write().
    virtual bool two_passes() const { return false; }
    virtual void measure(const std::vector<Field>&) {}
    virtual void write(const std::vector<Field>& row) = 0;
    // Closes the listing (the JSON array's bracket); call once after the last row.
    virtual void finish() = 0;
};

// A writer for `format` over `columns`; `headers` false drops the header line of
// table, CSV and TSV.
std::unique_ptr<ListingWriter> make_listing_writer(Format format, std::ostream& out,
                                                   std::vector<ColumnSpec> columns, bool headers);

// A column of a listing of `Row`s: its spec and how to read it from a row.
template <class Row> struct Column {
    ColumnSpec spec;
    Field (*get)(const Row&);
};

// The specs of `columns`, and a row's fields in that order (for single records).
template <class Row> std::vector<ColumnSpec> specs_of(std::span<const Column<Row>> columns) {
    std::vector<ColumnSpec> specs;
    for (const auto& column : columns) {
        specs.push_back(column.spec);
    }
    return specs;
}
template <class Row>
std::vector<Field> fields_of(std::span<const Column<Row>> columns, const Row& row) {
    std::vector<Field> fields;
    for (const auto& column : columns) {
        fields.push_back(column.get(row));
    }
    return fields;
}

// Writes a whole listing: `for_each_row` is called once (twice for tables) and must
// pass every row to the function it is given, in order.
template <class Row>
void write_listing(
    std::ostream& out, Format format, bool headers, std::span<const Column<Row>> columns,
    const std::function<void(const std::function<void(const Row&)>&)>& for_each_row) {
    auto writer = make_listing_writer(format, out, specs_of(columns), headers);
    // One vector reused for every row: a listing of a million tokens allocates once.
    std::vector<Field> fields(columns.size());
    auto fill = [&](const Row& row) {
        for (std::size_t i = 0; i < columns.size(); ++i) {
            fields[i] = columns[i].get(row);
        }
    };
    if (writer->two_passes()) {
        for_each_row([&](const Row& row) {
            fill(row);
            writer->measure(fields);
        });
    }
    for_each_row([&](const Row& row) {
        fill(row);
        writer->write(fields);
    });
    writer->finish();
}

// Writes one JSON object of `columns` for `fields`, pretty-printed, then a newline.
void write_json_object(std::ostream& out, std::span<const ColumnSpec> columns,
                       const std::vector<Field>& fields);

} // namespace tokenctl
