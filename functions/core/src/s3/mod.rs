//! Thin S3 helpers for the steps: building the client, classifying SDK errors into
//! [`StepError`](crate::StepError) (in exactly one place), and reading an object's stored
//! properties with `ChecksumMode=ENABLED`.

mod client;
mod errors;
mod object;

pub use client::{client_for_endpoint, client_from_env, https_client};
pub use errors::{classify, is_not_found, status_of};
pub use object::{
    ContentHeaders, ObjectInfo, first_part, head_object, head_object_if_exists, tags_of,
};
