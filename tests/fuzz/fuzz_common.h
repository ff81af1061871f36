#pragma once
// Shared by the libFuzzer targets: the parsers' contract is that bad input is a
// core::InputError (the CLI's exit 2). Any other exception escaping a parser is a finding, as
// are the sanitizers' reports: the fuzzer aborts on them so libFuzzer saves the input.
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <exception>
#include <string>

#include "core/error.h"

namespace actsparse::fuzz {

template <typename F>
int run_parser(const char* target, F&& f) {
    try {
        f();
    } catch (const core::InputError&) {
        // the expected rejection of bad input
    } catch (const std::exception& e) {
        std::fprintf(stderr, "%s: not an InputError: %s\n", target, e.what());
        std::abort();
    }
    return 0;
}

inline std::string bytes(const uint8_t* data, size_t size) {
    return std::string(reinterpret_cast<const char*>(data), size);
}

}  // namespace actsparse::fuzz
