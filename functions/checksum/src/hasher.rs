//! One-pass hashing of a body with several algorithms at once.

use std::fmt;

use md5::Md5;
use sha1::Sha1;
use sha2::Digest as _;
use sha2::Sha256;

use crate::{Algorithm, Digest};

/// Bytes fed to every enabled algorithm before moving on, so a large `update` is read from
/// cache rather than from memory once per algorithm.
const BLOCK: usize = 64 * 1024;

/// Computes any set of S3 checksums, plus optionally MD5 (for the ETag and `Content-MD5`),
/// over a stream in one pass.
///
/// Built for GiB-size bodies: the state is fixed-size and `update` never allocates.
#[derive(Clone)]
pub struct Hasher {
    crc32: Option<crc_fast::Digest>,
    crc32c: Option<crc_fast::Digest>,
    crc64nvme: Option<crc_fast::Digest>,
    sha1: Option<Sha1>,
    sha256: Option<Sha256>,
    md5: Option<Md5>,
    len: u64,
}

impl Hasher {
    /// A hasher for `algorithms` (duplicates are harmless, an empty list is allowed) and,
    /// if `md5`, MD5.
    pub fn new(algorithms: &[Algorithm], md5: bool) -> Self {
        let on = |a: Algorithm| algorithms.contains(&a);
        let crc = |a: Algorithm| a.crc_params().filter(|_| on(a)).map(crc_fast::Digest::new);
        Self {
            crc32: crc(Algorithm::Crc32),
            crc32c: crc(Algorithm::Crc32c),
            crc64nvme: crc(Algorithm::Crc64Nvme),
            sha1: on(Algorithm::Sha1).then(Sha1::new),
            sha256: on(Algorithm::Sha256).then(Sha256::new),
            md5: md5.then(Md5::new),
            len: 0,
        }
    }

    /// Feeds the next bytes of the body to every enabled algorithm.
    pub fn update(&mut self, data: &[u8]) {
        for block in data.chunks(BLOCK) {
            for crc in [&mut self.crc32, &mut self.crc32c, &mut self.crc64nvme]
                .into_iter()
                .flatten()
            {
                crc.update(block);
            }
            if let Some(h) = &mut self.sha1 {
                h.update(block);
            }
            if let Some(h) = &mut self.sha256 {
                h.update(block);
            }
            if let Some(h) = &mut self.md5 {
                h.update(block);
            }
        }
        self.len += data.len() as u64;
    }

    /// Number of bytes fed so far.
    pub const fn bytes_hashed(&self) -> u64 {
        self.len
    }

    /// Finishes every algorithm and returns the results.
    pub fn finish(self) -> Hashes {
        let mut digests = [None; 5];
        let crcs = [
            (Algorithm::Crc32, self.crc32),
            (Algorithm::Crc32c, self.crc32c),
            (Algorithm::Crc64Nvme, self.crc64nvme),
        ];
        for (algorithm, crc) in crcs {
            digests[algorithm.index()] =
                crc.map(|c| Digest::from_crc_value(algorithm, c.finalize()));
        }
        digests[Algorithm::Sha1.index()] = self
            .sha1
            .map(|h| Digest::from_array(Algorithm::Sha1, h.finalize().into()));
        digests[Algorithm::Sha256.index()] = self
            .sha256
            .map(|h| Digest::from_array(Algorithm::Sha256, h.finalize().into()));
        Hashes {
            digests,
            md5: self.md5.map(|h| h.finalize().into()),
            len: self.len,
        }
    }
}

impl fmt::Debug for Hasher {
    /// Lists the enabled algorithms and the byte count (the hash states are not informative).
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let enabled = [
            (Algorithm::Crc32, self.crc32.is_some()),
            (Algorithm::Crc32c, self.crc32c.is_some()),
            (Algorithm::Crc64Nvme, self.crc64nvme.is_some()),
            (Algorithm::Sha1, self.sha1.is_some()),
            (Algorithm::Sha256, self.sha256.is_some()),
        ];
        f.debug_struct("Hasher")
            .field(
                "algorithms",
                &enabled
                    .iter()
                    .filter(|(_, on)| *on)
                    .map(|(a, _)| a)
                    .collect::<Vec<_>>(),
            )
            .field("md5", &self.md5.is_some())
            .field("bytes_hashed", &self.len)
            .finish()
    }
}

/// The results of a [`Hasher`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Hashes {
    digests: [Option<Digest>; 5],
    md5: Option<[u8; 16]>,
    len: u64,
}

impl Hashes {
    /// The digest for `algorithm`, if the hasher computed it.
    pub fn get(&self, algorithm: Algorithm) -> Option<Digest> {
        self.digests[algorithm.index()]
    }

    /// The raw MD5, if the hasher computed it (see [`crate::md5_etag`], [`crate::content_md5_matches`]).
    pub const fn md5(&self) -> Option<[u8; 16]> {
        self.md5
    }

    /// Number of bytes hashed (the object or part size).
    pub const fn bytes_hashed(&self) -> u64 {
        self.len
    }

    /// Every computed digest, in [`Algorithm::ALL`] order.
    pub fn iter(&self) -> impl Iterator<Item = Digest> + '_ {
        self.digests.iter().flatten().copied()
    }
}
