// fmt's compiled part, built into tokenctl_core. Debian's libfmt-dev has only a shared
// library, which every run would pay to load (with the shared libstdc++ it pulls in), and
// fmt's header-only mode compiles this same code into every file, at four times the build
// time. Without FMT_HEADER_ONLY, format-inl.h defines what libfmt.so exports; the
// instantiations below are the ones that format.h declares `extern template`.
#include <fmt/format-inl.h>

FMT_BEGIN_NAMESPACE
namespace detail {

template FMT_API auto thousands_sep_impl<char>(locale_ref) -> thousands_sep_result<char>;
template FMT_API auto decimal_point_impl(locale_ref) -> char;

} // namespace detail
FMT_END_NAMESPACE
