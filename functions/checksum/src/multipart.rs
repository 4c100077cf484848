//! Multipart rules: `COMPOSITE` checksums, ETags and `Content-MD5`.

use md5::{Digest as _, Md5};

use crate::{Algorithm, ChecksumError, Digest};

/// The checksum part of S3's `COMPOSITE` form: the algorithm applied to the concatenated raw
/// part digests (for CRCs, a CRC over the parts' big-endian CRC bytes).
///
/// Fails for a part digest of another algorithm. S3 does not allow `COMPOSITE` with
/// CRC64NVME (see [`Algorithm::supports`]); the math is still defined and computed here.
pub fn composite_digest(
    algorithm: Algorithm,
    part_digests: &[Digest],
) -> Result<Digest, ChecksumError> {
    let mut concatenated = Vec::with_capacity(part_digests.len() * algorithm.digest_len());
    for digest in part_digests {
        if digest.algorithm() != algorithm {
            return Err(ChecksumError::AlgorithmMismatch {
                expected: algorithm,
                actual: digest.algorithm(),
            });
        }
        concatenated.extend_from_slice(digest.as_bytes());
    }
    Ok(Digest::compute(algorithm, &concatenated))
}

/// S3's `COMPOSITE` checksum value, `<base64 of composite_digest>-<part count>`, as returned
/// by `CompleteMultipartUpload`, `HeadObject` and `GetObjectAttributes`.
pub fn composite(algorithm: Algorithm, part_digests: &[Digest]) -> Result<String, ChecksumError> {
    let digest = composite_digest(algorithm, part_digests)?;
    Ok(format!("{}-{}", digest.to_base64(), part_digests.len()))
}

/// Splits a `COMPOSITE` value `<base64>-<part count>` into its digest and part count, for
/// comparing checksums reported by S3.
pub fn parse_composite(algorithm: Algorithm, value: &str) -> Result<(Digest, u32), ChecksumError> {
    let invalid = || ChecksumError::InvalidComposite(value.to_owned());
    let (base64, count) = value.rsplit_once('-').ok_or_else(invalid)?;
    if !count.bytes().all(|b| b.is_ascii_digit()) {
        return Err(invalid());
    }
    let count = count.parse::<u32>().map_err(|_| invalid())?;
    if count == 0 {
        return Err(invalid());
    }
    Ok((Digest::from_base64(algorithm, base64)?, count))
}

/// The ETag of a single-part object: lower-case hex of its MD5 (unquoted).
pub fn md5_etag(md5: &[u8; 16]) -> String {
    hex_simd::encode_to_string(md5, hex_simd::AsciiCase::Lower)
}

/// The ETag S3 gives a multipart object: lower-case hex of the MD5 of the concatenated raw
/// part MD5s, then `-<part count>` (unquoted). S3 requires at least one part.
pub fn multipart_etag(part_md5s: &[[u8; 16]]) -> String {
    let mut md5 = Md5::new();
    for part in part_md5s {
        md5.update(part);
    }
    format!("{}-{}", md5_etag(&md5.finalize().into()), part_md5s.len())
}

/// Decodes a `Content-MD5` header (base64 of the 16-byte MD5). An error is S3's
/// `InvalidDigest`; a valid value that does not match the body is `BadDigest`.
pub fn parse_content_md5(header: &str) -> Result<[u8; 16], ChecksumError> {
    let bytes = base64_simd::STANDARD
        .decode_to_vec(header)
        .map_err(|_| ChecksumError::InvalidContentMd5)?;
    bytes
        .try_into()
        .map_err(|_| ChecksumError::InvalidContentMd5)
}

/// Whether a `Content-MD5` header is valid and equals `md5` (use [`parse_content_md5`] to tell
/// S3's `InvalidDigest` from `BadDigest`).
pub fn content_md5_matches(header: &str, md5: &[u8; 16]) -> bool {
    parse_content_md5(header).is_ok_and(|parsed| parsed == *md5)
}
