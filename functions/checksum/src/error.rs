//! The crate's one error type.

use crate::Algorithm;

/// Why a checksum value or request could not be used.
///
/// The S3 server maps these to S3 errors (`InvalidRequest`, `InvalidDigest`, ...); the
/// variants keep enough detail to pick the right one.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ChecksumError {
    /// The name is not one of S3's `ChecksumAlgorithm` values.
    #[error("unknown checksum algorithm {0:?}")]
    UnknownAlgorithm(String),
    /// The name is not one of S3's `ChecksumType` values.
    #[error("unknown checksum type {0:?}")]
    UnknownChecksumType(String),
    /// A checksum header value is not valid padded standard base64.
    #[error("{algorithm} checksum is not valid base64")]
    InvalidBase64 {
        /// The algorithm the value was meant for.
        algorithm: Algorithm,
    },
    /// A checksum value decodes to the wrong number of bytes for its algorithm.
    #[error("{algorithm} checksum must be {expected} bytes, got {actual}")]
    WrongLength {
        /// The algorithm the value was meant for.
        algorithm: Algorithm,
        /// The algorithm's digest length.
        expected: usize,
        /// The length that was given.
        actual: usize,
    },
    /// A CRC-only operation (combining, `u64` form) was asked of SHA1 or SHA256.
    #[error("{0} is not a CRC algorithm")]
    NotCrc(Algorithm),
    /// A CRC value has bits set above the algorithm's width (e.g. > 32 bits for CRC32).
    #[error("{value:#x} does not fit in a {algorithm} checksum")]
    CrcOutOfRange {
        /// The CRC algorithm.
        algorithm: Algorithm,
        /// The offending value.
        value: u64,
    },
    /// A digest of one algorithm was given where another was expected.
    #[error("expected a {expected} checksum, got {actual}")]
    AlgorithmMismatch {
        /// The algorithm the operation works in.
        expected: Algorithm,
        /// The algorithm of the digest that was given.
        actual: Algorithm,
    },
    /// A `Content-MD5` header is not base64 of exactly 16 bytes (S3 answers `InvalidDigest`).
    #[error("Content-MD5 is not base64 of a 16-byte MD5")]
    InvalidContentMd5,
    /// A composite checksum is not of the form `<base64>-<part count>`.
    #[error("{0:?} is not a composite checksum (<base64>-<part count>)")]
    InvalidComposite(String),
}
