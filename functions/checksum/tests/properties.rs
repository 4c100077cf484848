//! Properties over arbitrary data: combining, chunking and encoding never change a checksum.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use copyflow_checksum::{Algorithm, Digest, Hasher, combine_crc, combine_full_object};
use proptest::prelude::*;
use proptest::sample::Index;

const CRCS: [Algorithm; 3] = [Algorithm::Crc32, Algorithm::Crc32c, Algorithm::Crc64Nvme];

fn crc(algorithm: Algorithm, data: &[u8]) -> u64 {
    Digest::compute(algorithm, data).as_u64().unwrap()
}

fn data() -> impl Strategy<Value = Vec<u8>> {
    proptest::collection::vec(any::<u8>(), 0..2048)
}

proptest! {
    #[test]
    fn combining_the_crcs_of_any_split_gives_the_crc_of_the_whole(data in data(), at in any::<Index>()) {
        let (a, b) = data.split_at(at.index(data.len() + 1));
        for algorithm in CRCS {
            prop_assert_eq!(
                combine_crc(algorithm, crc(algorithm, a), crc(algorithm, b), b.len() as u64),
                Ok(crc(algorithm, &data)),
                "{}", algorithm
            );
        }
    }

    #[test]
    fn combining_agrees_with_crc_fast_for_any_values_and_lengths(
        crc_a in any::<u64>(),
        crc_b in any::<u64>(),
        len_b in prop_oneof![0..4096u64, any::<u64>()],
    ) {
        let oracles = [
            (Algorithm::Crc32, crc_fast::CrcAlgorithm::Crc32IsoHdlc, u64::from(u32::MAX)),
            (Algorithm::Crc32c, crc_fast::CrcAlgorithm::Crc32Iscsi, u64::from(u32::MAX)),
            (Algorithm::Crc64Nvme, crc_fast::CrcAlgorithm::Crc64Nvme, u64::MAX),
        ];
        for (algorithm, oracle, mask) in oracles {
            let (a, b) = (crc_a & mask, crc_b & mask);
            prop_assert_eq!(
                combine_crc(algorithm, a, b, len_b),
                Ok(crc_fast::checksum_combine(oracle, a, b, len_b)),
                "{}", algorithm
            );
        }
    }

    #[test]
    fn a_full_object_checksum_of_any_partition_gives_the_crc_of_the_whole(
        data in data(),
        cuts in proptest::collection::vec(any::<Index>(), 0..6),
    ) {
        let mut cuts: Vec<usize> = cuts.iter().map(|c| c.index(data.len() + 1)).collect();
        cuts.push(0);
        cuts.push(data.len());
        cuts.sort_unstable();
        for algorithm in CRCS {
            let parts: Vec<_> = cuts
                .windows(2)
                .map(|w| (Digest::compute(algorithm, &data[w[0]..w[1]]), (w[1] - w[0]) as u64))
                .collect();
            prop_assert_eq!(
                combine_full_object(algorithm, &parts),
                Ok(Digest::compute(algorithm, &data))
            );
        }
    }

    #[test]
    fn hashing_in_any_chunking_equals_hashing_in_one_call(
        data in data(),
        cuts in proptest::collection::vec(any::<Index>(), 0..8),
    ) {
        let mut cuts: Vec<usize> = cuts.iter().map(|c| c.index(data.len() + 1)).collect();
        cuts.push(0);
        cuts.push(data.len());
        cuts.sort_unstable();

        let mut chunked = Hasher::new(&Algorithm::ALL, true);
        for w in cuts.windows(2) {
            chunked.update(&data[w[0]..w[1]]);
        }
        let mut one_shot = Hasher::new(&Algorithm::ALL, true);
        one_shot.update(&data);
        let one_shot = one_shot.finish();
        prop_assert_eq!(chunked.finish(), one_shot);
        for algorithm in Algorithm::ALL {
            prop_assert_eq!(one_shot.get(algorithm), Some(Digest::compute(algorithm, &data)));
        }
    }

    #[test]
    fn digests_survive_a_base64_round_trip(bytes in proptest::collection::vec(any::<u8>(), 32), which in any::<Index>()) {
        let algorithm = Algorithm::ALL[which.index(Algorithm::ALL.len())];
        let digest = Digest::new(algorithm, &bytes[..algorithm.digest_len()]).unwrap();
        let header = digest.to_base64();
        prop_assert_eq!(Digest::from_base64(algorithm, &header), Ok(digest));
        if let Some(value) = digest.as_u64() {
            prop_assert_eq!(Digest::from_crc(algorithm, value), Ok(digest));
        }
    }
}
