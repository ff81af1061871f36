#pragma once
/// @file Keeps the SystemC kernel's copyright banner out of program output: sets
/// SYSTEMC_DISABLE_COPYRIGHT_MESSAGE=1 (unless the user set it) during static initialization
/// of every translation unit that includes an hw/ header, i.e. before main() and before the
/// kernel, which libsystemc's main() creates ahead of sc_main, prints it.
#include <cstdlib>

namespace actsparse::hw::detail {

inline const bool kSystemcBannerOff = [] {
    setenv("SYSTEMC_DISABLE_COPYRIGHT_MESSAGE", "1", 0);
    return true;
}();

}  // namespace actsparse::hw::detail
