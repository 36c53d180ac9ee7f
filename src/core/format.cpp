#include <tokenctl/error.h>
#include <tokenctl/format.h>
#include <tokenctl/validate.h>

#include <fmt/format.h>
#include <nlohmann/json.hpp>

#include <algorithm>
#include <clocale>
#include <cwchar>
#include <langinfo.h>
#include <wchar.h>

namespace tokenctl {

namespace {

using Json = nlohmann::ordered_json;

// Columns a terminal gives `text` (UTF-8), as the C library's wcwidth counts them under
// the UTF-8 LC_CTYPE the front end sets (use_utf8_ctype): East Asian wide characters two,
// combining marks and zero-width characters nothing. A byte that is not UTF-8, or a
// character wcwidth calls unprintable, counts one.
std::size_t display_width(std::string_view text) {
    if (std::all_of(text.begin(), text.end(),
                    [](char c) { return static_cast<unsigned char>(c) < 0x80; })) {
        return text.size(); // ASCII, nearly every field of a large listing
    }
    std::size_t width = 0;
    std::mbstate_t state{};
    const char* p = text.data();
    std::size_t left = text.size();
    while (left > 0) {
        wchar_t wc = 0;
        std::size_t n = std::mbrtowc(&wc, p, left, &state);
        if (n == static_cast<std::size_t>(-1) || n == static_cast<std::size_t>(-2)) {
            state = {};
            n = 1;
            width += 1;
        } else {
            n = std::max<std::size_t>(n, 1);
            int w = ::wcwidth(wc);
            width += w < 0 ? 1 : static_cast<std::size_t>(w);
        }
        p += n;
        left -= n;
    }
    return width;
}

// Whether `text` can be shown as it is: printable ASCII, nearly every field of a large
// listing. Anything else goes through escape_controls.
bool plain_ascii(std::string_view text) {
    return std::all_of(text.begin(), text.end(), [](char c) {
        auto b = static_cast<unsigned char>(c);
        return b >= 0x20 && b < 0x7F;
    });
}

// The text of a field as a human format (table, CSV, TSV) shows it, without copying it
// when it is plain; numbers and escaped text are written into `scratch`. Whatever the
// store holds (a name or a detail written with psql or sqlite3), C0 and C1 controls and
// the format characters names refuse are escaped (\x1b), so that a row stays one line
// and shows what is stored.
std::string_view text_of(const Field& field, std::string& scratch) {
    switch (field.kind) {
    case Field::Kind::text:
        if (plain_ascii(field.text)) {
            return field.text;
        }
        scratch = escape_controls(field.text);
        return scratch;
    case Field::Kind::number:
        scratch = std::to_string(field.number);
        return scratch;
    case Field::Kind::null:
        return {};
    }
    return {};
}

Json json_of(const Field& field) {
    switch (field.kind) {
    case Field::Kind::text:
        return field.text;
    case Field::Kind::number:
        return field.number;
    case Field::Kind::null:
        return nullptr;
    }
    return nullptr;
}

Json object_of(std::span<const ColumnSpec> columns, const std::vector<Field>& fields) {
    Json object = Json::object();
    for (std::size_t i = 0; i < columns.size(); ++i) {
        object[std::string(columns[i].key)] = json_of(fields[i]);
    }
    return object;
}

// Aligned columns separated by three spaces, one header line, nothing else.
class TableWriter final : public ListingWriter {
  public:
    TableWriter(std::ostream& out, std::vector<ColumnSpec> columns, bool headers)
        : m_out(out), m_headers(headers) {
        for (std::size_t i = 0; i < columns.size(); ++i) {
            if (!columns[i].header.empty()) {
                m_shown.push_back(i);
                m_titles.emplace_back(columns[i].header);
                m_widths.push_back(headers ? display_width(columns[i].header) : 0);
            }
        }
    }

    bool two_passes() const override { return true; }

    void measure(const std::vector<Field>& row) override {
        for (std::size_t c = 0; c < m_shown.size(); ++c) {
            m_widths[c] = std::max(m_widths[c], display_width(text_of(row[m_shown[c]], m_scratch)));
        }
    }

    void write(const std::vector<Field>& row) override {
        print_header_once();
        std::vector<std::string> cells;
        for (std::size_t index : m_shown) {
            cells.emplace_back(text_of(row[index], m_scratch));
        }
        print_line(cells);
    }

    void finish() override { print_header_once(); }

  private:
    void print_header_once() {
        if (m_headers && !m_header_done) {
            m_header_done = true;
            print_line(m_titles);
        }
    }

    void print_line(const std::vector<std::string>& cells) {
        std::string line;
        for (std::size_t c = 0; c < cells.size(); ++c) {
            line += cells[c];
            if (c + 1 < cells.size()) {
                line.append(m_widths[c] - display_width(cells[c]) + 3, ' ');
            }
        }
        line += '\n';
        m_out << line;
    }

    std::ostream& m_out;
    std::string m_scratch; // a number's text, while its row is written
    bool m_headers;
    bool m_header_done = false;
    std::vector<std::size_t> m_shown;
    std::vector<std::string> m_titles;
    std::vector<std::size_t> m_widths;
};

// One JSON array; each object on a line of its own, compact, as nlohmann dumps it. The
// keys are serialized once; each value goes through nlohmann's serializer alone, which
// spares building an object (nine allocated keys) for every row of a large listing.
class JsonWriter final : public ListingWriter {
  public:
    JsonWriter(std::ostream& out, const std::vector<ColumnSpec>& columns) : m_out(out) {
        for (std::size_t i = 0; i < columns.size(); ++i) {
            m_keys.push_back((i == 0 ? "{" : ",") + dump(Json(std::string(columns[i].key))) + ":");
        }
    }

    void write(const std::vector<Field>& row) override {
        m_line = m_first ? "[\n  " : ",\n  ";
        for (std::size_t i = 0; i < row.size(); ++i) {
            m_line += m_keys[i];
            const Field& field = row[i];
            switch (field.kind) {
            case Field::Kind::text:
                m_value.get_ref<std::string&>() = field.text;
                m_line += dump(m_value);
                break;
            case Field::Kind::number:
                m_line += std::to_string(field.number);
                break;
            case Field::Kind::null:
                m_line += "null";
                break;
            }
        }
        m_line += '}';
        m_out << m_line;
        m_first = false;
    }

    void finish() override { m_out << (m_first ? "[]\n" : "\n]\n"); }

  private:
    static std::string dump(const Json& value) {
        return value.dump(-1, ' ', false, Json::error_handler_t::replace);
    }

    std::ostream& m_out;
    std::vector<std::string> m_keys; // `{"token_id":`, `,"user":`, ...
    Json m_value = std::string();    // reused for every text value
    std::string m_line;
    bool m_first = true;
};

// CSV as RFC 4180 writes it (CRLF line ends, quotes where needed), or TSV.
class DelimitedWriter final : public ListingWriter {
  public:
    DelimitedWriter(std::ostream& out, std::vector<ColumnSpec> columns, bool headers, bool csv)
        : m_out(out), m_csv(csv) {
        if (headers) {
            for (const auto& column : columns) {
                m_header.push_back(Field::of(std::string(column.key)));
            }
        }
    }

    void write(const std::vector<Field>& row) override {
        write_header_once();
        write_line(row);
    }

    void finish() override { write_header_once(); }

  private:
    // The header goes out with the first row, so a listing refused before its first row
    // (a permission check inside the row source) prints nothing on stdout.
    void write_header_once() {
        if (!m_header.empty()) {
            write_line(m_header);
            m_header.clear();
        }
    }

    void write_line(const std::vector<Field>& row) {
        std::string line;
        for (std::size_t i = 0; i < row.size(); ++i) {
            if (i > 0) {
                line += m_csv ? ',' : '\t';
            }
            std::string_view value = text_of(row[i], m_scratch);
            m_csv ? append_csv(line, value) : append_tsv(line, value);
        }
        line += m_csv ? "\r\n" : "\n";
        m_out << line;
    }

    static void append_csv(std::string& line, std::string_view value) {
        if (value.find_first_of(",\"\r\n") == std::string::npos) {
            line += value;
            return;
        }
        line += '"';
        for (char c : value) {
            if (c == '"') {
                line += '"';
            }
            line += c;
        }
        line += '"';
    }

    // Tabs and line breaks cannot occur in validated values; should one appear it is
    // escaped so that a row stays one line.
    static void append_tsv(std::string& line, std::string_view value) {
        for (char c : value) {
            switch (c) {
            case '\t':
                line += "\\t";
                break;
            case '\n':
                line += "\\n";
                break;
            case '\r':
                line += "\\r";
                break;
            default:
                line += c;
            }
        }
    }

    std::ostream& m_out;
    std::string m_scratch; // a number's text, while its row is written
    bool m_csv;
    std::vector<Field> m_header;
};

} // namespace

void use_utf8_ctype() {
    std::setlocale(LC_CTYPE, "");
    if (std::string_view(::nl_langinfo(CODESET)) != "UTF-8") {
        std::setlocale(LC_CTYPE, "C.UTF-8");
    }
}

std::size_t text_width(std::string_view text) {
    return display_width(text);
}

Format parse_format(std::string_view text) {
    if (text == "table") {
        return Format::table;
    }
    if (text == "json") {
        return Format::json;
    }
    if (text == "csv") {
        return Format::csv;
    }
    if (text == "tsv") {
        return Format::tsv;
    }
    throw Error(Status::usage, fmt::format("invalid format {}", printable(text)),
                "choose table, json, csv or tsv");
}

std::unique_ptr<ListingWriter> make_listing_writer(Format format, std::ostream& out,
                                                   std::vector<ColumnSpec> columns, bool headers) {
    switch (format) {
    case Format::table:
        return std::make_unique<TableWriter>(out, std::move(columns), headers);
    case Format::json:
        return std::make_unique<JsonWriter>(out, columns);
    case Format::csv:
        return std::make_unique<DelimitedWriter>(out, std::move(columns), headers, true);
    case Format::tsv:
        return std::make_unique<DelimitedWriter>(out, std::move(columns), headers, false);
    }
    throw Error(Status::usage, "invalid format");
}

void write_json_object(std::ostream& out, std::span<const ColumnSpec> columns,
                       const std::vector<Field>& fields) {
    out << object_of(columns, fields).dump(2, ' ', false, Json::error_handler_t::replace) << '\n';
}

} // namespace tokenctl
