#include "cli/run.h"

int main(int argc, char** argv) {
    return tokenctl::cli::run(argc, argv);
}
