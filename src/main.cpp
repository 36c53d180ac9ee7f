#include "cli/app.h"

int main(int argc, char** argv) {
    return tokenctl::cli::run(argc, argv);
}
