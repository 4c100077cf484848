//! Receiving an upload body (PutObject, UploadPart): stream it into a new segment while
//! hashing it, then hold it to everything the client claimed: Content-Length, Content-MD5,
//! an `x-amz-checksum-*` header or the checksum in an aws-chunked trailer, and a size limit.
//! A body that fails a check is removed before the error is returned.

use copyflow_checksum::{Algorithm, Hasher, Hashes};
use s3s::dto::StreamingBlob;
use s3s::{S3Error, S3Request, S3Result, s3_error};

use super::Service;
use super::convert::{algorithm, bad_digest};
use crate::store::blobs::WriteError;
use crate::store::model::Segment;

/// What the request says about its body.
pub(super) struct Claims<'a> {
    pub content_length: Option<i64>,
    pub content_md5: Option<&'a str>,
    /// An `x-amz-checksum-*` header value.
    pub header: Option<(Algorithm, String)>,
    /// The algorithm named by `x-amz-trailer`.
    pub trailer: Option<Algorithm>,
    /// S3's limit for this kind of body, with the error past it.
    pub max_size: Option<(u64, fn() -> S3Error)>,
}

impl Claims<'_> {
    /// The algorithm the client checksummed the body with, if any.
    pub(super) fn algorithm(&self) -> Option<Algorithm> {
        self.header.as_ref().map(|(a, _)| *a).or(self.trailer)
    }
}

impl Service {
    /// Streams `body` into a new segment, hashing MD5, CRC64NVME, the claimed algorithm and
    /// `also`, and checks the claims.
    pub(super) async fn receive_body<T>(
        &self,
        req: &S3Request<T>,
        body: Option<StreamingBlob>,
        claims: &Claims<'_>,
        also: &[Algorithm],
    ) -> S3Result<(Segment, Hashes)> {
        let mut algs = vec![Algorithm::Crc64Nvme];
        algs.extend(claims.algorithm());
        algs.extend_from_slice(also);
        let mut hasher = Hasher::new(&dedup(&algs), true);
        let written = match body {
            Some(body) => self.store.blobs.write_stream(body, &mut hasher).await,
            None => {
                self.store
                    .blobs
                    .write_stream(
                        futures::stream::empty::<Result<bytes::Bytes, s3s::StdError>>(),
                        &mut hasher,
                    )
                    .await
            }
        };
        let segment = written.map_err(body_error)?;
        let hashes = hasher.finish();
        if let Err(e) = check_claims(req, claims, &segment, &hashes) {
            self.store
                .blobs
                .remove(std::slice::from_ref(&segment))
                .await;
            return Err(e);
        }
        Ok((segment, hashes))
    }
}

fn check_claims<T>(
    req: &S3Request<T>,
    claims: &Claims<'_>,
    segment: &Segment,
    hashes: &Hashes,
) -> S3Result<()> {
    if let Some((max, too_large)) = claims.max_size
        && segment.size > max
    {
        return Err(too_large());
    }
    if let Some(len) = claims.content_length
        && u64::try_from(len).ok() != Some(segment.size)
    {
        return Err(s3_error!(
            IncompleteBody,
            "You did not provide the number of bytes specified by the Content-Length HTTP header."
        ));
    }
    verify_content_md5(claims.content_md5, hashes.md5())?;
    if let Some(a) = claims.algorithm() {
        let computed = hashes.get(a).map(|d| d.to_base64()).unwrap_or_default();
        let claimed = match &claims.header {
            Some((_, v)) => v.clone(),
            None => trailer_value(req, a).ok_or_else(|| {
                s3_error!(InvalidRequest, "The x-amz-trailer checksum was not sent")
            })?,
        };
        verify_claim(a, &claimed, &computed)?;
    }
    Ok(())
}

pub(super) fn dedup(algs: &[Algorithm]) -> Vec<Algorithm> {
    let mut out: Vec<Algorithm> = Vec::new();
    for a in algs {
        if !out.contains(a) {
            out.push(*a);
        }
    }
    out
}

/// Turns a failed body stream into the S3 error the client should see: s3s reports
/// signature and chunk errors as `S3Error`s inside the stream.
pub(super) fn body_error(e: WriteError<s3s::StdError>) -> S3Error {
    match e {
        WriteError::Body(e) => match e.downcast::<S3Error>() {
            Ok(s3) => *s3,
            Err(other) => s3_error!(IncompleteBody, "{other}"),
        },
        WriteError::Io(e) => super::super::store::internal(e),
    }
}

/// The algorithm named by `x-amz-trailer: x-amz-checksum-<alg>` (aws-chunked uploads).
pub(super) fn trailer_algorithm<T>(req: &S3Request<T>) -> S3Result<Option<Algorithm>> {
    let Some(trailer) = req
        .headers
        .get("x-amz-trailer")
        .and_then(|v| v.to_str().ok())
    else {
        return Ok(None);
    };
    let name = trailer.trim().to_ascii_lowercase();
    let Some(alg) = name.strip_prefix("x-amz-checksum-") else {
        return Ok(None);
    };
    algorithm(alg).map(Some)
}

/// The checksum value sent in the aws-chunked trailer, available once the body was read.
pub(super) fn trailer_value<T>(req: &S3Request<T>, alg: Algorithm) -> Option<String> {
    let name = format!("x-amz-checksum-{}", alg.as_s3_name().to_ascii_lowercase());
    req.trailing_headers
        .as_ref()
        .and_then(|t| {
            t.read(|h| {
                h.get(name.as_str())
                    .and_then(|v| v.to_str().ok())
                    .map(str::to_owned)
            })
        })
        .flatten()
}

/// Checks a client-supplied checksum against what was computed over the bytes.
pub(super) fn verify_claim(alg: Algorithm, claimed: &str, computed: &str) -> S3Result<()> {
    if copyflow_checksum::Digest::from_base64(alg, claimed).is_err() {
        return Err(s3_error!(
            InvalidRequest,
            "Value for x-amz-checksum-{} header is invalid.",
            alg.as_s3_name().to_ascii_lowercase()
        ));
    }
    if claimed != computed {
        return Err(bad_digest(alg));
    }
    Ok(())
}

pub(super) fn verify_content_md5(header: Option<&str>, md5: Option<[u8; 16]>) -> S3Result<()> {
    let (Some(header), Some(md5)) = (header, md5) else {
        return Ok(());
    };
    let decoded = base64_simd::STANDARD
        .decode_to_vec(header.as_bytes())
        .ok()
        .filter(|d| d.len() == 16);
    match decoded {
        None => Err(s3_error!(
            InvalidDigest,
            "The Content-MD5 you specified was invalid."
        )),
        Some(d) if d != md5 => Err(s3_error!(
            BadDigest,
            "The Content-MD5 you specified did not match what we received."
        )),
        Some(_) => Ok(()),
    }
}
