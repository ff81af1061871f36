#pragma once
/// @file Process-wide allocator setting for CPU training.

namespace actsparse::trainer {

/// Asks glibc's malloc to keep freed memory for reuse instead of returning it to the system
/// (no mmap for large blocks, no trimming of the heap). A CPU training step allocates and
/// frees map-sized tensors all the time; with the defaults each one is a fresh mmap whose
/// pages fault in one by one, which took about a third of a MobileNet-V2 step here
/// (docs/trainer.md). The price is that the process keeps its peak memory. A no-op off glibc.
/// Returns whether the setting was applied.
bool keep_freed_memory();

}  // namespace actsparse::trainer
