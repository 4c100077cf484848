//! Bucket lifecycle configuration: put, get, delete. Validation and the sweep that applies
//! the rules live in [`crate::lifecycle`].

use s3s::dto::*;
use s3s::{S3Request, S3Response, S3Result, s3_error};

use super::Service;
use crate::lifecycle::{rules_from_dto, rules_to_dto};

impl Service {
    pub(super) fn put_bucket_lifecycle_configuration_impl(
        &self,
        req: S3Request<PutBucketLifecycleConfigurationInput>,
    ) -> S3Result<S3Response<PutBucketLifecycleConfigurationOutput>> {
        let bucket = self.store.bucket(&req.input.bucket)?;
        let rules = rules_from_dto(req.input.lifecycle_configuration)?;
        bucket.set_lifecycle(Some(rules))?;
        Ok(S3Response::new(
            PutBucketLifecycleConfigurationOutput::default(),
        ))
    }

    pub(super) fn get_bucket_lifecycle_configuration_impl(
        &self,
        req: S3Request<GetBucketLifecycleConfigurationInput>,
    ) -> S3Result<S3Response<GetBucketLifecycleConfigurationOutput>> {
        let rules = self
            .store
            .bucket(&req.input.bucket)?
            .lifecycle()
            .ok_or_else(|| {
                s3_error!(
                    NoSuchLifecycleConfiguration,
                    "The lifecycle configuration does not exist"
                )
            })?;
        Ok(S3Response::new(GetBucketLifecycleConfigurationOutput {
            rules: Some(rules_to_dto(&rules)),
            ..Default::default()
        }))
    }

    pub(super) fn delete_bucket_lifecycle_impl(
        &self,
        req: S3Request<DeleteBucketLifecycleInput>,
    ) -> S3Result<S3Response<DeleteBucketLifecycleOutput>> {
        // S3 answers 204 whether or not a configuration was set.
        self.store.bucket(&req.input.bucket)?.set_lifecycle(None)?;
        Ok(S3Response::new(DeleteBucketLifecycleOutput {}))
    }
}
