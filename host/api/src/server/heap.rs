//! Giving the heap that start-up freed back to the operating system.

/// Returns freed heap pages to the operating system. Compiling the plugins at start-up (on the
/// compiler's worker threads, each with its own glibc malloc arena) frees about 100 MiB that
/// glibc would otherwise keep resident for the life of the process. A no-op off glibc.
pub fn release_freed() {
    #[cfg(all(target_os = "linux", target_env = "gnu"))]
    // SAFETY: `malloc_trim` has no preconditions; it only walks glibc's own arenas under their
    // locks and returns free pages with `madvise`.
    unsafe {
        libc::malloc_trim(0);
    }
    // SAFETY: `mi_collect` has no preconditions; it frees the pages mimalloc (the binary's
    // allocator) holds empty, returning them to the operating system.
    unsafe {
        libmimalloc_sys::mi_collect(true);
    }
}
