//! The allocator: jemalloc on Linux, for the whole process (Rust, and RocksDB's C++ through the
//! `malloc` it overrides). With glibc's malloc a node's memory followed its history, not its
//! load: at 100 000 objects a node held 708 MiB, 428 MiB after `malloc_trim`, glibc keeping
//! freed memory in its per-thread arenas (docs/performance.md, "Scale"). jemalloc's background
//! threads give unused pages back after its decay time, without the trim's arena locks.

#[global_allocator]
static GLOBAL: tikv_jemallocator::Jemalloc = tikv_jemallocator::Jemalloc;
