//! Verification reads come from the disk and leave nothing in the page cache.

use std::os::fd::AsRawFd;
use std::path::Path;

use super::super::{ShardFileHeader, ShardStore};

/// Pages of the file now in the page cache (`mincore` over a mapping, which faults nothing in).
fn resident_pages(path: &Path) -> usize {
    let file = std::fs::File::open(path).unwrap();
    let len = file.metadata().unwrap().len() as usize;
    // SAFETY: a read-only shared mapping of a file we hold open, unmapped before returning;
    // `mincore` writes one byte per page into a buffer of that many bytes.
    unsafe {
        let page = libc::sysconf(libc::_SC_PAGESIZE) as usize;
        let addr = libc::mmap(
            std::ptr::null_mut(),
            len,
            libc::PROT_READ,
            libc::MAP_SHARED,
            file.as_raw_fd(),
            0,
        );
        assert_ne!(addr, libc::MAP_FAILED);
        let mut pages = vec![0u8; len.div_ceil(page)];
        assert_eq!(libc::mincore(addr, len, pages.as_mut_ptr()), 0);
        libc::munmap(addr, len);
        pages.iter().filter(|p| *p & 1 == 1).count()
    }
}

#[tokio::test]
async fn a_verification_read_leaves_no_pages_in_the_page_cache() {
    let dir = tempfile::tempdir().unwrap();
    let store = ShardStore::open(dir.path(), 1 << 30, 0).unwrap();
    let id = [4u8; 16];
    let header = ShardFileHeader {
        format: 1,
        object_id: hex::encode(id),
        namespace: "ns".into(),
        key: "k".into(),
        index: 0,
        profile: "2+1".into(),
        stripe_size: 128 << 10,
        shard_len: 64 << 10,
        created_at_ms: 0,
    };
    let mut w = store.create(&id, &header).await.unwrap();
    for i in 0..4u8 {
        w.write_stripe(vec![i; 64 << 10]).await.unwrap();
    }
    w.finish(512 << 10, None).await.unwrap();
    let path = store.path(&id, 0);

    let mut reader = store.open_reader(&id, 0).await.unwrap();
    for stripe in 0..4 {
        reader.read_stripe(stripe).await.unwrap();
    }
    if resident_pages(&path) == 0 {
        eprintln!("skipped: this filesystem keeps no shard pages in the page cache");
        return;
    }
    let mut reader = store.open_reader_from_disk(&id, 0).await.unwrap();
    for stripe in 0..4 {
        let data = reader.read_stripe(stripe).await.unwrap();
        assert!(reader.verify(stripe, &data));
    }
    drop(reader);
    assert_eq!(resident_pages(&path), 0, "the verified pages stayed cached");
}
