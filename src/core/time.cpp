#include <tokenctl/error.h>
#include <tokenctl/time.h>
#include <tokenctl/validate.h>

#include <fmt/format.h>

#include <charconv>
#include <chrono>
#include <limits>

namespace tokenctl {

namespace {

constexpr Millis k_second = 1000;
constexpr Millis k_minute = 60 * k_second;
constexpr Millis k_hour = 60 * k_minute;
constexpr Millis k_day = 24 * k_hour;

// Reads exactly `width` digits at `pos`; false if they are not all digits.
bool read_digits(std::string_view text, std::size_t& pos, std::size_t width, int& out) {
    if (pos + width > text.size()) {
        return false;
    }
    int value = 0;
    for (std::size_t i = 0; i < width; ++i) {
        char c = text[pos + i];
        if (c < '0' || c > '9') {
            return false;
        }
        value = value * 10 + (c - '0');
    }
    pos += width;
    out = value;
    return true;
}

bool expect(std::string_view text, std::size_t& pos, std::string_view chars) {
    if (pos < text.size() && chars.find(text[pos]) != std::string_view::npos) {
        ++pos;
        return true;
    }
    return false;
}

} // namespace

Millis now_ms() {
    using namespace std::chrono;
    return duration_cast<milliseconds>(system_clock::now().time_since_epoch()).count();
}

std::string format_rfc3339(Millis t) {
    using namespace std::chrono;
    sys_seconds secs{duration_cast<seconds>(milliseconds{t - ((t % 1000) + 1000) % 1000})};
    auto days = floor<std::chrono::days>(secs);
    year_month_day ymd{days};
    hh_mm_ss hms{secs - days};
    int year = static_cast<int>(ymd.year());
    if (year < 0 || year > 9999) {
        return fmt::format("{:04}-{:02}-{:02}T{:02}:{:02}:{:02}Z", year,
                           static_cast<unsigned>(ymd.month()), static_cast<unsigned>(ymd.day()),
                           hms.hours().count(), hms.minutes().count(), hms.seconds().count());
    }
    // Listings format three times a row, a million rows at a time: digits are written
    // straight into place rather than through a format string.
    std::string out = "0000-00-00T00:00:00Z";
    auto put = [&](std::size_t end, long long value) {
        for (std::size_t i = end; value > 0; value /= 10) {
            out[--i] = static_cast<char>('0' + value % 10);
        }
    };
    put(4, year);
    put(7, static_cast<unsigned>(ymd.month()));
    put(10, static_cast<unsigned>(ymd.day()));
    put(13, hms.hours().count());
    put(16, hms.minutes().count());
    put(19, hms.seconds().count());
    return out;
}

Millis parse_rfc3339(std::string_view text) {
    auto bad = [&] {
        return Error(Status::usage, fmt::format("invalid time {}", printable(text)),
                     "use RFC 3339, e.g. 2026-11-27T18:05:51Z, or a duration such as 24h");
    };
    std::size_t pos = 0;
    int year = 0, month = 0, day = 0, hour = 0, minute = 0, second = 0;
    if (!read_digits(text, pos, 4, year) || !expect(text, pos, "-") ||
        !read_digits(text, pos, 2, month) || !expect(text, pos, "-") ||
        !read_digits(text, pos, 2, day) || !expect(text, pos, "Tt ") ||
        !read_digits(text, pos, 2, hour) || !expect(text, pos, ":") ||
        !read_digits(text, pos, 2, minute) || !expect(text, pos, ":") ||
        !read_digits(text, pos, 2, second)) {
        throw bad();
    }
    Millis fraction = 0;
    if (expect(text, pos, ".")) {
        std::size_t start = pos;
        Millis scale = 100;
        while (pos < text.size() && text[pos] >= '0' && text[pos] <= '9') {
            fraction += (text[pos] - '0') * scale;
            scale /= 10;
            ++pos;
        }
        if (pos == start) {
            throw bad();
        }
    }
    Millis offset = 0;
    if (expect(text, pos, "Zz")) {
        offset = 0;
    } else if (pos < text.size() && (text[pos] == '+' || text[pos] == '-')) {
        int sign = text[pos] == '-' ? -1 : 1;
        ++pos;
        int oh = 0, om = 0;
        if (!read_digits(text, pos, 2, oh) || !expect(text, pos, ":") ||
            !read_digits(text, pos, 2, om) || oh > 23 || om > 59) {
            throw bad();
        }
        offset = sign * (oh * k_hour + om * k_minute);
    } else {
        throw bad();
    }
    if (pos != text.size()) {
        throw bad();
    }
    using namespace std::chrono;
    year_month_day ymd{std::chrono::year{year}, std::chrono::month{static_cast<unsigned>(month)},
                       std::chrono::day{static_cast<unsigned>(day)}};
    if (!ymd.ok() || hour > 23 || minute > 59 || second > 60) {
        throw bad();
    }
    Millis days = sys_days{ymd}.time_since_epoch().count();
    return days * k_day + hour * k_hour + minute * k_minute + second * k_second + fraction - offset;
}

Millis parse_duration(std::string_view text, std::string_view what) {
    auto bad = [&] {
        return Error(Status::usage, fmt::format("invalid {} {}", what, printable(text)),
                     "a duration is a positive whole number and a unit s, m, h or d, e.g. "
                     "90m, 2h, 30d");
    };
    if (text.size() < 2 || text.size() > 20) {
        throw bad();
    }
    Millis unit = 0;
    switch (text.back()) {
    case 's':
        unit = k_second;
        break;
    case 'm':
        unit = k_minute;
        break;
    case 'h':
        unit = k_hour;
        break;
    case 'd':
        unit = k_day;
        break;
    default:
        throw bad();
    }
    std::string_view digits = text.substr(0, text.size() - 1);
    for (char c : digits) {
        if (c < '0' || c > '9') {
            throw bad();
        }
    }
    Millis count = 0;
    auto [end, ec] = std::from_chars(digits.data(), digits.data() + digits.size(), count);
    if (ec != std::errc{} || end != digits.data() + digits.size() || count <= 0 ||
        count > std::numeric_limits<Millis>::max() / unit) {
        throw bad();
    }
    return count * unit;
}

std::string format_duration(Millis d) {
    if (d % k_day == 0) {
        return fmt::format("{}d", d / k_day);
    }
    if (d % k_hour == 0) {
        return fmt::format("{}h", d / k_hour);
    }
    if (d % k_minute == 0) {
        return fmt::format("{}m", d / k_minute);
    }
    return fmt::format("{}s", d / k_second);
}

} // namespace tokenctl
