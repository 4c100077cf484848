//! The S3 API over the storage engine: an `s3s::S3` implementation.
//!
//! s3s parses and signs-checks requests and serializes responses; this module holds the S3
//! semantics (conditions, checksums, versioning, multipart rules), one file per area. Every
//! successful write that creates an object records its `Object Created` event in the durable
//! outbox (when enabled) as part of the commit, and publishes it on the live bus after it.

pub(crate) mod convert;

mod body;
mod bucket;
mod copy;
mod lifecycle;
mod multipart;
mod object;
mod part_copy;
mod tagging;
mod versions;

use std::sync::Arc;

use s3s::dto::*;
use s3s::{S3, S3Request, S3Response, S3Result};

use crate::clock::Clock;
use crate::event::{EventBus, EventFactory, ObjectCreated, ObjectCreatedEvent, Reason};
use crate::iam::{MissingKeyDenied, missing_key_error};
use crate::outbox::Outbox;
use crate::store::model::{ObjectVersion, Versioning};
use crate::store::{Bucket, Store, internal};

/// Per-request facts the HTTP layer knows and S3 events need.
#[derive(Debug, Clone)]
pub(crate) struct RequestInfo {
    pub request_id: String,
    pub source_ip: String,
}

impl RequestInfo {
    fn of<T>(req: &S3Request<T>) -> RequestInfo {
        req.extensions
            .get::<RequestInfo>()
            .cloned()
            .unwrap_or_else(|| RequestInfo {
                request_id: String::new(),
                source_ip: "127.0.0.1".to_owned(),
            })
    }
}

pub(crate) struct Service {
    store: Arc<Store>,
    events: Arc<EventBus>,
    factory: Arc<EventFactory>,
    outbox: Option<Arc<Outbox>>,
    clock: Clock,
    /// Whether a bucket whose notification configuration was never set sends events.
    events_by_default: bool,
}

impl Service {
    pub(crate) fn new(
        store: Arc<Store>,
        events: Arc<EventBus>,
        factory: Arc<EventFactory>,
        outbox: Option<Arc<Outbox>>,
        clock: Clock,
        events_by_default: bool,
    ) -> Self {
        Service {
            store,
            events,
            factory,
            outbox,
            clock,
            events_by_default,
        }
    }

    /// The `announce` step of [`Bucket::commit`]: builds the `Object Created` event of the
    /// version being committed and, with the durable outbox on, records it there (under the
    /// bucket lock, before the key record is written). Returns the event, to be published
    /// on the live bus once the commit succeeded (None: the bucket sends no events to
    /// EventBridge), and whether the bucket is versioned.
    /// Whether a bucket that was never configured sends events.
    pub(super) fn events_by_default(&self) -> bool {
        self.events_by_default
    }

    fn announcement<'a>(
        &'a self,
        info: &'a RequestInfo,
        bucket: &'a str,
        key: &'a str,
        reason: Reason,
    ) -> impl FnOnce(
        &ObjectVersion,
        Versioning,
        Option<bool>,
    ) -> S3Result<(Option<ObjectCreatedEvent>, bool)>
    + 'a {
        move |v, versioning, eventbridge| {
            let versioned = versioning != Versioning::Unversioned;
            if !eventbridge.unwrap_or(self.events_by_default) {
                return Ok((None, versioned));
            }
            let event = self.factory.build(ObjectCreated {
                bucket: bucket.to_owned(),
                key: key.to_owned(),
                size: v.size,
                etag: v.etag.clone(),
                version_id: versioned.then(|| v.version_id.clone()),
                reason,
                request_id: info.request_id.clone(),
                source_ip: info.source_ip.clone(),
            });
            if let Some(outbox) = &self.outbox {
                outbox.append(&event, key).map_err(internal)?;
            }
            Ok((Some(event), versioned))
        }
    }
}

impl Service {
    /// Makes `version` (whose bytes are already written) the current version of `key` if
    /// the destination's `(If-Match, If-None-Match)` conditions hold, frees the bytes it
    /// replaced (or its own, when refused) and announces it. Returns the committed version
    /// and whether the bucket is versioned.
    async fn commit_object(
        &self,
        info: &RequestInfo,
        bucket: &Bucket,
        key: &str,
        version: ObjectVersion,
        conditions: (
            Option<&s3s::dto::ETagCondition>,
            Option<&s3s::dto::ETagCondition>,
        ),
        reason: Reason,
    ) -> S3Result<(ObjectVersion, bool)> {
        let own = version.segments.clone();
        let committed = bucket.commit(
            key,
            version,
            |cur| object::check_write_conditions(conditions.0, conditions.1, cur),
            self.announcement(info, &bucket.name, key, reason),
        );
        let (v, freed, (event, versioned)) = match committed {
            Ok(ok) => ok,
            Err(e) => {
                self.store.blobs.remove(&own).await;
                return Err(e);
            }
        };
        self.store.blobs.remove(&freed).await;
        if let Some(event) = event {
            self.events.publish(event);
        }
        Ok((v, versioned))
    }
}

/// S3 keys are at most 1024 bytes of UTF-8.
fn check_key(key: &str) -> S3Result<()> {
    if key.is_empty() || key.len() > 1024 {
        return Err(crate::errors::aws(s3s::S3ErrorCode::KeyTooLongError));
    }
    Ok(())
}

#[async_trait::async_trait]
impl S3 for Service {
    async fn list_buckets(
        &self,
        req: S3Request<ListBucketsInput>,
    ) -> S3Result<S3Response<ListBucketsOutput>> {
        self.list_buckets_impl(req)
    }
    async fn create_bucket(
        &self,
        req: S3Request<CreateBucketInput>,
    ) -> S3Result<S3Response<CreateBucketOutput>> {
        self.create_bucket_impl(req)
    }
    async fn head_bucket(
        &self,
        req: S3Request<HeadBucketInput>,
    ) -> S3Result<S3Response<HeadBucketOutput>> {
        self.head_bucket_impl(req)
    }
    async fn delete_bucket(
        &self,
        req: S3Request<DeleteBucketInput>,
    ) -> S3Result<S3Response<DeleteBucketOutput>> {
        self.delete_bucket_impl(req).await
    }
    async fn get_bucket_location(
        &self,
        req: S3Request<GetBucketLocationInput>,
    ) -> S3Result<S3Response<GetBucketLocationOutput>> {
        self.get_bucket_location_impl(req)
    }
    async fn get_bucket_versioning(
        &self,
        req: S3Request<GetBucketVersioningInput>,
    ) -> S3Result<S3Response<GetBucketVersioningOutput>> {
        self.get_bucket_versioning_impl(req)
    }
    async fn put_bucket_versioning(
        &self,
        req: S3Request<PutBucketVersioningInput>,
    ) -> S3Result<S3Response<PutBucketVersioningOutput>> {
        self.put_bucket_versioning_impl(req)
    }
    async fn get_bucket_notification_configuration(
        &self,
        req: S3Request<GetBucketNotificationConfigurationInput>,
    ) -> S3Result<S3Response<GetBucketNotificationConfigurationOutput>> {
        self.get_bucket_notification_configuration_impl(req)
    }
    async fn put_bucket_notification_configuration(
        &self,
        req: S3Request<PutBucketNotificationConfigurationInput>,
    ) -> S3Result<S3Response<PutBucketNotificationConfigurationOutput>> {
        self.put_bucket_notification_configuration_impl(req)
    }
    async fn put_bucket_lifecycle_configuration(
        &self,
        req: S3Request<PutBucketLifecycleConfigurationInput>,
    ) -> S3Result<S3Response<PutBucketLifecycleConfigurationOutput>> {
        self.put_bucket_lifecycle_configuration_impl(req)
    }
    async fn get_bucket_lifecycle_configuration(
        &self,
        req: S3Request<GetBucketLifecycleConfigurationInput>,
    ) -> S3Result<S3Response<GetBucketLifecycleConfigurationOutput>> {
        self.get_bucket_lifecycle_configuration_impl(req)
    }
    async fn delete_bucket_lifecycle(
        &self,
        req: S3Request<DeleteBucketLifecycleInput>,
    ) -> S3Result<S3Response<DeleteBucketLifecycleOutput>> {
        self.delete_bucket_lifecycle_impl(req)
    }
    async fn put_object(
        &self,
        req: S3Request<PutObjectInput>,
    ) -> S3Result<S3Response<PutObjectOutput>> {
        self.put_object_impl(req).await
    }
    async fn get_object(
        &self,
        req: S3Request<GetObjectInput>,
    ) -> S3Result<S3Response<GetObjectOutput>> {
        let denied = req.extensions.get::<MissingKeyDenied>().cloned();
        self.get_object_impl(req)
            .map_err(|e| missing_key_error(e, denied.as_ref()))
    }
    async fn head_object(
        &self,
        req: S3Request<HeadObjectInput>,
    ) -> S3Result<S3Response<HeadObjectOutput>> {
        let denied = req.extensions.get::<MissingKeyDenied>().cloned();
        self.head_object_impl(req)
            .map_err(|e| missing_key_error(e, denied.as_ref()))
    }
    async fn delete_object(
        &self,
        req: S3Request<DeleteObjectInput>,
    ) -> S3Result<S3Response<DeleteObjectOutput>> {
        self.delete_object_impl(req).await
    }
    async fn delete_objects(
        &self,
        req: S3Request<DeleteObjectsInput>,
    ) -> S3Result<S3Response<DeleteObjectsOutput>> {
        self.delete_objects_impl(req).await
    }
    async fn list_objects_v2(
        &self,
        req: S3Request<ListObjectsV2Input>,
    ) -> S3Result<S3Response<ListObjectsV2Output>> {
        self.list_objects_v2_impl(req)
    }
    async fn list_object_versions(
        &self,
        req: S3Request<ListObjectVersionsInput>,
    ) -> S3Result<S3Response<ListObjectVersionsOutput>> {
        self.list_object_versions_impl(req)
    }
    async fn list_objects(
        &self,
        req: S3Request<ListObjectsInput>,
    ) -> S3Result<S3Response<ListObjectsOutput>> {
        self.list_objects_impl(req)
    }
    async fn copy_object(
        &self,
        req: S3Request<CopyObjectInput>,
    ) -> S3Result<S3Response<CopyObjectOutput>> {
        self.copy_object_impl(req).await
    }
    async fn create_multipart_upload(
        &self,
        req: S3Request<CreateMultipartUploadInput>,
    ) -> S3Result<S3Response<CreateMultipartUploadOutput>> {
        self.create_multipart_upload_impl(req)
    }
    async fn upload_part(
        &self,
        req: S3Request<UploadPartInput>,
    ) -> S3Result<S3Response<UploadPartOutput>> {
        self.upload_part_impl(req).await
    }
    async fn upload_part_copy(
        &self,
        req: S3Request<UploadPartCopyInput>,
    ) -> S3Result<S3Response<UploadPartCopyOutput>> {
        self.upload_part_copy_impl(req).await
    }
    async fn complete_multipart_upload(
        &self,
        req: S3Request<CompleteMultipartUploadInput>,
    ) -> S3Result<S3Response<CompleteMultipartUploadOutput>> {
        self.complete_multipart_upload_impl(req).await
    }
    async fn abort_multipart_upload(
        &self,
        req: S3Request<AbortMultipartUploadInput>,
    ) -> S3Result<S3Response<AbortMultipartUploadOutput>> {
        self.abort_multipart_upload_impl(req).await
    }
    async fn list_parts(
        &self,
        req: S3Request<ListPartsInput>,
    ) -> S3Result<S3Response<ListPartsOutput>> {
        self.list_parts_impl(req)
    }
    async fn list_multipart_uploads(
        &self,
        req: S3Request<ListMultipartUploadsInput>,
    ) -> S3Result<S3Response<ListMultipartUploadsOutput>> {
        self.list_multipart_uploads_impl(req)
    }
    async fn get_object_tagging(
        &self,
        req: S3Request<GetObjectTaggingInput>,
    ) -> S3Result<S3Response<GetObjectTaggingOutput>> {
        self.get_object_tagging_impl(req)
    }
    async fn put_object_tagging(
        &self,
        req: S3Request<PutObjectTaggingInput>,
    ) -> S3Result<S3Response<PutObjectTaggingOutput>> {
        self.put_object_tagging_impl(req)
    }
    async fn delete_object_tagging(
        &self,
        req: S3Request<DeleteObjectTaggingInput>,
    ) -> S3Result<S3Response<DeleteObjectTaggingOutput>> {
        self.delete_object_tagging_impl(req)
    }
    async fn get_object_attributes(
        &self,
        req: S3Request<GetObjectAttributesInput>,
    ) -> S3Result<S3Response<GetObjectAttributesOutput>> {
        let denied = req.extensions.get::<MissingKeyDenied>().cloned();
        self.get_object_attributes_impl(req)
            .map_err(|e| missing_key_error(e, denied.as_ref()))
    }
}
