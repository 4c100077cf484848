//! The S3 `Object Created` event as EventBridge carries it: the `detail` object's wire format
//! and the encodings of `detail.object.key`.
//!
//! One definition for both sides of the wire: the embedded S3 server writes these events
//! (`copyflow-s3`) and the steps read them (`copyflow-core`), and neither depends on the
//! other. The shape follows the AWS example in the S3 User Guide, "EventBridge event message
//! structure" (see `docs/aws-facts.md#event-shape`):
//!
//! - kebab-case field names (`version-id`, `source-ip-address`), as AWS sends them;
//! - only `bucket.name` and `object.key` are required when reading. `size`, `etag`,
//!   `version-id` (absent on unversioned buckets), `sequencer`, `reason`, `source-ip-address`
//!   (absent for events not caused by a request), `request-id`, `requester` and the newer
//!   `event-version` are optional, and absent ones are not written;
//! - unknown fields are ignored, so new AWS fields never break parsing;
//! - `reason` is an open string (see [`Reason`] for the ones S3 writes);
//! - `etag` is unquoted in events, unlike HeadObject's `ETag` header ([`unquote_etag`]).
//!
//! The envelope (`id`, `time`, `resources`, ...) is not here: the steps read it with
//! `aws_lambda_events`' `EventBridgeEvent`, and the server writes its own with the exact
//! fields and time format S3 uses.
#![warn(missing_docs, unreachable_pub, missing_debug_implementations)]

mod detail;
mod key;

pub use detail::{BucketRef, ObjectCreatedDetail, ObjectRef, Reason, unquote_etag};
pub use key::{DecodeError, KeyEncoding, ParseKeyEncodingError};

/// The `source` of S3 events.
pub const SOURCE_S3: &str = "aws.s3";

/// The `detail-type` of the events copyflow handles.
pub const DETAIL_TYPE_OBJECT_CREATED: &str = "Object Created";

/// The envelope and detail `version` S3 writes: "0".
pub const EVENT_VERSION: &str = "0";
