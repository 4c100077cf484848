//! Immutable segment files: the only place object bytes are stored.
//!
//! Bodies are streamed in and out chunk by chunk (never held whole in memory). A segment is
//! written once under a fresh id and never modified, so readers need no locks: a version's
//! metadata names its segments, and replacing an object only swaps metadata, then deletes the
//! old files.

use std::io;
use std::ops::Range;
use std::path::PathBuf;
use std::pin::Pin;
use std::task::{Context, Poll};

use bytes::{Bytes, BytesMut};
use copyflow_checksum::Hasher;
use futures::{Stream, StreamExt};
use tokio::io::{AsyncReadExt, AsyncSeekExt, AsyncWriteExt};
use tokio::sync::mpsc;

use super::model::Segment;

/// Size of the chunks read from disk for GET and copies.
const READ_CHUNK: usize = 1 << 20;
/// Writes are batched to this size so each blocking-pool round trip moves a useful amount.
const WRITE_BATCH: usize = 1 << 20;

#[derive(Debug, Clone)]
pub struct Blobs {
    root: PathBuf,
}

impl Blobs {
    pub fn new(root: PathBuf) -> Self {
        Self { root }
    }

    /// Fresh id; two-character fan-out keeps directories small.
    fn new_id() -> String {
        uuid::Uuid::new_v4().simple().to_string()
    }

    pub fn path(&self, id: &str) -> PathBuf {
        let fan = id.get(..2).unwrap_or("00");
        self.root.join(fan).join(id)
    }

    async fn create(&self) -> io::Result<(String, PathBuf, tokio::fs::File)> {
        let id = Self::new_id();
        let path = self.path(&id);
        if let Some(dir) = path.parent() {
            tokio::fs::create_dir_all(dir).await?;
        }
        let file = tokio::fs::File::create(&path).await?;
        Ok((id, path, file))
    }

    /// Streams `body` into a new segment, feeding every byte to `hasher`.
    /// On any error the partial file is removed.
    pub async fn write_stream<S, E>(
        &self,
        mut body: S,
        hasher: &mut Hasher,
    ) -> Result<Segment, WriteError<E>>
    where
        S: Stream<Item = Result<Bytes, E>> + Unpin,
    {
        let (id, path, mut file) = self.create().await.map_err(WriteError::Io)?;
        let result = async {
            let mut size = 0u64;
            let mut batch = BytesMut::with_capacity(WRITE_BATCH);
            while let Some(chunk) = body.next().await {
                let chunk = chunk.map_err(WriteError::Body)?;
                hasher.update(&chunk);
                size += chunk.len() as u64;
                batch.extend_from_slice(&chunk);
                if batch.len() >= WRITE_BATCH {
                    file.write_all(&batch).await.map_err(WriteError::Io)?;
                    batch.clear();
                }
            }
            file.write_all(&batch).await.map_err(WriteError::Io)?;
            file.flush().await.map_err(WriteError::Io)?;
            Ok(size)
        }
        .await;
        match result {
            Ok(size) => Ok(Segment { blob: id, size }),
            Err(e) => {
                drop(file);
                let _ = tokio::fs::remove_file(&path).await;
                Err(e)
            }
        }
    }

    /// Copies `range` of the object made of `segments` into a new segment.
    /// With a hasher the bytes are read and hashed; without one a whole-segment copy is
    /// delegated to the kernel (`copy_file_range`), which is as fast as a plain file copy.
    pub async fn copy_range(
        &self,
        segments: &[Segment],
        range: Range<u64>,
        hasher: Option<&mut Hasher>,
    ) -> io::Result<Segment> {
        if hasher.is_none()
            && let [only] = segments
            && range.start == 0
            && range.end == only.size
        {
            let id = Self::new_id();
            let path = self.path(&id);
            if let Some(dir) = path.parent() {
                tokio::fs::create_dir_all(dir).await?;
            }
            tokio::fs::copy(self.path(&only.blob), &path).await?;
            return Ok(Segment {
                blob: id,
                size: only.size,
            });
        }
        let mut stream = self.read_range(segments, range);
        let mut scratch = Hasher::new(&[], false);
        let hasher = match hasher {
            Some(h) => h,
            None => &mut scratch,
        };
        self.write_stream(&mut stream, hasher)
            .await
            .map_err(|e| match e {
                WriteError::Io(e) | WriteError::Body(e) => e,
            })
    }

    /// Streams `range` of the object made of `segments`. A background task reads ahead a
    /// few chunks so disk reads overlap with the network.
    pub fn read_range(&self, segments: &[Segment], range: Range<u64>) -> ChunkStream {
        let (tx, rx) = mpsc::channel(4);
        let plan = plan_reads(segments, range);
        let blobs = self.clone();
        tokio::spawn(async move {
            for (segment, local) in plan {
                if let Err(e) = blobs.send_segment(&segment, local, &tx).await {
                    let _ = tx.send(Err(e)).await;
                    return;
                }
            }
        });
        ChunkStream { rx }
    }

    async fn send_segment(
        &self,
        segment: &Segment,
        local: Range<u64>,
        tx: &mpsc::Sender<io::Result<Bytes>>,
    ) -> io::Result<()> {
        let mut file = tokio::fs::File::open(self.path(&segment.blob)).await?;
        if local.start > 0 {
            file.seek(io::SeekFrom::Start(local.start)).await?;
        }
        let mut remaining = local.end - local.start;
        while remaining > 0 {
            let want = usize::try_from(remaining)
                .unwrap_or(usize::MAX)
                .min(READ_CHUNK);
            let mut buf = BytesMut::zeroed(want);
            let mut filled = 0;
            while filled < want {
                let n = file.read(&mut buf[filled..]).await?;
                if n == 0 {
                    return Err(io::Error::new(
                        io::ErrorKind::UnexpectedEof,
                        "segment shorter than recorded",
                    ));
                }
                filled += n;
            }
            remaining -= want as u64;
            if tx.send(Ok(buf.freeze())).await.is_err() {
                return Ok(()); // reader went away (client disconnected)
            }
        }
        Ok(())
    }

    /// A segment of `size` zero bytes that occupies no disk (test support for size limits).
    pub async fn sparse(&self, size: u64) -> io::Result<Segment> {
        let (id, _, file) = self.create().await?;
        file.set_len(size).await?;
        Ok(Segment { blob: id, size })
    }

    /// Best-effort removal of segments no longer referenced by any version.
    pub async fn remove(&self, segments: &[Segment]) {
        for s in segments {
            if let Err(e) = tokio::fs::remove_file(self.path(&s.blob)).await
                && e.kind() != io::ErrorKind::NotFound
            {
                tracing::warn!(blob = %s.blob, error = %e, "could not remove segment");
            }
        }
    }
}

/// Which byte range of which segment serves each part of `range` (pure).
pub fn plan_reads(segments: &[Segment], range: Range<u64>) -> Vec<(Segment, Range<u64>)> {
    let mut out = Vec::new();
    let mut offset = 0u64;
    for s in segments {
        let seg = offset..offset + s.size;
        offset += s.size;
        let start = range.start.max(seg.start);
        let end = range.end.min(seg.end);
        if start < end {
            out.push((s.clone(), start - seg.start..end - seg.start));
        }
    }
    out
}

#[derive(Debug, thiserror::Error)]
pub enum WriteError<E> {
    #[error("storage I/O: {0}")]
    Io(io::Error),
    #[error("request body: {0}")]
    Body(E),
}

/// Body stream fed by a reader task.
pub struct ChunkStream {
    rx: mpsc::Receiver<io::Result<Bytes>>,
}

impl Stream for ChunkStream {
    type Item = io::Result<Bytes>;

    fn poll_next(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<Self::Item>> {
        self.rx.poll_recv(cx)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn seg(size: u64) -> Segment {
        Segment {
            blob: format!("b{size}"),
            size,
        }
    }

    #[test]
    fn plan_reads_spans_segment_boundaries() {
        let segs = [seg(10), seg(5), seg(7)];
        let plan = plan_reads(&segs, 8..17);
        let ranges: Vec<_> = plan.iter().map(|(s, r)| (s.size, r.clone())).collect();
        assert_eq!(ranges, vec![(10, 8..10), (5, 0..5), (7, 0..2)]);
    }

    #[test]
    fn plan_reads_of_empty_range_reads_nothing() {
        assert!(plan_reads(&[seg(10)], 3..3).is_empty());
    }

    #[test]
    fn plan_reads_covers_each_byte_once() {
        let segs = [seg(3), seg(0), seg(4), seg(1)];
        for start in 0..=8u64 {
            for end in start..=8u64 {
                let total: u64 = plan_reads(&segs, start..end)
                    .iter()
                    .map(|(_, r)| r.end - r.start)
                    .sum();
                assert_eq!(total, end - start);
            }
        }
    }
}
