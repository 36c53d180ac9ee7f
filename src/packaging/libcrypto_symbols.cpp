// tokenctl-libcrypto-symbols: not installed, never run. It links libcrypto the ordinary
// way and refers to every function that tokenctl loads from it with dlopen, so that
// dpkg-shlibdeps, reading its dynamic symbols, states the package and the version that
// those functions need (cmake/Packaging.cmake), as it does for tokenctl's own NEEDED
// libraries.
#include "core/libcrypto.h"

// Defined with external linkage, so that the linker keeps every address and the binary
// imports every function.
extern const tokenctl::Libcrypto tokenctl_libcrypto_symbols;
const tokenctl::Libcrypto tokenctl_libcrypto_symbols{
#define TOKENCTL_LIBCRYPTO_ADDRESS(name) &::name,
    TOKENCTL_LIBCRYPTO_FUNCTIONS(TOKENCTL_LIBCRYPTO_ADDRESS)
#undef TOKENCTL_LIBCRYPTO_ADDRESS
};

int main() {
    return 0;
}
