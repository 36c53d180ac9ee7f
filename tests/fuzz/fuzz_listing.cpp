// The listing writers fed arbitrary field bytes, over the token listing's columns:
// CSV must parse back (RFC 4180) to exactly the fields written; JSON must parse, hold
// one object per row with the columns' keys in order, and keep every valid UTF-8 value
// exactly; TSV and table rows stay one line each when no value holds a line break.
#include "fuzz_support.h"

#include <tokenctl/commands.h>
#include <tokenctl/format.h>
#include <tokenctl/validate.h>

#include <fuzzer/FuzzedDataProvider.h>
#include <nlohmann/json.hpp>

#include <cstddef>
#include <cstdint>
#include <sstream>
#include <string>
#include <vector>

namespace {

using Rows = std::vector<std::vector<tokenctl::Field>>;

// A field as the human formats (table, CSV, TSV) show it: text with its control and
// format characters escaped, whatever the store held.
std::string text_of(const tokenctl::Field& field) {
    switch (field.kind) {
    case tokenctl::Field::Kind::text:
        return tokenctl::escape_controls(field.text);
    case tokenctl::Field::Kind::number:
        return std::to_string(field.number);
    case tokenctl::Field::Kind::null:
        return {};
    }
    return {};
}

// An RFC 4180 reader, written apart from the writer: records end with CRLF, fields in
// double quotes may hold commas, quotes (doubled) and line breaks.
std::vector<std::vector<std::string>> parse_csv(const std::string& text) {
    std::vector<std::vector<std::string>> records;
    std::vector<std::string> record;
    std::string field;
    std::size_t i = 0;
    while (i < text.size()) {
        if (text[i] == '"') {
            ++i;
            for (;;) {
                fuzz::require(i < text.size(), "CSV: a quoted field is closed");
                if (text[i] == '"') {
                    if (i + 1 < text.size() && text[i + 1] == '"') {
                        field += '"';
                        i += 2;
                        continue;
                    }
                    ++i;
                    break;
                }
                field += text[i++];
            }
            fuzz::require(i < text.size() && (text[i] == ',' || text[i] == '\r'),
                          "CSV: a quoted field ends at a comma or a line end");
        }
        while (i < text.size() && text[i] != ',' && text[i] != '\r') {
            fuzz::require(text[i] != '"' && text[i] != '\n',
                          "CSV: no bare quote or line feed outside quotes");
            field += text[i++];
        }
        fuzz::require(i < text.size(), "CSV: the last record ends with CRLF");
        record.push_back(std::move(field));
        field.clear();
        if (text[i] == ',') {
            ++i;
            continue;
        }
        fuzz::require(i + 1 < text.size() && text[i + 1] == '\n', "CSV: records end with CRLF");
        i += 2;
        records.push_back(std::move(record));
        record.clear();
    }
    return records;
}

bool is_valid_json_string(const std::string& s) {
    try {
        (void)nlohmann::json(s).dump();
        return true;
    } catch (const nlohmann::json::type_error&) {
        return false;
    }
}

std::string write(tokenctl::Format format, bool headers, const Rows& rows) {
    std::ostringstream out;
    auto columns = tokenctl::specs_of(tokenctl::token_columns());
    auto writer = tokenctl::make_listing_writer(format, out, columns, headers);
    if (writer->two_passes()) {
        for (const auto& row : rows) {
            writer->measure(row);
        }
    }
    for (const auto& row : rows) {
        writer->write(row);
    }
    writer->finish();
    return out.str();
}

std::size_t count_lines(const std::string& text) {
    std::size_t n = 0;
    for (char c : text) {
        n += c == '\n' ? 1 : 0;
    }
    return n;
}

} // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
    FuzzedDataProvider input(data, size);
    auto columns = tokenctl::specs_of(tokenctl::token_columns());
    bool headers = input.ConsumeBool();
    Rows rows(input.ConsumeIntegralInRange<std::size_t>(0, 4));
    bool any_line_break = false;
    for (auto& row : rows) {
        for (std::size_t c = 0; c < columns.size(); ++c) {
            switch (input.ConsumeIntegralInRange<int>(0, 2)) {
            case 0:
                row.push_back(tokenctl::Field::of(input.ConsumeRandomLengthString(200)));
                break;
            case 1:
                row.push_back(tokenctl::Field::of(input.ConsumeIntegral<std::int64_t>()));
                break;
            default:
                row.push_back(tokenctl::Field::none());
                break;
            }
            any_line_break =
                any_line_break || row.back().text.find_first_of("\r\n") != std::string::npos;
        }
    }

    // CSV: parses back to the same fields, header included.
    auto records = parse_csv(write(tokenctl::Format::csv, headers, rows));
    fuzz::require(records.size() == rows.size() + (headers ? 1 : 0), "CSV: one record a row");
    std::size_t first = 0;
    if (headers) {
        for (std::size_t c = 0; c < columns.size(); ++c) {
            fuzz::require(records[0].size() == columns.size() && records[0][c] == columns[c].key,
                          "CSV: the header holds the keys");
        }
        first = 1;
    }
    for (std::size_t r = 0; r < rows.size(); ++r) {
        const auto& record = records[first + r];
        fuzz::require(record.size() == columns.size(), "CSV: one field a column");
        for (std::size_t c = 0; c < columns.size(); ++c) {
            fuzz::require(record[c] == text_of(rows[r][c]), "CSV: a field reads back as written");
        }
    }

    // JSON: parses, one object a row, keys in order, values kept.
    auto json =
        nlohmann::ordered_json::parse(write(tokenctl::Format::json, headers, rows), nullptr, false);
    fuzz::require(!json.is_discarded() && json.is_array(), "JSON: one array");
    fuzz::require(json.size() == rows.size(), "JSON: one object a row");
    for (std::size_t r = 0; r < rows.size(); ++r) {
        const auto& object = json[r];
        fuzz::require(object.is_object() && object.size() == columns.size(), "JSON: an object");
        std::size_t c = 0;
        for (const auto& [key, value] : object.items()) {
            fuzz::require(key == columns[c].key, "JSON: keys in column order");
            const auto& field = rows[r][c];
            switch (field.kind) {
            case tokenctl::Field::Kind::null:
                fuzz::require(value.is_null(), "JSON: null");
                break;
            case tokenctl::Field::Kind::number:
                fuzz::require(value.is_number_integer() &&
                                  value.get<std::int64_t>() == field.number,
                              "JSON: number");
                break;
            case tokenctl::Field::Kind::text:
                fuzz::require(value.is_string(), "JSON: string");
                if (is_valid_json_string(field.text)) {
                    fuzz::require(value.get<std::string>() == field.text, "JSON: text kept");
                }
                break;
            }
            ++c;
        }
    }
    if (!rows.empty()) {
        std::ostringstream one;
        tokenctl::write_json_object(one, columns, rows[0]);
        auto object = nlohmann::json::parse(one.str(), nullptr, false);
        fuzz::require(!object.is_discarded() && object.is_object(), "JSON: one record parses");
    }

    // TSV always one line a row; the table too when no value breaks a line.
    std::string tsv = write(tokenctl::Format::tsv, headers, rows);
    fuzz::require(count_lines(tsv) == rows.size() + (headers ? 1 : 0), "TSV: one line a row");
    std::string table = write(tokenctl::Format::table, headers, rows);
    if (!any_line_break) {
        fuzz::require(count_lines(table) == rows.size() + (headers ? 1 : 0),
                      "table: one line a row");
    }
    return 0;
}
