//! S3's checksum algorithms and checksum types, with their wire names.

use std::fmt;
use std::str::FromStr;

use crate::ChecksumError;

/// One of the five checksum algorithms S3 supports (`x-amz-checksum-algorithm`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Algorithm {
    /// CRC-32/ISO-HDLC (the zlib/Ethernet CRC-32), 4 bytes.
    Crc32,
    /// CRC-32C (Castagnoli, iSCSI), 4 bytes.
    Crc32c,
    /// CRC-64/NVME, 8 bytes; S3's default algorithm, always `FULL_OBJECT`.
    Crc64Nvme,
    /// SHA-1, 20 bytes; `COMPOSITE` only for multipart uploads.
    Sha1,
    /// SHA-256, 32 bytes; `COMPOSITE` only for multipart uploads.
    Sha256,
}

impl Algorithm {
    /// Every algorithm, in S3's documentation order (also the index order used by [`crate::Hashes`]).
    pub const ALL: [Algorithm; 5] = [
        Algorithm::Crc32,
        Algorithm::Crc32c,
        Algorithm::Crc64Nvme,
        Algorithm::Sha1,
        Algorithm::Sha256,
    ];

    /// Parses S3's name (`CRC32`, `CRC32C`, `CRC64NVME`, `SHA1`, `SHA256`), ignoring ASCII case
    /// as S3 does for `x-amz-checksum-algorithm` / `x-amz-sdk-checksum-algorithm`.
    pub fn from_s3_name(name: &str) -> Option<Self> {
        Self::ALL
            .into_iter()
            .find(|a| a.as_s3_name().eq_ignore_ascii_case(name))
    }

    /// S3's canonical (upper-case) name, as sent in `x-amz-checksum-algorithm` and API fields.
    pub const fn as_s3_name(self) -> &'static str {
        match self {
            Algorithm::Crc32 => "CRC32",
            Algorithm::Crc32c => "CRC32C",
            Algorithm::Crc64Nvme => "CRC64NVME",
            Algorithm::Sha1 => "SHA1",
            Algorithm::Sha256 => "SHA256",
        }
    }

    /// The header carrying this algorithm's value, e.g. `x-amz-checksum-crc32` (lower case, as
    /// HTTP/2 requires).
    pub const fn header_name(self) -> &'static str {
        match self {
            Algorithm::Crc32 => "x-amz-checksum-crc32",
            Algorithm::Crc32c => "x-amz-checksum-crc32c",
            Algorithm::Crc64Nvme => "x-amz-checksum-crc64nvme",
            Algorithm::Sha1 => "x-amz-checksum-sha1",
            Algorithm::Sha256 => "x-amz-checksum-sha256",
        }
    }

    /// Whether this is a CRC: only CRCs can be combined, so only they support `FULL_OBJECT`
    /// multipart checksums.
    pub const fn is_crc(self) -> bool {
        matches!(
            self,
            Algorithm::Crc32 | Algorithm::Crc32c | Algorithm::Crc64Nvme
        )
    }

    /// Length in bytes of the raw (big-endian) digest, i.e. of the decoded header value.
    pub const fn digest_len(self) -> usize {
        match self {
            Algorithm::Crc32 | Algorithm::Crc32c => 4,
            Algorithm::Crc64Nvme => 8,
            Algorithm::Sha1 => 20,
            Algorithm::Sha256 => 32,
        }
    }

    /// Whether S3 accepts this algorithm with this checksum type for a multipart upload:
    /// CRC32/CRC32C allow both, CRC64NVME only `FULL_OBJECT`, SHA1/SHA256 only `COMPOSITE`.
    pub const fn supports(self, checksum_type: ChecksumType) -> bool {
        match checksum_type {
            ChecksumType::FullObject => self.is_crc(),
            ChecksumType::Composite => !matches!(self, Algorithm::Crc64Nvme),
        }
    }

    /// The type S3 uses for a multipart upload when `CreateMultipartUpload` names this
    /// algorithm but no `x-amz-checksum-type`: `FULL_OBJECT` for CRC64NVME, `COMPOSITE` otherwise.
    pub const fn default_multipart_type(self) -> ChecksumType {
        match self {
            Algorithm::Crc64Nvme => ChecksumType::FullObject,
            _ => ChecksumType::Composite,
        }
    }

    /// Position in [`Algorithm::ALL`].
    pub(crate) const fn index(self) -> usize {
        self as usize
    }

    /// The `crc-fast` parameters for a CRC algorithm, `None` for SHA.
    pub(crate) const fn crc_params(self) -> Option<crc_fast::CrcAlgorithm> {
        match self {
            Algorithm::Crc32 => Some(crc_fast::CrcAlgorithm::Crc32IsoHdlc),
            Algorithm::Crc32c => Some(crc_fast::CrcAlgorithm::Crc32Iscsi),
            Algorithm::Crc64Nvme => Some(crc_fast::CrcAlgorithm::Crc64Nvme),
            Algorithm::Sha1 | Algorithm::Sha256 => None,
        }
    }
}

impl fmt::Display for Algorithm {
    /// Writes the S3 name, so messages read like S3's ("The CRC32 you specified ...").
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_s3_name())
    }
}

impl FromStr for Algorithm {
    type Err = ChecksumError;

    /// Same as [`Algorithm::from_s3_name`], with an error naming the rejected value.
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Self::from_s3_name(s).ok_or_else(|| ChecksumError::UnknownAlgorithm(s.to_owned()))
    }
}

/// How an object's checksum relates to its bytes (S3 `x-amz-checksum-type`).
///
/// Single-part objects are always `FULL_OBJECT`; for multipart uploads the type is chosen
/// at `CreateMultipartUpload` (see [`Algorithm::supports`] and
/// [`Algorithm::default_multipart_type`]).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum ChecksumType {
    /// The checksum of the whole object's bytes, as if uploaded in one piece.
    FullObject,
    /// A checksum of the parts' checksums, written `<base64>-<part count>`.
    Composite,
}

impl ChecksumType {
    /// Parses `FULL_OBJECT` / `COMPOSITE`, ignoring ASCII case.
    pub fn from_s3_name(name: &str) -> Option<Self> {
        [ChecksumType::FullObject, ChecksumType::Composite]
            .into_iter()
            .find(|t| t.as_s3_name().eq_ignore_ascii_case(name))
    }

    /// S3's name: `FULL_OBJECT` or `COMPOSITE`.
    pub const fn as_s3_name(self) -> &'static str {
        match self {
            ChecksumType::FullObject => "FULL_OBJECT",
            ChecksumType::Composite => "COMPOSITE",
        }
    }
}

impl fmt::Display for ChecksumType {
    /// Writes the S3 name.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_s3_name())
    }
}

impl FromStr for ChecksumType {
    type Err = ChecksumError;

    /// Same as [`ChecksumType::from_s3_name`], with an error naming the rejected value.
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Self::from_s3_name(s).ok_or_else(|| ChecksumError::UnknownChecksumType(s.to_owned()))
    }
}
