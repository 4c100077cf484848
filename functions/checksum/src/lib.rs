//! S3 checksum math for copyflow, shared by the embedded S3 server and the copy/verify steps.
//!
//! A verified copy is only as good as the arithmetic that checks it, so everything here
//! follows Amazon S3's own rules bit for bit:
//!
//! - the five S3 checksum algorithms ([`Algorithm`]) and their header encoding: base64 of the
//!   big-endian digest bytes ([`Digest`]);
//! - one-pass hashing of a body with any set of them plus MD5 ([`Hasher`]);
//! - multipart checksums of both S3 types ([`ChecksumType`]): `FULL_OBJECT` by combining part
//!   CRCs ([`combine_full_object`], [`combine_crc`]) and `COMPOSITE` as a checksum of the part
//!   checksums with a `-N` suffix ([`composite`]);
//! - ETags (`md5` hex, multipart `md5-of-md5s-N`) and `Content-MD5` validation
//!   ([`multipart_etag`], [`content_md5_matches`]).
//!
//! The crate is pure: no I/O, no async, no unsafe.

#![warn(missing_docs)]

mod algorithm;
mod combine;
mod digest;
mod error;
mod hasher;
mod multipart;

pub use algorithm::{Algorithm, ChecksumType};
pub use combine::{combine_crc, combine_full_object};
pub use digest::{Digest, MAX_DIGEST_LEN};
pub use error::ChecksumError;
pub use hasher::{Hasher, Hashes};
pub use multipart::{
    composite, composite_digest, content_md5_matches, md5_etag, multipart_etag, parse_composite,
    parse_content_md5,
};
