//! Bucket operations: create, head, delete, list, location, versioning, notifications.

use s3s::dto::*;
use s3s::{S3ErrorCode, S3Request, S3Response, S3Result, s3_error};

use super::Service;
use super::convert::timestamp;
use crate::errors::aws;
use crate::store::model::Versioning;

/// S3 bucket naming rules (general purpose buckets): 3-63 chars of lowercase letters,
/// digits, dots and hyphens, starting and ending with a letter or digit, not an IP address,
/// and none of the prefixes and suffixes AWS reserves (`xn--`, `sthree-`, `-s3alias`,
/// `--ol-s3`).
fn valid_bucket_name(name: &str) -> bool {
    let bytes = name.as_bytes();
    (3..=63).contains(&bytes.len())
        && bytes
            .iter()
            .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || *b == b'.' || *b == b'-')
        && bytes.first().is_some_and(u8::is_ascii_alphanumeric)
        && bytes.last().is_some_and(u8::is_ascii_alphanumeric)
        && !name.contains("..")
        && name.parse::<std::net::Ipv4Addr>().is_err()
        && !["xn--", "sthree-"].iter().any(|p| name.starts_with(p))
        && !["-s3alias", "--ol-s3"].iter().any(|s| name.ends_with(s))
}

impl Service {
    pub(super) fn list_buckets_impl(
        &self,
        _req: S3Request<ListBucketsInput>,
    ) -> S3Result<S3Response<ListBucketsOutput>> {
        let buckets = self
            .store
            .bucket_names()
            .into_iter()
            .map(|(name, created)| Bucket {
                name: Some(name),
                creation_date: Some(timestamp(created)),
                bucket_region: Some(self.factory.region.clone()),
            })
            .collect();
        Ok(S3Response::new(ListBucketsOutput {
            buckets: Some(buckets),
            ..Default::default()
        }))
    }

    pub(super) fn create_bucket_impl(
        &self,
        req: S3Request<CreateBucketInput>,
    ) -> S3Result<S3Response<CreateBucketOutput>> {
        let name = &req.input.bucket;
        if !valid_bucket_name(name) {
            return Err(aws(S3ErrorCode::InvalidBucketName));
        }
        let constraint = req
            .input
            .create_bucket_configuration
            .as_ref()
            .and_then(|c| c.location_constraint.as_ref())
            .map(|c| c.as_str().to_owned());
        let us_east_1 = constraint
            .as_deref()
            .is_none_or(|c| c.is_empty() || c == "us-east-1");
        match self.store.create_bucket(name) {
            // In us-east-1, re-creating a bucket you own answers 200 (legacy behaviour).
            Err(e) if *e.code() == s3s::S3ErrorCode::BucketAlreadyOwnedByYou && us_east_1 => {}
            other => other?,
        }
        Ok(S3Response::new(CreateBucketOutput {
            location: Some(format!("/{name}")),
        }))
    }

    pub(super) fn head_bucket_impl(
        &self,
        req: S3Request<HeadBucketInput>,
    ) -> S3Result<S3Response<HeadBucketOutput>> {
        self.store.bucket(&req.input.bucket)?;
        Ok(S3Response::new(HeadBucketOutput {
            bucket_region: Some(self.factory.region.clone()),
            ..Default::default()
        }))
    }

    pub(super) async fn delete_bucket_impl(
        &self,
        req: S3Request<DeleteBucketInput>,
    ) -> S3Result<S3Response<DeleteBucketOutput>> {
        self.store.delete_bucket(&req.input.bucket).await?;
        Ok(S3Response::new(DeleteBucketOutput {}))
    }

    pub(super) fn get_bucket_location_impl(
        &self,
        req: S3Request<GetBucketLocationInput>,
    ) -> S3Result<S3Response<GetBucketLocationOutput>> {
        self.store.bucket(&req.input.bucket)?;
        // us-east-1 is reported as an empty constraint, as S3 does.
        let region = &self.factory.region;
        let location_constraint =
            (region != "us-east-1").then(|| BucketLocationConstraint::from(region.clone()));
        Ok(S3Response::new(GetBucketLocationOutput {
            location_constraint,
        }))
    }

    pub(super) fn get_bucket_versioning_impl(
        &self,
        req: S3Request<GetBucketVersioningInput>,
    ) -> S3Result<S3Response<GetBucketVersioningOutput>> {
        let status = match self.store.bucket(&req.input.bucket)?.versioning() {
            Versioning::Unversioned => None,
            Versioning::Enabled => Some(BucketVersioningStatus::from_static(
                BucketVersioningStatus::ENABLED,
            )),
            Versioning::Suspended => Some(BucketVersioningStatus::from_static(
                BucketVersioningStatus::SUSPENDED,
            )),
        };
        Ok(S3Response::new(GetBucketVersioningOutput {
            status,
            mfa_delete: None,
        }))
    }

    pub(super) fn put_bucket_versioning_impl(
        &self,
        req: S3Request<PutBucketVersioningInput>,
    ) -> S3Result<S3Response<PutBucketVersioningOutput>> {
        let bucket = self.store.bucket(&req.input.bucket)?;
        let state = match req
            .input
            .versioning_configuration
            .status
            .as_ref()
            .map(BucketVersioningStatus::as_str)
        {
            Some(BucketVersioningStatus::ENABLED) => Versioning::Enabled,
            Some(BucketVersioningStatus::SUSPENDED) => Versioning::Suspended,
            _ => {
                return Err(s3_error!(
                    MalformedXML,
                    "The versioning status must be Enabled or Suspended"
                ));
            }
        };
        bucket.set_versioning(state)?;
        Ok(S3Response::new(PutBucketVersioningOutput {}))
    }
}

/// The notification configurations this server can act on: EventBridge only.
fn only_eventbridge(c: &NotificationConfiguration) -> S3Result<()> {
    let others = c
        .topic_configurations
        .as_ref()
        .is_some_and(|v| !v.is_empty())
        || c.queue_configurations
            .as_ref()
            .is_some_and(|v| !v.is_empty())
        || c.lambda_function_configurations
            .as_ref()
            .is_some_and(|v| !v.is_empty());
    if others {
        return Err(s3s::s3_error!(
            NotImplemented,
            "This server sends bucket notifications to EventBridge only: Topic, Queue and LambdaFunction configurations are not supported"
        ));
    }
    Ok(())
}

impl Service {
    pub(super) fn get_bucket_notification_configuration_impl(
        &self,
        req: S3Request<GetBucketNotificationConfigurationInput>,
    ) -> S3Result<S3Response<GetBucketNotificationConfigurationOutput>> {
        let bucket = self.store.bucket(&req.input.bucket)?;
        let on = bucket.eventbridge().unwrap_or(self.events_by_default());
        Ok(S3Response::new(GetBucketNotificationConfigurationOutput {
            event_bridge_configuration: on.then(EventBridgeConfiguration::default),
            ..Default::default()
        }))
    }

    pub(super) fn put_bucket_notification_configuration_impl(
        &self,
        req: S3Request<PutBucketNotificationConfigurationInput>,
    ) -> S3Result<S3Response<PutBucketNotificationConfigurationOutput>> {
        let bucket = self.store.bucket(&req.input.bucket)?;
        let configuration = &req.input.notification_configuration;
        only_eventbridge(configuration)?;
        bucket.set_eventbridge(configuration.event_bridge_configuration.is_some())?;
        Ok(S3Response::new(
            PutBucketNotificationConfigurationOutput::default(),
        ))
    }
}

#[cfg(test)]
mod tests {
    use super::valid_bucket_name;

    #[test]
    fn bucket_names_follow_s3_rules() {
        for ok in ["abc", "my-bucket.2", "a1b"] {
            assert!(valid_bucket_name(ok), "{ok}");
        }
        for bad in [
            "ab",
            "UPPER",
            "-start",
            "end-",
            "a..b",
            "192.168.1.1",
            "under_score",
            "xn--bucket",
            "sthree-bucket",
            "bucket-s3alias",
            "bucket--ol-s3",
        ] {
            assert!(!valid_bucket_name(bad), "{bad}");
        }
    }
}
