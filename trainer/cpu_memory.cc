#include "trainer/cpu_memory.h"

#include <climits>

#if defined(__GLIBC__)
#include <malloc.h>
#endif

namespace actsparse::trainer {

bool keep_freed_memory() {
#if defined(__GLIBC__)
    // Order matters little; both are process-wide and idempotent.
    const bool no_mmap = mallopt(M_MMAP_MAX, 0) == 1;
    const bool no_trim = mallopt(M_TRIM_THRESHOLD, INT_MAX) == 1;
    return no_mmap && no_trim;
#else
    return false;
#endif
}

}  // namespace actsparse::trainer
