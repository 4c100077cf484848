//! Known values and S3 rules, each checked against an independent computation or a
//! published check value.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use copyflow_checksum::{
    Algorithm, ChecksumError, ChecksumType, Digest, Hasher, combine_crc, combine_full_object,
    composite, composite_digest, content_md5_matches, md5_etag, multipart_etag, parse_composite,
    parse_content_md5,
};
use md5::Digest as _;

const CHECK_INPUT: &[u8] = b"123456789";

fn hash_all(data: &[u8]) -> copyflow_checksum::Hashes {
    let mut hasher = Hasher::new(&Algorithm::ALL, true);
    hasher.update(data);
    hasher.finish()
}

fn crc(algorithm: Algorithm, data: &[u8]) -> u64 {
    Digest::compute(algorithm, data).as_u64().unwrap()
}

fn md5_of(data: &[u8]) -> [u8; 16] {
    md5::Md5::digest(data).into()
}

// ---- algorithm names ----

#[test]
fn algorithm_names_round_trip_and_ignore_case() {
    for algorithm in Algorithm::ALL {
        let name = algorithm.as_s3_name();
        assert_eq!(Algorithm::from_s3_name(name), Some(algorithm));
        assert_eq!(
            Algorithm::from_s3_name(&name.to_ascii_lowercase()),
            Some(algorithm)
        );
        assert_eq!(name.parse::<Algorithm>(), Ok(algorithm));
        assert_eq!(algorithm.to_string(), name);
    }
    assert_eq!(
        Algorithm::from_s3_name("crc64nvme"),
        Some(Algorithm::Crc64Nvme)
    );
}

#[test]
fn unknown_algorithm_names_are_rejected() {
    for name in ["", "MD5", "CRC64", "SHA-256", "CRC32 ", "SHA512"] {
        assert_eq!(Algorithm::from_s3_name(name), None, "{name:?}");
    }
    assert_eq!(
        "MD5".parse::<Algorithm>(),
        Err(ChecksumError::UnknownAlgorithm("MD5".into()))
    );
}

#[test]
fn header_names_follow_the_s3_name() {
    for algorithm in Algorithm::ALL {
        assert_eq!(
            algorithm.header_name(),
            format!(
                "x-amz-checksum-{}",
                algorithm.as_s3_name().to_ascii_lowercase()
            )
        );
    }
}

#[test]
fn only_crcs_are_crcs_and_digest_lengths_match_s3() {
    let expected = [
        (Algorithm::Crc32, true, 4),
        (Algorithm::Crc32c, true, 4),
        (Algorithm::Crc64Nvme, true, 8),
        (Algorithm::Sha1, false, 20),
        (Algorithm::Sha256, false, 32),
    ];
    for (algorithm, is_crc, len) in expected {
        assert_eq!(algorithm.is_crc(), is_crc, "{algorithm}");
        assert_eq!(algorithm.digest_len(), len, "{algorithm}");
    }
}

#[test]
fn checksum_type_names_round_trip() {
    for (t, name) in [
        (ChecksumType::FullObject, "FULL_OBJECT"),
        (ChecksumType::Composite, "COMPOSITE"),
    ] {
        assert_eq!(t.as_s3_name(), name);
        assert_eq!(ChecksumType::from_s3_name(name), Some(t));
        assert_eq!(
            ChecksumType::from_s3_name(&name.to_ascii_lowercase()),
            Some(t)
        );
        assert_eq!(name.parse::<ChecksumType>(), Ok(t));
    }
    assert_eq!(ChecksumType::from_s3_name("FULL"), None);
}

#[test]
fn multipart_checksum_types_follow_s3_support_rules() {
    use ChecksumType::{Composite, FullObject};
    assert!(Algorithm::Crc32.supports(FullObject) && Algorithm::Crc32.supports(Composite));
    assert!(Algorithm::Crc32c.supports(FullObject) && Algorithm::Crc32c.supports(Composite));
    assert!(Algorithm::Crc64Nvme.supports(FullObject) && !Algorithm::Crc64Nvme.supports(Composite));
    assert!(!Algorithm::Sha1.supports(FullObject) && Algorithm::Sha1.supports(Composite));
    assert!(!Algorithm::Sha256.supports(FullObject) && Algorithm::Sha256.supports(Composite));
    assert_eq!(Algorithm::Crc64Nvme.default_multipart_type(), FullObject);
    for algorithm in [
        Algorithm::Crc32,
        Algorithm::Crc32c,
        Algorithm::Sha1,
        Algorithm::Sha256,
    ] {
        assert_eq!(algorithm.default_multipart_type(), Composite);
    }
}

// ---- known digests ----

#[test]
fn crcs_of_123456789_equal_the_published_check_values() {
    assert_eq!(crc(Algorithm::Crc32, CHECK_INPUT), 0xCBF4_3926);
    assert_eq!(crc(Algorithm::Crc32c, CHECK_INPUT), 0xE306_9283);
    assert_eq!(
        crc(Algorithm::Crc64Nvme, CHECK_INPUT),
        0xAE8B_1486_0A79_9888
    );
}

#[test]
fn crcs_of_123456789_encode_big_endian_in_s3_headers() {
    let hashes = hash_all(CHECK_INPUT);
    let header = |a| hashes.get(a).unwrap().to_base64();
    assert_eq!(header(Algorithm::Crc32), "y/Q5Jg==");
    assert_eq!(header(Algorithm::Crc32c), "4waSgw==");
    assert_eq!(header(Algorithm::Crc64Nvme), "rosUhgp5mIg=");
}

#[test]
fn empty_input_has_the_s3_checksums_of_an_empty_object() {
    let hashes = hash_all(b"");
    let expected = [
        (Algorithm::Crc32, "AAAAAA=="),
        (Algorithm::Crc32c, "AAAAAA=="),
        (Algorithm::Crc64Nvme, "AAAAAAAAAAA="),
        (Algorithm::Sha1, "2jmj7l5rSw0yVb/vlWAYkK/YBwk="),
        (
            Algorithm::Sha256,
            "47DEQpj8HBSa+/TImW+5JCeuQeRkm5NMpJWZG3hSuFU=",
        ),
    ];
    for (algorithm, base64) in expected {
        assert_eq!(
            hashes.get(algorithm).unwrap().to_base64(),
            base64,
            "{algorithm}"
        );
        assert_eq!(
            Digest::compute(algorithm, b"").to_base64(),
            base64,
            "{algorithm}"
        );
    }
    assert_eq!(
        md5_etag(&hashes.md5().unwrap()),
        "d41d8cd98f00b204e9800998ecf8427e"
    );
    assert_eq!(hashes.bytes_hashed(), 0);
}

#[test]
fn sha_digests_of_abc_equal_the_fips_vectors() {
    let hashes = hash_all(b"abc");
    let hex = |a| {
        hex_simd::encode_to_string(
            hashes.get(a).unwrap().as_bytes(),
            hex_simd::AsciiCase::Lower,
        )
    };
    assert_eq!(
        hex(Algorithm::Sha1),
        "a9993e364706816aba3e25717850c26c9cd0d89d"
    );
    assert_eq!(
        hex(Algorithm::Sha256),
        "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad"
    );
    assert_eq!(hashes.get(Algorithm::Sha1).unwrap().as_u64(), None);
}

#[test]
fn a_hasher_reports_only_what_it_was_asked_for() {
    let mut hasher = Hasher::new(&[Algorithm::Crc32c, Algorithm::Crc32c], false);
    hasher.update(CHECK_INPUT);
    assert_eq!(hasher.bytes_hashed(), 9);
    let hashes = hasher.finish();
    assert_eq!(hashes.md5(), None);
    assert_eq!(
        hashes.iter().map(|d| d.algorithm()).collect::<Vec<_>>(),
        [Algorithm::Crc32c]
    );
    assert_eq!(hashes.get(Algorithm::Crc32), None);
    assert_eq!(hashes.bytes_hashed(), 9);
}

#[test]
fn a_hasher_handles_bodies_larger_than_its_internal_block() {
    let data: Vec<u8> = (0..300_000u32).map(|i| (i * 7 + i / 251) as u8).collect();
    let hashes = hash_all(&data);
    for algorithm in Algorithm::ALL {
        assert_eq!(
            hashes.get(algorithm),
            Some(Digest::compute(algorithm, &data))
        );
    }
    assert_eq!(hashes.md5(), Some(md5_of(&data)));
}

// ---- Digest encoding ----

#[test]
fn digests_parse_from_s3_headers_of_the_right_length_only() {
    let digest = Digest::from_base64(Algorithm::Crc32, "y/Q5Jg==").unwrap();
    assert_eq!(digest.as_u64(), Some(0xCBF4_3926));
    assert_eq!(
        Digest::from_base64(Algorithm::Crc64Nvme, "y/Q5Jg=="),
        Err(ChecksumError::WrongLength {
            algorithm: Algorithm::Crc64Nvme,
            expected: 8,
            actual: 4
        })
    );
    assert_eq!(
        Digest::from_base64(Algorithm::Crc32, ""),
        Err(ChecksumError::WrongLength {
            algorithm: Algorithm::Crc32,
            expected: 4,
            actual: 0
        })
    );
}

#[test]
fn malformed_base64_headers_are_rejected() {
    for value in [
        "y/Q5Jg",
        "y/Q5Jg=",
        "y/Q5J*==",
        " y/Q5Jg==",
        "y/Q5Jg==\n",
        "y_Q5Jg==",
        "y/Q5Jg==y/Q5Jg==",
    ] {
        assert_eq!(
            Digest::from_base64(Algorithm::Crc32, value),
            Err(ChecksumError::InvalidBase64 {
                algorithm: Algorithm::Crc32
            }),
            "{value:?}"
        );
    }
}

#[test]
fn crc_values_must_fit_the_crc_width() {
    assert_eq!(
        Digest::from_crc(Algorithm::Crc32, 0x1_0000_0000),
        Err(ChecksumError::CrcOutOfRange {
            algorithm: Algorithm::Crc32,
            value: 0x1_0000_0000
        })
    );
    assert_eq!(
        Digest::from_crc(Algorithm::Sha1, 1),
        Err(ChecksumError::NotCrc(Algorithm::Sha1))
    );
    let max = Digest::from_crc(Algorithm::Crc64Nvme, u64::MAX).unwrap();
    assert_eq!(max.to_base64(), "//////////8=");
    assert_eq!(max.as_u64(), Some(u64::MAX));
}

#[test]
fn digests_print_in_the_s3_header_form() {
    let digest = Digest::compute(Algorithm::Crc32, CHECK_INPUT);
    assert_eq!(digest.to_string(), "y/Q5Jg==");
    assert_eq!(format!("{digest:?}"), r#"Digest(CRC32 "y/Q5Jg==")"#);
}

// ---- combining CRCs (FULL_OBJECT) ----

#[test]
fn combining_the_crcs_of_two_halves_gives_the_crc_of_the_whole() {
    for algorithm in [Algorithm::Crc32, Algorithm::Crc32c, Algorithm::Crc64Nvme] {
        let (a, b) = CHECK_INPUT.split_at(4);
        let combined = combine_crc(
            algorithm,
            crc(algorithm, a),
            crc(algorithm, b),
            b.len() as u64,
        );
        assert_eq!(combined, Ok(crc(algorithm, CHECK_INPUT)), "{algorithm}");
    }
}

#[test]
fn combining_works_for_multi_megabyte_ranges() {
    let data: Vec<u8> = (0..3 * 1024 * 1024 + 1)
        .map(|i: u32| (i ^ (i >> 11)) as u8)
        .collect();
    let (a, b) = data.split_at(1024 * 1024 + 5);
    for algorithm in [Algorithm::Crc32, Algorithm::Crc32c, Algorithm::Crc64Nvme] {
        let combined = combine_crc(
            algorithm,
            crc(algorithm, a),
            crc(algorithm, b),
            b.len() as u64,
        );
        assert_eq!(combined, Ok(crc(algorithm, &data)), "{algorithm}");
    }
}

#[test]
fn combining_with_an_empty_range_on_either_side_changes_nothing() {
    for algorithm in [Algorithm::Crc32, Algorithm::Crc32c, Algorithm::Crc64Nvme] {
        let whole = crc(algorithm, CHECK_INPUT);
        let empty = crc(algorithm, b"");
        assert_eq!(
            combine_crc(algorithm, whole, empty, 0),
            Ok(whole),
            "{algorithm}"
        );
        assert_eq!(
            combine_crc(algorithm, empty, whole, 9),
            Ok(whole),
            "{algorithm}"
        );
    }
}

#[test]
fn shas_cannot_be_combined() {
    assert_eq!(
        combine_crc(Algorithm::Sha256, 0, 0, 1),
        Err(ChecksumError::NotCrc(Algorithm::Sha256))
    );
    assert_eq!(
        combine_full_object(Algorithm::Sha1, &[]),
        Err(ChecksumError::NotCrc(Algorithm::Sha1))
    );
}

#[test]
fn combining_rejects_crcs_wider_than_the_algorithm() {
    assert!(matches!(
        combine_crc(Algorithm::Crc32c, 1 << 40, 0, 1),
        Err(ChecksumError::CrcOutOfRange { .. })
    ));
}

#[test]
fn a_full_object_checksum_of_parts_equals_the_checksum_of_the_object() {
    let object: Vec<u8> = (0..10_000u32).map(|i| (i % 253) as u8).collect();
    let parts = [
        &object[..4096],
        &object[4096..4096],
        &object[4096..9000],
        &object[9000..],
    ];
    for algorithm in [Algorithm::Crc32, Algorithm::Crc32c, Algorithm::Crc64Nvme] {
        let part_checksums: Vec<_> = parts
            .iter()
            .map(|p| (Digest::compute(algorithm, p), p.len() as u64))
            .collect();
        assert_eq!(
            combine_full_object(algorithm, &part_checksums),
            Ok(Digest::compute(algorithm, &object)),
            "{algorithm}"
        );
    }
    assert_eq!(
        combine_full_object(Algorithm::Crc64Nvme, &[]),
        Ok(Digest::compute(Algorithm::Crc64Nvme, b""))
    );
}

#[test]
fn a_full_object_checksum_rejects_parts_of_another_algorithm() {
    let part = (Digest::compute(Algorithm::Crc32, b"x"), 1);
    assert_eq!(
        combine_full_object(Algorithm::Crc32c, &[part]),
        Err(ChecksumError::AlgorithmMismatch {
            expected: Algorithm::Crc32c,
            actual: Algorithm::Crc32
        })
    );
}

// ---- COMPOSITE ----

#[test]
fn a_composite_crc32_is_the_crc_of_the_big_endian_part_crcs_with_the_part_count() {
    let parts = [
        Digest::compute(Algorithm::Crc32, b"hello"),
        Digest::compute(Algorithm::Crc32, b"world"),
    ];
    // Independently: zlib.crc32(struct.pack(">II", crc32(b"hello"), crc32(b"world"))).
    assert_eq!(parts[0].as_u64(), Some(0x3610_a686));
    assert_eq!(parts[1].as_u64(), Some(0x3a77_1143));
    assert_eq!(composite(Algorithm::Crc32, &parts).unwrap(), "wpn7tg==-2");

    let mut concatenated = Vec::new();
    for algorithm in [Algorithm::Crc32c, Algorithm::Crc64Nvme] {
        let a = crc(algorithm, b"hello");
        let b = crc(algorithm, b"world");
        concatenated.clear();
        let len = algorithm.digest_len();
        concatenated.extend_from_slice(&a.to_be_bytes()[8 - len..]);
        concatenated.extend_from_slice(&b.to_be_bytes()[8 - len..]);
        let params = match algorithm {
            Algorithm::Crc32c => crc_fast::CrcAlgorithm::Crc32Iscsi,
            _ => crc_fast::CrcAlgorithm::Crc64Nvme,
        };
        let expected =
            Digest::from_crc(algorithm, crc_fast::checksum(params, &concatenated)).unwrap();
        let parts = [
            Digest::from_crc(algorithm, a).unwrap(),
            Digest::from_crc(algorithm, b).unwrap(),
        ];
        assert_eq!(
            composite(algorithm, &parts).unwrap(),
            format!("{expected}-2"),
            "{algorithm}"
        );
    }
}

#[test]
fn a_composite_sha256_is_the_sha256_of_the_raw_part_digests_with_the_part_count() {
    let parts = [
        Digest::compute(Algorithm::Sha256, b"hello"),
        Digest::compute(Algorithm::Sha256, b"world"),
    ];
    // Independently: sha256(sha256(b"hello") + sha256(b"world")), base64.
    assert_eq!(
        composite(Algorithm::Sha256, &parts).unwrap(),
        "cwXbmyq8zXBsJW2z2X5f9I1nfP5NOlkEr7faDjlQ4eI=-2"
    );
    let mut concatenated = parts[0].as_bytes().to_vec();
    concatenated.extend_from_slice(parts[1].as_bytes());
    let sha1_parts = [
        Digest::compute(Algorithm::Sha1, b"hello"),
        Digest::compute(Algorithm::Sha1, b"world"),
    ];
    let mut sha1_concatenated = sha1_parts[0].as_bytes().to_vec();
    sha1_concatenated.extend_from_slice(sha1_parts[1].as_bytes());
    assert_eq!(
        composite_digest(Algorithm::Sha1, &sha1_parts),
        Ok(Digest::compute(Algorithm::Sha1, &sha1_concatenated))
    );
}

#[test]
fn a_composite_rejects_parts_of_another_algorithm() {
    let parts = [Digest::compute(Algorithm::Sha1, b"x")];
    assert_eq!(
        composite(Algorithm::Sha256, &parts),
        Err(ChecksumError::AlgorithmMismatch {
            expected: Algorithm::Sha256,
            actual: Algorithm::Sha1
        })
    );
}

#[test]
fn composite_values_parse_back_into_digest_and_part_count() {
    let (digest, parts) = parse_composite(Algorithm::Crc32, "wpn7tg==-2").unwrap();
    assert_eq!(digest.to_base64(), "wpn7tg==");
    assert_eq!(parts, 2);
    for bad in [
        "wpn7tg==",
        "wpn7tg==-",
        "wpn7tg==-0",
        "wpn7tg==-+2",
        "wpn7tg==-x",
        "-2",
    ] {
        assert!(parse_composite(Algorithm::Crc32, bad).is_err(), "{bad:?}");
    }
}

// ---- ETags and Content-MD5 ----

#[test]
fn a_single_part_etag_is_the_lowercase_hex_md5() {
    assert_eq!(
        md5_etag(&md5_of(b"hello")),
        "5d41402abc4b2a76b9719d911017c592"
    );
}

#[test]
fn a_multipart_etag_is_the_md5_of_the_part_md5s_with_the_part_count() {
    // Independently: hashlib.md5(md5(b"hello").digest() + md5(b"world").digest()).hexdigest().
    let parts = [md5_of(b"hello"), md5_of(b"world")];
    assert_eq!(multipart_etag(&parts), "065947336a2f2a95ba8899f3675c3be6-2");
    let one = [md5_of(b"hello")];
    assert_eq!(
        multipart_etag(&one),
        format!("{}-1", md5_etag(&md5_of(&one[0])))
    );
}

#[test]
fn content_md5_must_be_valid_base64_of_the_body_md5() {
    let md5 = md5_of(b"");
    assert!(content_md5_matches("1B2M2Y8AsgTpgAmY7PhCfg==", &md5));
    assert_eq!(parse_content_md5("1B2M2Y8AsgTpgAmY7PhCfg=="), Ok(md5));
    assert!(!content_md5_matches("XUFAKrxLKna5cZ2REBfFkg==", &md5));
    for invalid in [
        "",
        "1B2M2Y8AsgTpgAmY7PhCfg",
        "1B2M2Y8AsgTpgAmY7PhC",
        "d41d8cd98f00b204e9800998ecf8427e",
        "AAAA",
    ] {
        assert_eq!(
            parse_content_md5(invalid),
            Err(ChecksumError::InvalidContentMd5),
            "{invalid:?}"
        );
        assert!(!content_md5_matches(invalid, &md5));
    }
}
