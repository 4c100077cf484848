//! The storage engine: buckets, object versions and multipart uploads in a directory.
//!
//! Layout under the data directory:
//! - `blobs/xx/<id>`: immutable segment files with object bytes ([`blobs`]);
//! - `buckets/<name>/bucket.json`: bucket settings;
//! - `keys.sqlite3`: every version of every key, one row per key ([`db`]);
//! - `uploads/<upload-id>.json`: in-progress multipart uploads.
//!
//! Files a killed server left behind (unreferenced segments, temp files) are deleted when
//! the store opens ([`reclaim`]). Key files of older versions
//! (`buckets/<name>/keys/<sha256(key)>.json`) are imported into the database then.
//!
//! Key metadata is not held in memory (it grew by kilobytes per object and made a restart
//! read one file per key); each request reads its key's row, and a listing walks the rows
//! as a range scan. Writers of a bucket are serialized by its lock (conditional writes read
//! then write). Bytes are written before the row that names them is committed; a
//! concurrent reader sees either the old version or the new one, never a torn object.

pub(crate) mod blobs;
pub(crate) mod db;
pub(crate) mod inline;
pub(crate) mod listing;
pub(crate) mod model;
pub(crate) mod reclaim;
pub(crate) mod versions;

use std::collections::{BTreeMap, HashMap};
use std::io;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex, MutexGuard, PoisonError, RwLock, RwLockReadGuard, RwLockWriteGuard};

use s3s::{S3Error, S3ErrorCode, S3Result, s3_error};

use crate::errors::aws;
use serde::Serialize;
use serde::de::DeserializeOwned;

use self::blobs::Blobs;
use self::db::Db;
use self::model::{
    BucketMeta, KeyRecord, LifecycleRule, ObjectVersion, Segment, Upload, UploadedPart, Versioning,
};

pub(crate) fn now_ms() -> i64 {
    let now = time::OffsetDateTime::now_utc();
    i64::try_from(now.unix_timestamp_nanos() / 1_000_000).unwrap_or(i64::MAX)
}

fn read_lock<T>(lock: &RwLock<T>) -> RwLockReadGuard<'_, T> {
    lock.read().unwrap_or_else(PoisonError::into_inner)
}

fn write_lock<T>(lock: &RwLock<T>) -> RwLockWriteGuard<'_, T> {
    lock.write().unwrap_or_else(PoisonError::into_inner)
}

fn lock<T>(m: &Mutex<T>) -> MutexGuard<'_, T> {
    m.lock().unwrap_or_else(PoisonError::into_inner)
}

pub(crate) fn internal(e: impl std::fmt::Display) -> S3Error {
    s3_error!(InternalError, "storage error: {e}")
}

/// Writes JSON atomically (temp file + rename) so a crash never leaves half a record.
fn write_json(path: &Path, value: &impl Serialize) -> io::Result<()> {
    let bytes = serde_json::to_vec(value).map_err(io::Error::other)?;
    let tmp = path.with_extension(format!("tmp-{}", uuid::Uuid::new_v4().simple()));
    std::fs::write(&tmp, bytes)?;
    std::fs::rename(&tmp, path)
}

fn read_json<T: DeserializeOwned>(path: &Path) -> io::Result<T> {
    let bytes = std::fs::read(path)?;
    serde_json::from_slice(&bytes).map_err(|e| {
        io::Error::new(
            io::ErrorKind::InvalidData,
            format!("{}: {e}", path.display()),
        )
    })
}

fn json_files(dir: &Path) -> io::Result<Vec<PathBuf>> {
    let mut out = Vec::new();
    match std::fs::read_dir(dir) {
        Ok(entries) => {
            for entry in entries {
                let path = entry?.path();
                if path.extension().is_some_and(|e| e == "json") {
                    out.push(path);
                }
            }
        }
        Err(e) if e.kind() == io::ErrorKind::NotFound => {}
        Err(e) => return Err(e),
    }
    Ok(out)
}

/// Migration from the one-JSON-file-per-key layout: imports `keys_dir/*.json` into the
/// database in one transaction, then deletes the files and the directory. A crash before the
/// commit leaves the files for the next start; one after it leaves files whose records are
/// already imported, so importing them again is harmless.
fn import_key_files(db: &Db, bucket: &str, keys_dir: &Path) -> io::Result<()> {
    let files = json_files(keys_dir)?;
    if files.is_empty() {
        return Ok(());
    }
    let imported = db.import(bucket, files.iter().map(|f| read_json::<KeyRecord>(f)))?;
    for file in &files {
        std::fs::remove_file(file)?;
    }
    // Only removed once empty: leftover temp files are reclaimed first.
    let _ = std::fs::remove_dir(keys_dir);
    tracing::info!(bucket, imported, "imported key files into the key database");
    Ok(())
}

pub(crate) struct BucketState {
    pub meta: BucketMeta,
    deleted: bool,
}

pub(crate) struct Bucket {
    pub name: String,
    dir: PathBuf,
    db: Arc<Db>,
    state: RwLock<BucketState>,
}

impl Bucket {
    pub(crate) fn read(&self) -> RwLockReadGuard<'_, BucketState> {
        read_lock(&self.state)
    }

    pub(crate) fn versioning(&self) -> Versioning {
        self.read().meta.versioning
    }

    pub(crate) fn set_versioning(&self, v: Versioning) -> S3Result<()> {
        let mut st = write_lock(&self.state);
        st.meta.versioning = v;
        write_json(&self.dir.join("bucket.json"), &st.meta).map_err(internal)
    }

    /// Whether the bucket sends EventBridge events (None: not configured).
    pub(crate) fn eventbridge(&self) -> Option<bool> {
        self.read().meta.eventbridge
    }

    /// Turns EventBridge notifications on or off, persistently.
    pub(crate) fn set_eventbridge(&self, on: bool) -> S3Result<()> {
        let mut st = write_lock(&self.state);
        st.meta.eventbridge = Some(on);
        write_json(&self.dir.join("bucket.json"), &st.meta).map_err(internal)
    }

    pub(crate) fn lifecycle(&self) -> Option<Vec<LifecycleRule>> {
        self.read().meta.lifecycle.clone()
    }

    /// Sets (or with `None` removes) the lifecycle configuration and persists it.
    pub(crate) fn set_lifecycle(&self, rules: Option<Vec<LifecycleRule>>) -> S3Result<()> {
        let mut st = write_lock(&self.state);
        st.meta.lifecycle = rules;
        write_json(&self.dir.join("bucket.json"), &st.meta).map_err(internal)
    }

    /// A snapshot of one version: `None` means the current one (which may be a delete marker).
    pub(crate) fn version(
        &self,
        key: &str,
        version_id: Option<&str>,
    ) -> S3Result<Option<ObjectVersion>> {
        let Some(mut rec) = self.record(key)? else {
            return Ok(None);
        };
        let pos = match version_id {
            Some(id) => rec.versions.iter().position(|v| v.version_id == id),
            None => rec.versions.len().checked_sub(1),
        };
        Ok(pos.map(|i| rec.versions.swap_remove(i)))
    }

    /// Every version of `key`, or `None` when it has none.
    pub(crate) fn record(&self, key: &str) -> S3Result<Option<KeyRecord>> {
        self.db.get(&self.name, key)
    }

    /// The keys of this bucket from `from` on, in S3's order, read a page at a time (the
    /// first of `first` rows).
    pub(crate) fn rows(&self, from: std::ops::Bound<String>, first: usize) -> db::Rows<'_> {
        self.db.rows(&self.name, from, first)
    }

    fn persist_key(&self, rec: Option<&KeyRecord>, key: &str) -> S3Result<()> {
        self.db.put(&self.name, key, rec)
    }

    /// Makes `version` the current version of `key`, after `check` accepted the current
    /// live version (conditional writes). Assigns the version id from the bucket's versioning
    /// state, then calls `announce` with the final version, still under the bucket lock and
    /// before anything is persisted (the durable outbox records the event there, so a crash
    /// can never leave a committed object without its event). An error from `announce`
    /// aborts the commit. Returns the committed version, the segments no longer referenced
    /// and what `announce` returned.
    pub(crate) fn commit<T>(
        &self,
        key: &str,
        mut version: ObjectVersion,
        check: impl FnOnce(Option<&ObjectVersion>) -> S3Result<()>,
        announce: impl FnOnce(&ObjectVersion, Versioning, Option<bool>) -> S3Result<T>,
    ) -> S3Result<(ObjectVersion, Vec<Segment>, T)> {
        let st = write_lock(&self.state);
        if st.deleted {
            return Err(aws(S3ErrorCode::NoSuchBucket));
        }
        let mut rec = self.record(key)?.unwrap_or_else(|| KeyRecord {
            key: key.to_owned(),
            versions: Vec::new(),
        });
        check(rec.live())?;
        let versioning = st.meta.versioning;
        version.version_id = match versioning {
            Versioning::Enabled => new_version_id(),
            Versioning::Unversioned | Versioning::Suspended => "null".to_owned(),
        };
        let announced = announce(&version, versioning, st.meta.eventbridge)?;
        let mut freed = Vec::new();
        if version.is_null_version() {
            rec.versions.retain(|v| {
                let replaced = v.is_null_version();
                if replaced {
                    freed.extend(v.segments.iter().cloned());
                }
                !replaced
            });
        }
        rec.versions.reserve_exact(1);
        rec.versions.push(version.clone());
        self.persist_key(Some(&rec), key)?;
        drop(st);
        Ok((version, freed, announced))
    }

    /// Applies `edit` to one existing version (tagging) and persists it.
    pub(crate) fn edit_version(
        &self,
        key: &str,
        version_id: Option<&str>,
        edit: impl FnOnce(&mut ObjectVersion),
    ) -> S3Result<ObjectVersion> {
        let st = write_lock(&self.state);
        let mut rec = self
            .record(key)?
            .ok_or_else(|| aws(S3ErrorCode::NoSuchKey))?;
        let v = match version_id {
            Some(id) => rec
                .versions
                .iter_mut()
                .find(|v| v.version_id == id)
                .ok_or_else(|| aws(S3ErrorCode::NoSuchVersion))?,
            None => rec
                .versions
                .last_mut()
                .filter(|v| !v.delete_marker)
                .ok_or_else(|| aws(S3ErrorCode::NoSuchKey))?,
        };
        if v.delete_marker {
            return Err(s3_error!(
                MethodNotAllowed,
                "The specified method is not allowed against this resource."
            ));
        }
        edit(v);
        let edited = v.clone();
        self.persist_key(Some(&rec), key)?;
        drop(st);
        Ok(edited)
    }

    /// DeleteObject semantics: without a version id, unversioned buckets drop the key and
    /// versioned ones add a delete marker; with one, that version is removed for good.
    pub(crate) fn delete(
        &self,
        key: &str,
        version_id: Option<&str>,
    ) -> S3Result<(DeleteOutcome, Vec<Segment>)> {
        let st = write_lock(&self.state);
        let versioning = st.meta.versioning;
        let mut freed = Vec::new();
        let mut rec = self.record(key)?;
        let outcome = match version_id {
            Some(id) => {
                let Some(rec) = rec.as_mut() else {
                    return Ok((
                        DeleteOutcome {
                            version_id: Some(id.to_owned()),
                            delete_marker: false,
                        },
                        freed,
                    ));
                };
                let Some(pos) = rec.versions.iter().position(|v| v.version_id == id) else {
                    return Ok((
                        DeleteOutcome {
                            version_id: Some(id.to_owned()),
                            delete_marker: false,
                        },
                        freed,
                    ));
                };
                let removed = rec.versions.remove(pos);
                freed.extend(removed.segments);
                DeleteOutcome {
                    version_id: Some(id.to_owned()),
                    delete_marker: removed.delete_marker,
                }
            }
            None if versioning == Versioning::Unversioned => {
                if let Some(rec) = rec.take() {
                    freed.extend(rec.versions.into_iter().flat_map(|v| v.segments));
                    self.persist_key(None, key)?;
                }
                return Ok((
                    DeleteOutcome {
                        version_id: None,
                        delete_marker: false,
                    },
                    freed,
                ));
            }
            None => {
                let marker_id = if versioning == Versioning::Enabled {
                    new_version_id()
                } else {
                    "null".to_owned()
                };
                let rec = rec.get_or_insert_with(|| KeyRecord {
                    key: key.to_owned(),
                    versions: Vec::new(),
                });
                if marker_id == "null" {
                    rec.versions.retain(|v| {
                        let replaced = v.is_null_version();
                        if replaced {
                            freed.extend(v.segments.iter().cloned());
                        }
                        !replaced
                    });
                }
                rec.versions.reserve_exact(1);
                rec.versions
                    .push(ObjectVersion::delete_marker(marker_id.clone()));
                DeleteOutcome {
                    version_id: Some(marker_id),
                    delete_marker: true,
                }
            }
        };
        self.persist_key(rec.as_ref(), key)?;
        drop(st);
        Ok((outcome, freed))
    }
}

impl ObjectVersion {
    fn delete_marker(version_id: String) -> Self {
        ObjectVersion {
            version_id,
            delete_marker: true,
            last_modified_ms: now_ms(),
            size: 0,
            etag: String::new(),
            segments: Vec::new(),
            headers: Default::default(),
            metadata: BTreeMap::new(),
            tags: Vec::new(),
            storage_class: "STANDARD".to_owned(),
            checksum: None,
            crc64nvme: 0,
            parts: None,
        }
    }
}

#[derive(Debug, Clone)]
pub(crate) struct DeleteOutcome {
    pub version_id: Option<String>,
    pub delete_marker: bool,
}

fn new_version_id() -> String {
    // S3 version ids are opaque URL-safe strings of 32 characters.
    let a = uuid::Uuid::new_v4();
    base64_simd::URL_SAFE_NO_PAD
        .encode_to_string(&a.as_bytes()[..])
        .chars()
        .chain("v1".chars())
        .take(32)
        .collect()
}

pub(crate) struct Store {
    root: PathBuf,
    db: Arc<Db>,
    pub blobs: Blobs,
    buckets: RwLock<BTreeMap<String, Arc<Bucket>>>,
    uploads: Mutex<HashMap<String, Upload>>,
}

impl Store {
    /// Opens (or creates) a store in `root`, loading every bucket, key and upload record.
    pub(crate) fn open(root: &Path) -> io::Result<Store> {
        for dir in ["blobs", "buckets", "uploads"] {
            std::fs::create_dir_all(root.join(dir))?;
        }
        let db = Arc::new(Db::open(root)?);
        let mut buckets = BTreeMap::new();
        for entry in std::fs::read_dir(root.join("buckets"))? {
            let dir = entry?.path();
            let Some(name) = dir.file_name().and_then(|n| n.to_str()).map(str::to_owned) else {
                continue;
            };
            let meta_path = dir.join("bucket.json");
            if !meta_path.exists() {
                continue;
            }
            let meta: BucketMeta = read_json(&meta_path)?;
            import_key_files(&db, &name, &dir.join("keys"))?;
            let state = RwLock::new(BucketState {
                meta,
                deleted: false,
            });
            let db = db.clone();
            buckets.insert(
                name.clone(),
                Arc::new(Bucket {
                    name,
                    dir,
                    db,
                    state,
                }),
            );
        }
        let mut uploads = HashMap::new();
        for file in json_files(&root.join("uploads"))? {
            let upload: Upload = read_json(&file)?;
            uploads.insert(upload.upload_id.clone(), upload);
        }
        let store = Store {
            root: root.to_owned(),
            blobs: Blobs::new(root.join("blobs"), db.clone()),
            db,
            buckets: RwLock::new(buckets),
            uploads: Mutex::new(uploads),
        };
        let reclaimed = store.reclaim()?;
        if reclaimed != reclaim::Reclaimed::default() {
            tracing::warn!(
                orphan_blobs = reclaimed.orphan_blobs,
                orphan_bytes = reclaimed.orphan_bytes,
                temp_files = reclaimed.temp_files,
                "reclaimed files left by an interrupted server"
            );
        }
        Ok(store)
    }

    pub(crate) fn bucket(&self, name: &str) -> S3Result<Arc<Bucket>> {
        read_lock(&self.buckets)
            .get(name)
            .cloned()
            .ok_or_else(|| aws(S3ErrorCode::NoSuchBucket))
    }

    /// Whether `bucket`/`key` holds the version an event announced: by version id, or for
    /// the null version (unversioned or suspended buckets) by ETag and size.
    pub(crate) fn holds(
        &self,
        bucket: &str,
        key: &str,
        version_id: Option<&str>,
        etag: &str,
        size: u64,
    ) -> bool {
        let Ok(bucket) = self.bucket(bucket) else {
            return false;
        };
        let Ok(Some(rec)) = bucket.record(key) else {
            return false;
        };
        match version_id {
            Some(id) if id != "null" => rec.version(id).is_some_and(|v| !v.delete_marker),
            _ => rec.versions.iter().any(|v| {
                v.is_null_version() && !v.delete_marker && v.etag == etag && v.size == size
            }),
        }
    }

    pub(crate) fn buckets(&self) -> Vec<Arc<Bucket>> {
        read_lock(&self.buckets).values().cloned().collect()
    }

    pub(crate) fn bucket_names(&self) -> Vec<(String, i64)> {
        read_lock(&self.buckets)
            .values()
            .map(|b| (b.name.clone(), b.read().meta.created_ms))
            .collect()
    }

    pub(crate) fn create_bucket(&self, name: &str) -> S3Result<()> {
        let mut buckets = write_lock(&self.buckets);
        if buckets.contains_key(name) {
            return Err(aws(S3ErrorCode::BucketAlreadyOwnedByYou));
        }
        let dir = self.root.join("buckets").join(name);
        std::fs::create_dir_all(&dir).map_err(internal)?;
        let meta = BucketMeta {
            created_ms: now_ms(),
            versioning: Versioning::Unversioned,
            eventbridge: None,
            lifecycle: None,
        };
        write_json(&dir.join("bucket.json"), &meta).map_err(internal)?;
        let state = RwLock::new(BucketState {
            meta,
            deleted: false,
        });
        buckets.insert(
            name.to_owned(),
            Arc::new(Bucket {
                name: name.to_owned(),
                dir,
                db: self.db.clone(),
                state,
            }),
        );
        Ok(())
    }

    pub(crate) async fn delete_bucket(&self, name: &str) -> S3Result<()> {
        let bucket = {
            let mut buckets = write_lock(&self.buckets);
            let bucket = buckets
                .get(name)
                .cloned()
                .ok_or_else(|| aws(S3ErrorCode::NoSuchBucket))?;
            {
                let mut st = write_lock(&bucket.state);
                if self.db.has_keys(name)? {
                    return Err(aws(S3ErrorCode::BucketNotEmpty));
                }
                st.deleted = true;
            }
            buckets.remove(name);
            bucket
        };
        let stale: Vec<String> = lock(&self.uploads)
            .values()
            .filter(|u| u.bucket == name)
            .map(|u| u.upload_id.clone())
            .collect();
        for id in stale {
            let _ = self.abort_upload(name, &id).await;
        }
        tokio::fs::remove_dir_all(&bucket.dir)
            .await
            .map_err(internal)
    }

    fn upload_path(&self, id: &str) -> PathBuf {
        self.root.join("uploads").join(format!("{id}.json"))
    }

    pub(crate) fn create_upload(&self, upload: Upload) -> S3Result<()> {
        write_json(&self.upload_path(&upload.upload_id), &upload).map_err(internal)?;
        lock(&self.uploads).insert(upload.upload_id.clone(), upload);
        Ok(())
    }

    /// A snapshot of an upload of `bucket`/`key`, or NoSuchUpload.
    pub(crate) fn upload(&self, bucket: &str, key: &str, id: &str) -> S3Result<Upload> {
        lock(&self.uploads)
            .get(id)
            .filter(|u| u.bucket == bucket && u.key == key)
            .cloned()
            .ok_or_else(|| aws(S3ErrorCode::NoSuchUpload))
    }

    pub(crate) fn uploads_in(&self, bucket: &str) -> Vec<Upload> {
        let mut out: Vec<Upload> = lock(&self.uploads)
            .values()
            .filter(|u| u.bucket == bucket)
            .cloned()
            .collect();
        out.sort_by(|a, b| {
            (&a.key, a.initiated_ms, &a.upload_id).cmp(&(&b.key, b.initiated_ms, &b.upload_id))
        });
        out
    }

    /// Records a part (replacing an earlier part with the same number, as S3 does).
    pub(crate) async fn put_part(
        &self,
        bucket: &str,
        key: &str,
        id: &str,
        mut part: UploadedPart,
    ) -> S3Result<()> {
        // The upload record is a JSON file, so a small part's bytes go in on their own.
        self.blobs.persist(&mut part.segment).map_err(internal)?;
        let recorded = {
            let mut uploads = lock(&self.uploads);
            match uploads
                .get_mut(id)
                .filter(|u| u.bucket == bucket && u.key == key)
            {
                Some(upload) => {
                    let replaced = upload.parts.insert(part.number, part.clone());
                    let written = write_json(&self.upload_path(id), upload);
                    if written.is_err() {
                        // Not recorded: the upload keeps the part it had, as its file does,
                        // so a later completion never names the bytes removed below.
                        match &replaced {
                            Some(old) => upload.parts.insert(part.number, old.clone()),
                            None => upload.parts.remove(&part.number),
                        };
                    }
                    written.map_err(internal).map(|()| replaced)
                }
                None => Err(aws(S3ErrorCode::NoSuchUpload)),
            }
        };
        match recorded {
            Ok(replaced) => {
                if let Some(old) = replaced {
                    self.blobs.remove(&[old.segment]).await;
                }
                Ok(())
            }
            Err(e) => {
                // Aborted while the part was being written: don't leave its bytes behind.
                self.blobs.remove(&[part.segment]).await;
                Err(e)
            }
        }
    }

    /// Removes an upload record (completion or abort); returns it so the caller can free
    /// or adopt its parts.
    pub(crate) fn take_upload(&self, bucket: &str, key: &str, id: &str) -> S3Result<Upload> {
        let mut uploads = lock(&self.uploads);
        if !uploads
            .get(id)
            .is_some_and(|u| u.bucket == bucket && u.key == key)
        {
            return Err(aws(S3ErrorCode::NoSuchUpload));
        }
        let upload = uploads
            .remove(id)
            .ok_or_else(|| aws(S3ErrorCode::NoSuchUpload))?;
        let _ = std::fs::remove_file(self.upload_path(id));
        Ok(upload)
    }

    pub(crate) async fn abort_upload(&self, bucket: &str, id: &str) -> S3Result<()> {
        let key = lock(&self.uploads)
            .get(id)
            .filter(|u| u.bucket == bucket)
            .map(|u| u.key.clone());
        let key = key.ok_or_else(|| aws(S3ErrorCode::NoSuchUpload))?;
        let upload = self.take_upload(bucket, &key, id)?;
        let segments: Vec<Segment> = upload.parts.into_values().map(|p| p.segment).collect();
        self.blobs.remove(&segments).await;
        Ok(())
    }

    /// Puts an upload back after a completion attempt failed validation, so the client can
    /// retry or abort (S3 keeps the upload on a failed Complete).
    pub(crate) fn restore_upload(&self, upload: Upload) -> S3Result<()> {
        self.create_upload(upload)
    }

    /// See `S3Server::insert_sparse_object_for_tests`.
    pub(crate) async fn insert_sparse_object(
        &self,
        bucket: &str,
        key: &str,
        size: u64,
    ) -> io::Result<()> {
        let bucket = self
            .bucket(bucket)
            .map_err(|e| io::Error::other(e.to_string()))?;
        let segment = self.blobs.sparse(size).await?;
        let version = ObjectVersion {
            version_id: String::new(),
            delete_marker: false,
            last_modified_ms: now_ms(),
            size,
            etag: "00000000000000000000000000000000".to_owned(),
            segments: vec![segment],
            headers: Default::default(),
            metadata: BTreeMap::new(),
            tags: Vec::new(),
            storage_class: "STANDARD".to_owned(),
            checksum: None,
            crc64nvme: 0,
            parts: None,
        };
        bucket
            .commit(key, version, |_| Ok(()), |_, _, _| Ok(()))
            .map(|_| ())
            .map_err(|e| io::Error::other(e.to_string()))
    }
}
