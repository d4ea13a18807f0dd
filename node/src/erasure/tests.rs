use proptest::prelude::*;
use rand::rngs::StdRng;
use rand::seq::index::sample;
use rand::{RngCore, SeedableRng};

use super::*;

const PROFILES: [(u8, u8); 6] = [(1, 0), (2, 1), (3, 3), (4, 2), (5, 3), (8, 4)];

fn codec(k: u8, m: u8) -> Codec {
    Codec::new(EcProfile { data: k, parity: m }).expect("valid profile")
}

fn stripe(len: usize, seed: u64) -> Vec<u8> {
    let mut bytes = vec![0; len];
    StdRng::seed_from_u64(seed).fill_bytes(&mut bytes);
    bytes
}

/// The encoded shards with the shards at `missing` removed.
fn with_missing(shards: &[Bytes], missing: &[usize]) -> Vec<Option<Bytes>> {
    let mut out: Vec<_> = shards.iter().cloned().map(Some).collect();
    for &i in missing {
        out[i] = None;
    }
    out
}

fn random_missing(total: usize, count: usize, seed: u64) -> Vec<usize> {
    sample(&mut StdRng::seed_from_u64(seed), total, count).into_vec()
}

/// Every subset of `0..n` with `r` elements.
fn subsets(n: usize, r: usize) -> Vec<Vec<usize>> {
    (0u32..1 << n)
        .filter(|mask| mask.count_ones() as usize == r)
        .map(|mask| (0..n).filter(|i| mask & (1 << i) != 0).collect())
        .collect()
}

fn stripe_len() -> impl Strategy<Value = usize> {
    prop_oneof![1usize..=300, 1usize..=(1 << 20)]
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 128, ..ProptestConfig::default() })]

    #[test]
    fn any_m_missing_decode_and_reconstruct(
        profile in prop::sample::select(&PROFILES[..]),
        len in stripe_len(),
        seed in any::<u64>(),
    ) {
        let (k, m) = profile;
        let codec = codec(k, m);
        let data = stripe(len, seed);
        let shards = codec.encode(&data).unwrap();
        prop_assert_eq!(shards.len(), codec.profile().total());
        let shard_len = codec.shard_len(len);
        prop_assert!(shards.iter().all(|s| s.len() == shard_len));

        let missing = random_missing(shards.len(), m as usize, seed);
        let mut partial = with_missing(&shards, &missing);
        prop_assert_eq!(codec.decode(&partial, len).unwrap(), data);

        codec.reconstruct(&mut partial, len).unwrap();
        let rebuilt: Vec<Bytes> = partial.into_iter().map(|s| s.unwrap()).collect();
        prop_assert_eq!(rebuilt, shards);
    }

    #[test]
    fn too_few_or_bad_shards_are_errors(
        profile in prop::sample::select(&PROFILES[..]),
        len in stripe_len(),
        seed in any::<u64>(),
    ) {
        let (k, m) = profile;
        let codec = codec(k, m);
        let shards = codec.encode(&stripe(len, seed)).unwrap();

        let mut partial = with_missing(&shards, &random_missing(shards.len(), m as usize + 1, seed));
        let too_few = |e: EcError| matches!(e, EcError::TooFewShards { present, needed, .. }
            if present == k as usize - 1 && needed == k as usize);
        prop_assert!(too_few(codec.decode(&partial, len).unwrap_err()));
        prop_assert!(too_few(codec.reconstruct(&mut partial, len).unwrap_err()));

        let index = (seed % shards.len() as u64) as usize;
        let mut bad = with_missing(&shards, &[]);
        let mut longer = shards[index].to_vec();
        longer.extend_from_slice(&[0, 0]);
        bad[index] = Some(Bytes::from(longer));
        let wrong_len = |e: EcError| matches!(e, EcError::WrongShardLength { index: i, .. } if i == index);
        prop_assert!(wrong_len(codec.decode(&bad, len).unwrap_err()));
        prop_assert!(wrong_len(codec.reconstruct(&mut bad, len).unwrap_err()));
    }
}

/// Every way of losing m shards, and every way of losing fewer, on an odd-length stripe.
#[test]
fn every_loss_pattern() {
    for (k, m) in PROFILES {
        let codec = codec(k, m);
        let len = 3 * 1024 + 7;
        let data = stripe(len, 7);
        let shards = codec.encode(&data).unwrap();
        for lost in 0..=m as usize {
            for missing in subsets(shards.len(), lost) {
                let mut partial = with_missing(&shards, &missing);
                assert_eq!(
                    codec.decode(&partial, len).unwrap(),
                    data,
                    "{k}+{m} missing {missing:?}"
                );
                codec.reconstruct(&mut partial, len).unwrap();
                assert!(partial.iter().zip(&shards).all(|(a, b)| a.as_ref() == Some(b)));
            }
        }
    }
}

#[test]
fn shard_len_covers_the_stripe() {
    for (k, m) in PROFILES {
        let codec = codec(k, m);
        assert_eq!(codec.shard_len(0), 0);
        for len in [1, 2, 3, 63, 64, 65, 1000, 1 << 20, 4 << 20, (4 << 20) + 1] {
            assert_eq!(codec.shard_len(len), len.div_ceil(k as usize));
        }
        assert!(codec.shard_len(usize::MAX) > 0);
    }
}

#[test]
fn data_shards_are_the_stripe_in_order_zero_padded() {
    let codec = codec(4, 2);
    let data = stripe(13, 1);
    let shards = codec.encode(&data).unwrap();
    assert_eq!(codec.shard_len(13), 4);
    assert_eq!(&shards[0][..], &data[0..4]);
    assert_eq!(&shards[3][..], &[data[12], 0, 0, 0]);
    // A stripe shorter than k leaves whole data shards of zeros.
    let shards = codec.encode(&[9]).unwrap();
    assert_eq!(&shards[0][..], &[9]);
    assert!(shards[1..4].iter().all(|s| s[..] == [0]));
    let partial = with_missing(&shards, &[0, 1]);
    assert_eq!(codec.decode(&partial, 1).unwrap(), [9]);
}

#[test]
fn no_parity_is_plain_striping() {
    let codec = codec(3, 0);
    let data = stripe(1001, 2);
    let shards = codec.encode(&data).unwrap();
    assert_eq!(shards.len(), 3);
    assert_eq!(codec.decode(&with_missing(&shards, &[]), data.len()).unwrap(), data);
    let mut full = with_missing(&shards, &[]);
    codec.reconstruct(&mut full, data.len()).unwrap();
    let mut partial = with_missing(&shards, &[1]);
    let err = codec.decode(&partial, data.len()).unwrap_err();
    assert_eq!(
        err.to_string(),
        "too few shards to rebuild a 3+0 stripe: 2 present, 3 needed"
    );
    assert!(codec.reconstruct(&mut partial, data.len()).is_err());
}

#[test]
fn bad_inputs_are_errors_with_clear_messages() {
    let codec = codec(4, 2);
    assert!(matches!(codec.encode(&[]), Err(EcError::EmptyStripe)));
    let shards = codec.encode(&stripe(100, 3)).unwrap();
    let mut five = with_missing(&shards[..5], &[]);
    assert_eq!(
        codec.decode(&five, 100).unwrap_err().to_string(),
        "a 4+2 stripe has 6 shards, but 5 were given"
    );
    assert!(matches!(
        codec.reconstruct(&mut five, 100),
        Err(EcError::WrongShardCount { .. })
    ));
    let all = with_missing(&shards, &[]);
    assert!(matches!(codec.decode(&all, 0), Err(EcError::EmptyStripe)));
    // The right shards read as a stripe of another size have the wrong length.
    assert_eq!(
        codec.decode(&all, 300).unwrap_err().to_string(),
        "shard 0 is 25 bytes, but a 300-byte stripe in 4+2 has 75-byte shards"
    );
    assert!(matches!(
        Codec::new(EcProfile { data: 0, parity: 2 }),
        Err(EcError::InvalidProfile { .. })
    ));
    assert!(matches!(
        Codec::new(EcProfile { data: 30, parity: 3 }),
        Err(EcError::InvalidProfile { .. })
    ));
}

#[test]
fn codec_is_send_sync_and_matches_the_library() {
    fn send_sync<T: Send + Sync + Clone>() {}
    send_sync::<Codec>();
    let codec = codec(5, 3);
    let data = stripe(10_000, 4);
    let threads: Vec<_> = (0..4)
        .map(|_| {
            let codec = codec.clone();
            let data = data.clone();
            std::thread::spawn(move || {
                let shards = codec.encode(&data).unwrap();
                codec.decode(&with_missing(&shards, &[0, 2, 4]), data.len()).unwrap()
            })
        })
        .collect();
    for t in threads {
        assert_eq!(t.join().unwrap(), data);
    }
    // Same parity as the library called directly.
    for len in [10_000, 17] {
        let data = stripe(len, len as u64);
        let shards = codec.encode(&data).unwrap();
        let mut parity = vec![vec![0u8; codec.shard_len(len)]; 3];
        ReedSolomon::new(5, 3)
            .unwrap()
            .encode_sep(&shards[..5], &mut parity)
            .unwrap();
        assert!(shards[5..].iter().zip(&parity).all(|(a, b)| a[..] == b[..]));
    }
}

/// Parity is an on-disk format: if this hash changes, stored parity no longer matches what the
/// code computes (a library change or upgrade changed the code). Do not update the hash; migrate.
#[test]
fn parity_is_stable() {
    let codec = codec(5, 3);
    let data: Vec<u8> = (0..100_003u32)
        .map(|i| (i.wrapping_mul(2_654_435_761) >> 13) as u8)
        .collect();
    let shards = codec.encode(&data).unwrap();
    let mut hasher = blake3::Hasher::new();
    for shard in &shards[5..] {
        hasher.update(shard);
    }
    assert_eq!(
        hasher.finalize().to_hex().as_str(),
        "78fe26b47378c8ffce165b259fc4e0ab468523569018f1a239414e445c6097b3"
    );
}
