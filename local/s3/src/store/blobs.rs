//! Immutable segments: the only place object bytes are stored. A segment is a file, or for
//! a body of at most [`INLINE_MAX`] bytes a row of the key database (see [`super::inline`]);
//! everything here treats both alike.
//!
//! Bodies are streamed in and out chunk by chunk (never held whole in memory). A segment is
//! written once under a fresh id and never modified, so readers need no locks: a version's
//! metadata names its segments, and replacing an object only swaps metadata, then deletes the
//! old files.
//!
//! Because no file is ever written after it is named by a version, a copy can share its
//! source's bytes: [`Blobs::link`] gives them a second name (a hard link) under a fresh id.
//! Each version still owns its own names, so removing a version's segments ([`Blobs::remove`],
//! the startup reclaim) unlinks only its names; the file system frees the bytes with the last
//! one. Hard links rather than reflinks: ext4 has no reflink (`FICLONE`), and a link shares
//! the bytes just as well when nothing writes them in place.

use std::io;
use std::io::Write as _;
use std::ops::Range;
use std::path::{Path, PathBuf};
use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll};

use bytes::{Bytes, BytesMut};
use copyflow_checksum::Hasher;
use futures::{Stream, StreamExt};
use tokio::io::{AsyncReadExt, AsyncSeekExt, AsyncWriteExt};
use tokio::sync::mpsc;

use super::db::Db;
use super::inline::INLINE_MAX;
use super::model::Segment;

/// Size of the chunks read from disk for GET and copies.
const READ_CHUNK: usize = 1 << 20;
/// Writes are batched to this size so each blocking-pool round trip moves a useful amount.
const WRITE_BATCH: usize = 1 << 20;

#[derive(Clone)]
pub(crate) struct Blobs {
    root: PathBuf,
    /// Where inline segments live.
    db: Arc<Db>,
    /// Bodies up to this size are stored inline.
    inline_max: usize,
}

impl std::fmt::Debug for Blobs {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Blobs").field("root", &self.root).finish()
    }
}

impl Blobs {
    pub(crate) fn new(root: PathBuf, db: Arc<Db>) -> Self {
        Self {
            root,
            db,
            inline_max: INLINE_MAX,
        }
    }

    fn file(blob: String, size: u64) -> Segment {
        Segment {
            blob,
            size,
            inline: false,
            pending: None,
        }
    }

    /// A new inline segment of `bytes`, inserted when its key record commits.
    fn pending(bytes: Bytes) -> Segment {
        Segment {
            blob: Self::new_id(),
            size: bytes.len() as u64,
            inline: true,
            pending: Some(bytes),
        }
    }

    /// Inserts the bytes of a pending inline segment now: for a segment that is recorded
    /// elsewhere than in a key record (an uploaded part).
    pub(crate) fn persist(&self, segment: &mut Segment) -> io::Result<()> {
        match segment.pending.take() {
            Some(bytes) => self.db.put_inline(&segment.blob, &bytes),
            None => Ok(()),
        }
    }

    /// Fresh id; two-character fan-out keeps directories small.
    fn new_id() -> String {
        uuid::Uuid::new_v4().simple().to_string()
    }

    pub(crate) fn path(&self, id: &str) -> PathBuf {
        let fan = id.get(..2).unwrap_or("00");
        self.root.join(fan).join(id)
    }

    /// A new, empty segment file under a fresh id. Synchronous: creating a file is a short
    /// metadata operation, cheaper done in place than as a blocking-pool round trip (for a
    /// small object the round trips cost more than the write). The fan-out directory is
    /// made only when the first try finds it missing.
    fn create(&self) -> io::Result<(String, PathBuf, std::fs::File)> {
        let id = Self::new_id();
        let path = self.path(&id);
        // Never truncates: a file with this name could be shared with another version.
        let open = || {
            std::fs::OpenOptions::new()
                .write(true)
                .create_new(true)
                .open(&path)
        };
        let file = match open() {
            Err(e) if e.kind() == io::ErrorKind::NotFound => {
                if let Some(dir) = path.parent() {
                    std::fs::create_dir_all(dir)?;
                }
                open()?
            }
            other => other?,
        };
        Ok((id, path, file))
    }

    /// Streams `body` into a new segment, feeding every byte to `hasher`.
    /// On any error the partial file is removed.
    ///
    /// A body of at most `inline_max` bytes becomes a pending inline segment; one that ends
    /// within the first [`WRITE_BATCH`] is written with one synchronous create and write; a
    /// longer one streams through `tokio::fs`.
    pub(crate) async fn write_stream<S, E>(
        &self,
        mut body: S,
        hasher: &mut Hasher,
    ) -> Result<Segment, WriteError<E>>
    where
        S: Stream<Item = Result<Bytes, E>> + Unpin,
    {
        let mut size = 0u64;
        let mut batch = BytesMut::new();
        let mut ended = false;
        while batch.len() < WRITE_BATCH {
            let Some(chunk) = body.next().await else {
                ended = true;
                break;
            };
            let chunk = chunk.map_err(WriteError::Body)?;
            hasher.update(&chunk);
            size += chunk.len() as u64;
            batch.extend_from_slice(&chunk);
        }
        if ended && batch.len() <= self.inline_max {
            return Ok(Self::pending(batch.freeze()));
        }
        let (id, path, file) = self.create().map_err(WriteError::Io)?;
        if ended {
            let written = (&file).write_all(&batch);
            drop(file);
            return match written {
                Ok(()) => Ok(Self::file(id, size)),
                Err(e) => {
                    let _ = std::fs::remove_file(&path);
                    Err(WriteError::Io(e))
                }
            };
        }
        let mut file = tokio::fs::File::from_std(file);
        let result = async {
            file.write_all(&batch).await.map_err(WriteError::Io)?;
            batch.clear();
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
            Ok(size) => Ok(Self::file(id, size)),
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
    pub(crate) async fn copy_range(
        &self,
        segments: &[Segment],
        range: Range<u64>,
        hasher: Option<&mut Hasher>,
    ) -> io::Result<Segment> {
        if hasher.is_none()
            && let [only] = segments
            && !only.inline
            && range.start == 0
            && range.end == only.size
        {
            let id = Self::new_id();
            let path = self.path(&id);
            if let Some(dir) = path.parent() {
                tokio::fs::create_dir_all(dir).await?;
            }
            tokio::fs::copy(self.path(&only.blob), &path).await?;
            return Ok(Self::file(id, only.size));
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

    /// New names for the files of `segments` (hard links under fresh ids), so a copy shares
    /// its source's bytes instead of writing them again; an inline segment becomes a pending
    /// one with the same bytes (a row of its own once committed). `None` when the file
    /// system refuses a link: across file systems (EXDEV), on file systems without hard links
    /// (EPERM), or at the link-count limit (EMLINK, 65,000 on ext4); the caller then copies
    /// the bytes. No link is left behind when `None` is returned.
    pub(crate) async fn link(&self, segments: &[Segment]) -> Option<Vec<Segment>> {
        let mut linked = Vec::with_capacity(segments.len());
        for s in segments {
            if s.inline {
                match self.inline_bytes(s) {
                    Ok(bytes) => {
                        linked.push(Self::pending(bytes));
                        continue;
                    }
                    Err(e) => tracing::debug!(blob = %s.blob, error = %e, "no inline copy"),
                }
                self.remove(&linked).await;
                return None;
            }
            let id = Self::new_id();
            let path = self.path(&id);
            // Synchronous, like `create`: a link is one short metadata operation.
            let link = || std::fs::hard_link(self.path(&s.blob), &path);
            let made = match link() {
                Err(e)
                    if e.kind() == io::ErrorKind::NotFound
                        && !path.parent().is_some_and(Path::exists) =>
                {
                    path.parent()
                        .map_or(Ok(()), std::fs::create_dir_all)
                        .and_then(|()| link())
                }
                other => other,
            };
            if let Err(e) = made {
                tracing::debug!(blob = %s.blob, error = %e, "no hard link; copying instead");
                self.remove(&linked).await;
                return None;
            }
            linked.push(Self::file(id, s.size));
        }
        Some(linked)
    }

    /// Reads `range` of the object made of `segments` into `hasher`, writing nothing: the
    /// checksums of a copy whose bytes are shared.
    pub(crate) async fn hash(
        &self,
        segments: &[Segment],
        range: Range<u64>,
        hasher: &mut Hasher,
    ) -> io::Result<()> {
        let mut stream = self.read_range(segments, range);
        while let Some(chunk) = stream.next().await {
            hasher.update(&chunk?);
        }
        Ok(())
    }

    /// Streams `range` of the object made of `segments`. A background task reads ahead a
    /// few chunks so disk reads overlap with the network.
    pub(crate) fn read_range(&self, segments: &[Segment], range: Range<u64>) -> ChunkStream {
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
        if segment.inline {
            let bytes = self.inline_bytes(segment)?;
            let end = usize::try_from(local.end).unwrap_or(usize::MAX);
            if bytes.len() < end {
                return Err(io::Error::new(
                    io::ErrorKind::UnexpectedEof,
                    "segment shorter than recorded",
                ));
            }
            let start = usize::try_from(local.start).unwrap_or(end);
            let _ = tx.send(Ok(bytes.slice(start..end))).await;
            return Ok(());
        }
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

    /// The bytes of an inline segment: pending in memory, or its row.
    fn inline_bytes(&self, segment: &Segment) -> io::Result<Bytes> {
        match &segment.pending {
            Some(bytes) => Ok(bytes.clone()),
            None => self.db.inline(&segment.blob).map(Bytes::from),
        }
    }

    /// A segment of `size` zero bytes that occupies no disk (test support for size limits).
    pub(crate) async fn sparse(&self, size: u64) -> io::Result<Segment> {
        let (id, _, file) = self.create()?;
        file.set_len(size)?;
        Ok(Self::file(id, size))
    }

    /// Best-effort removal of segments no longer referenced by any version. Removes their
    /// names only: bytes another version shares through a link of its own stay.
    pub(crate) async fn remove(&self, segments: &[Segment]) {
        for s in segments {
            if s.inline {
                // A pending segment has no row; the delete finds nothing.
                if let Err(e) = self.db.remove_inline(&s.blob) {
                    tracing::warn!(blob = %s.blob, error = %e, "could not remove segment");
                }
                continue;
            }
            if let Err(e) = tokio::fs::remove_file(self.path(&s.blob)).await
                && e.kind() != io::ErrorKind::NotFound
            {
                tracing::warn!(blob = %s.blob, error = %e, "could not remove segment");
            }
        }
    }
}

/// Which byte range of which segment serves each part of `range` (pure).
pub(crate) fn plan_reads(segments: &[Segment], range: Range<u64>) -> Vec<(Segment, Range<u64>)> {
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
pub(crate) enum WriteError<E> {
    #[error("storage I/O: {0}")]
    Io(io::Error),
    #[error("request body: {0}")]
    Body(E),
}

/// Body stream fed by a reader task.
pub(crate) struct ChunkStream {
    rx: mpsc::Receiver<io::Result<Bytes>>,
}

impl Stream for ChunkStream {
    type Item = io::Result<Bytes>;

    fn poll_next(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<Self::Item>> {
        self.rx.poll_recv(cx)
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::expect_used)]
mod tests {
    use super::*;

    fn seg(size: u64) -> Segment {
        Blobs::file(format!("b{size}"), size)
    }

    /// Blobs that store every body as a file (the tests of hard links).
    fn files_only(dir: &Path) -> Blobs {
        let db = Arc::new(Db::open(dir).unwrap());
        Blobs {
            inline_max: 0,
            ..Blobs::new(dir.to_owned(), db)
        }
    }

    async fn write(blobs: &Blobs, data: &'static [u8]) -> Segment {
        let body = futures::stream::iter([Ok::<_, io::Error>(Bytes::from_static(data))]);
        blobs
            .write_stream(body, &mut Hasher::new(&[], false))
            .await
            .unwrap()
    }

    async fn read(blobs: &Blobs, segments: &[Segment]) -> Vec<u8> {
        let size = segments.iter().map(|s| s.size).sum();
        let mut out = Vec::new();
        let mut stream = blobs.read_range(segments, 0..size);
        while let Some(chunk) = stream.next().await {
            out.extend_from_slice(&chunk.unwrap());
        }
        out
    }

    #[cfg(unix)]
    #[tokio::test]
    async fn a_link_names_the_same_file_and_outlives_the_name_it_was_made_from() {
        use std::os::unix::fs::MetadataExt;
        let dir = tempfile::tempdir().unwrap();
        let blobs = files_only(dir.path());
        let source = [
            write(&blobs, b"shared ").await,
            write(&blobs, b"bytes").await,
        ];
        let linked = blobs.link(&source).await.unwrap();
        for (s, l) in source.iter().zip(&linked) {
            assert_ne!(s.blob, l.blob, "a link has a name of its own");
            let (a, b) = (
                std::fs::metadata(blobs.path(&s.blob)).unwrap(),
                std::fs::metadata(blobs.path(&l.blob)).unwrap(),
            );
            assert_eq!((a.dev(), a.ino()), (b.dev(), b.ino()));
            assert_eq!(b.nlink(), 2);
        }
        blobs.remove(&source).await;
        assert_eq!(read(&blobs, &linked).await, b"shared bytes");
        let left = std::fs::metadata(blobs.path(&linked[0].blob)).unwrap();
        assert_eq!(left.nlink(), 1);
    }

    /// A real EXDEV: the source's fan-out directory is a symlink to another file system
    /// (`/dev/shm`), so new names (under the hex fan-outs of the data directory) cannot be
    /// links to it.
    #[cfg(target_os = "linux")]
    #[tokio::test]
    async fn a_link_across_file_systems_is_refused_and_leaves_no_name_behind() {
        use std::os::unix::fs::MetadataExt;
        let dir = tempfile::tempdir().unwrap();
        let other = tempfile::tempdir_in("/dev/shm").expect("this test needs /dev/shm");
        let (here, there) = (
            std::fs::metadata(dir.path()).unwrap().dev(),
            std::fs::metadata(other.path()).unwrap().dev(),
        );
        assert_ne!(
            here, there,
            "/dev/shm must be another file system than the temp dir"
        );
        std::os::unix::fs::symlink(other.path(), dir.path().join("zz")).unwrap();
        std::fs::write(other.path().join("zz-source"), b"elsewhere").unwrap();
        let blobs = files_only(dir.path());
        let source = [
            write(&blobs, b"here, ").await,
            Blobs::file("zz-source".to_owned(), 9),
        ];
        assert_eq!(blobs.link(&source).await, None);
        let mut names = Vec::new();
        for fan in std::fs::read_dir(dir.path()).unwrap() {
            let fan = fan.unwrap().path();
            if fan.is_dir() && !fan.is_symlink() {
                names.extend(
                    std::fs::read_dir(&fan)
                        .unwrap()
                        .map(|e| e.unwrap().file_name()),
                );
            }
        }
        assert_eq!(
            names,
            [source[0].blob.as_str()],
            "the first link was undone"
        );
        let copied = blobs.copy_range(&source, 0..15, None).await.unwrap();
        assert_eq!(read(&blobs, &[copied]).await, b"here, elsewhere");
    }

    #[tokio::test]
    async fn a_small_body_is_a_row_that_reads_links_and_copies_like_a_file() {
        let dir = tempfile::tempdir().unwrap();
        let db = Arc::new(Db::open(dir.path()).unwrap());
        let blobs = Blobs::new(dir.path().join("blobs"), db.clone());
        let mut small = write(&blobs, b"small body").await;
        assert!(small.inline);
        assert!(!dir.path().join("blobs").exists(), "no file was created");
        assert!(
            db.inline_ids().unwrap().is_empty(),
            "pending until committed"
        );
        blobs.persist(&mut small).unwrap();
        assert_eq!(small.pending, None);
        let range: Vec<u8> = {
            let mut stream = blobs.read_range(std::slice::from_ref(&small), 6..10);
            let mut out = Vec::new();
            while let Some(chunk) = stream.next().await {
                out.extend_from_slice(&chunk.unwrap());
            }
            out
        };
        assert_eq!(range, b"body");
        let mut linked = blobs.link(std::slice::from_ref(&small)).await.unwrap();
        let mut copied = blobs.copy_range(&linked, 0..10, None).await.unwrap();
        assert!(linked[0].inline && copied.inline);
        blobs.persist(&mut linked[0]).unwrap();
        blobs.persist(&mut copied).unwrap();
        blobs.remove(std::slice::from_ref(&small)).await;
        assert_eq!(read(&blobs, &linked).await, b"small body");
        assert_eq!(read(&blobs, &[copied]).await, b"small body");
        assert_eq!(db.inline_ids().unwrap().len(), 2);
        let mut short = linked[0].clone();
        short.size = 11;
        let mut stream = blobs.read_range(&[short], 0..11);
        let err = stream.next().await.unwrap().unwrap_err();
        assert_eq!(err.kind(), io::ErrorKind::UnexpectedEof);
    }

    #[tokio::test]
    async fn a_body_over_the_inline_limit_is_a_file() {
        let dir = tempfile::tempdir().unwrap();
        let db = Arc::new(Db::open(dir.path()).unwrap());
        let blobs = Blobs::new(dir.path().join("blobs"), db.clone());
        let big: &'static [u8] = Box::leak(vec![7u8; INLINE_MAX + 1].into_boxed_slice());
        let segment = write(&blobs, big).await;
        assert!(!segment.inline);
        assert!(blobs.path(&segment.blob).is_file());
        let at_limit = write(&blobs, &big[..INLINE_MAX]).await;
        assert!(at_limit.inline);
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
