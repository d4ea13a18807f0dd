//! `malloc::trim` gives memory freed inside the allocator's arenas back to the system (glibc).
//! Its own test binary: the process's resident size is what it measures.

#[cfg(all(target_os = "linux", target_env = "gnu"))]
#[test]
fn freed_memory_goes_back_to_the_system() {
    // 96 MiB of small blocks, all freed but the last one, which keeps the arena's top in use:
    // the freed memory stays resident until trimmed.
    let kept = std::thread::spawn(|| {
        let mut blocks: Vec<Vec<u8>> = (0..96 * 1024).map(|i| vec![i as u8; 1024]).collect();
        let last = blocks.pop();
        drop(blocks);
        last
    })
    .join()
    .unwrap();
    let before = resident();
    assert!(archipel_node::malloc::trim(), "nothing was given back");
    let after = resident();
    assert!(
        before.saturating_sub(after) > 48 << 20,
        "resident {before} bytes before the trim, {after} after"
    );
    assert_eq!(kept.map(|b| b.len()), Some(1024));
}

#[cfg(all(target_os = "linux", target_env = "gnu"))]
fn resident() -> u64 {
    let status = std::fs::read_to_string("/proc/self/status").unwrap();
    let kb = status
        .lines()
        .find_map(|l| l.strip_prefix("VmRSS:"))
        .and_then(|v| v.trim().trim_end_matches("kB").trim().parse::<u64>().ok())
        .unwrap();
    kb * 1024
}
