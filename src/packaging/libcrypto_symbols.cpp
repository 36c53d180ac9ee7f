// tokenctl-libcrypto-symbols: not installed, never run. It links libcrypto and libssl the
// ordinary way and refers to every function that tokenctl loads from them with dlopen
// (libssl only for `serve --tls-cert`; Debian ships both in one package), so that
// dpkg-shlibdeps, reading its dynamic symbols, states the package and the version that
// those functions need (cmake/Packaging.cmake), as it does for tokenctl's own NEEDED
// libraries.
#include "core/libcrypto.h"
#include "serve/libssl.h"

// Defined with external linkage, so that the linker keeps every address and the binary
// imports every function.
extern const tokenctl::Libcrypto tokenctl_libcrypto_symbols;
const tokenctl::Libcrypto tokenctl_libcrypto_symbols{
#define TOKENCTL_LIBCRYPTO_ADDRESS(name) &::name,
    TOKENCTL_LIBCRYPTO_FUNCTIONS(TOKENCTL_LIBCRYPTO_ADDRESS)
#undef TOKENCTL_LIBCRYPTO_ADDRESS
};
extern const tokenctl::serve::Libssl tokenctl_libssl_symbols;
const tokenctl::serve::Libssl tokenctl_libssl_symbols{
#define TOKENCTL_LIBSSL_ADDRESS(name) &::name,
    TOKENCTL_LIBSSL_FUNCTIONS(TOKENCTL_LIBSSL_ADDRESS)
#undef TOKENCTL_LIBSSL_ADDRESS
};

int main() {
    return 0;
}
