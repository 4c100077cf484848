//! One checksum value and its S3 header encoding.

use std::fmt;

use sha2::Digest as _;

use crate::{Algorithm, ChecksumError};

/// Length of the longest digest (SHA-256), the size of [`Digest`]'s inline buffer.
pub const MAX_DIGEST_LEN: usize = 32;

/// A checksum value tagged with its algorithm.
///
/// Stored as the raw big-endian bytes S3 base64-encodes in `x-amz-checksum-*` headers, inline
/// (no heap), so it is `Copy`. The length always equals `algorithm.digest_len()`.
#[derive(Clone, Copy, PartialEq, Eq, Hash)]
pub struct Digest {
    algorithm: Algorithm,
    /// Raw digest in `bytes[..algorithm.digest_len()]`; the rest stays zero so derived
    /// equality and hashing are correct.
    bytes: [u8; MAX_DIGEST_LEN],
}

impl Digest {
    /// Wraps raw digest bytes, rejecting a length other than `algorithm.digest_len()`.
    pub fn new(algorithm: Algorithm, bytes: &[u8]) -> Result<Self, ChecksumError> {
        let expected = algorithm.digest_len();
        if bytes.len() != expected {
            return Err(ChecksumError::WrongLength {
                algorithm,
                expected,
                actual: bytes.len(),
            });
        }
        let mut buf = [0; MAX_DIGEST_LEN];
        buf[..expected].copy_from_slice(bytes);
        Ok(Self {
            algorithm,
            bytes: buf,
        })
    }

    /// Checksums `data` in one call (use [`crate::Hasher`] for streams or several algorithms).
    pub fn compute(algorithm: Algorithm, data: &[u8]) -> Self {
        match algorithm.crc_params() {
            Some(params) => Self::from_crc_value(algorithm, crc_fast::checksum(params, data)),
            None if algorithm == Algorithm::Sha1 => {
                Self::from_array(algorithm, sha1::Sha1::digest(data).into())
            }
            None => Self::from_array(algorithm, sha2::Sha256::digest(data).into()),
        }
    }

    /// A digest from a fixed-size hash output; `N` must be `algorithm.digest_len()`.
    pub(crate) fn from_array<const N: usize>(algorithm: Algorithm, raw: [u8; N]) -> Self {
        debug_assert_eq!(N, algorithm.digest_len());
        let mut bytes = [0; MAX_DIGEST_LEN];
        bytes[..N].copy_from_slice(&raw);
        Self { algorithm, bytes }
    }

    /// A CRC digest from a value known to fit the CRC's width (as `crc-fast` results do);
    /// higher bits are dropped.
    pub(crate) fn from_crc_value(algorithm: Algorithm, value: u64) -> Self {
        let len = algorithm.digest_len();
        let mut bytes = [0; MAX_DIGEST_LEN];
        bytes[..len].copy_from_slice(&value.to_be_bytes()[8 - len..]);
        Self { algorithm, bytes }
    }

    /// Builds a CRC digest from its numeric value (the form CRC libraries and
    /// [`crate::combine_crc`] use); S3 sends it big-endian.
    ///
    /// Fails for SHA algorithms and for values wider than the CRC.
    pub fn from_crc(algorithm: Algorithm, value: u64) -> Result<Self, ChecksumError> {
        if !algorithm.is_crc() {
            return Err(ChecksumError::NotCrc(algorithm));
        }
        let len = algorithm.digest_len();
        let be = value.to_be_bytes();
        let (high, low) = be.split_at(8 - len);
        if high.iter().any(|&b| b != 0) {
            return Err(ChecksumError::CrcOutOfRange { algorithm, value });
        }
        Self::new(algorithm, low)
    }

    /// The algorithm this value belongs to.
    pub const fn algorithm(&self) -> Algorithm {
        self.algorithm
    }

    /// The raw big-endian digest bytes (`algorithm().digest_len()` of them).
    pub fn as_bytes(&self) -> &[u8] {
        &self.bytes[..self.algorithm.digest_len()]
    }

    /// The numeric value of a CRC digest; `None` for SHA1/SHA256.
    pub fn as_u64(&self) -> Option<u64> {
        self.algorithm.is_crc().then(|| {
            self.as_bytes()
                .iter()
                .fold(0u64, |acc, &b| (acc << 8) | u64::from(b))
        })
    }

    /// The S3 header form: padded standard base64 of the big-endian bytes
    /// (e.g. CRC64NVME of nothing is `AAAAAAAAAAA=`).
    pub fn to_base64(&self) -> String {
        base64_simd::STANDARD.encode_to_string(self.as_bytes())
    }

    /// Parses an `x-amz-checksum-*` header value, rejecting invalid base64 and a decoded
    /// length other than `algorithm.digest_len()` (S3 answers `InvalidRequest` to both).
    pub fn from_base64(algorithm: Algorithm, value: &str) -> Result<Self, ChecksumError> {
        let bytes = base64_simd::STANDARD
            .decode_to_vec(value)
            .map_err(|_| ChecksumError::InvalidBase64 { algorithm })?;
        Self::new(algorithm, &bytes)
    }
}

impl fmt::Display for Digest {
    /// Writes the S3 header form ([`Digest::to_base64`]).
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.to_base64())
    }
}

impl fmt::Debug for Digest {
    /// `Digest(CRC32 "yZRlqg==")`: algorithm and header form, easy to compare with S3 output.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Digest({} {:?})", self.algorithm, self.to_base64())
    }
}
