#include "dlopen.h"

#include <dlfcn.h>

#include <string>

namespace tokenctl::dl {

void* open_library(const char* soname, Failure fail) {
    void* library = ::dlopen(soname, RTLD_NOW | RTLD_LOCAL);
    if (library == nullptr) {
        const char* why = ::dlerror();
        fail(why != nullptr ? why : "dlopen failed");
    }
    return library;
}

void* symbol(void* library, const char* name, Failure fail) {
    void* address = ::dlsym(library, name);
    if (address == nullptr) {
        fail(std::string(name) + " is missing");
    }
    return address;
}

} // namespace tokenctl::dl
