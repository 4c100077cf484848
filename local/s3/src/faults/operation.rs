//! The S3 operations fault rules can name, spelled as s3s names them.
//!
//! s3s routes every request and reports the operation's name to the server's access hook
//! ([`crate::routed`]); [`Operation::from_routed`] turns that name into a variant, and every
//! operation this list does not model (ACLs, policies, `ListObjectVersions`, ...) into
//! [`Operation::Other`].

use std::fmt;
use std::str::FromStr;

macro_rules! operations {
    ($($name:ident),+ $(,)?) => {
        /// An S3 API operation, as far as fault rules need to tell them apart.
        #[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
        pub enum Operation {
            $(
                #[doc = concat!("`", stringify!($name), "`.")]
                $name,
            )+
        }

        impl Operation {
            /// Every operation, in declaration order.
            pub const ALL: &'static [Operation] = &[$(Operation::$name),+];

            /// The S3 API name, e.g. "UploadPartCopy" (and "Other").
            #[must_use]
            pub const fn as_str(self) -> &'static str {
                match self {
                    $(Operation::$name => stringify!($name),)+
                }
            }
        }

        impl FromStr for Operation {
            type Err = ParseOperationError;

            fn from_str(s: &str) -> Result<Self, Self::Err> {
                match s {
                    $(stringify!($name) => Ok(Operation::$name),)+
                    _ => Err(ParseOperationError(s.to_owned())),
                }
            }
        }
    };
}

operations!(
    ListBuckets,
    CreateBucket,
    HeadBucket,
    DeleteBucket,
    GetBucketVersioning,
    PutBucketVersioning,
    ListObjectsV2,
    ListObjects,
    PutObject,
    PostObject,
    GetObject,
    HeadObject,
    DeleteObject,
    DeleteObjects,
    CopyObject,
    CreateMultipartUpload,
    UploadPart,
    UploadPartCopy,
    CompleteMultipartUpload,
    AbortMultipartUpload,
    ListParts,
    ListMultipartUploads,
    GetObjectTagging,
    PutObjectTagging,
    DeleteObjectTagging,
    GetObjectAttributes,
    Other,
);

/// How many operations there are; sizes the per-operation counters.
pub(super) const OPERATION_COUNT: usize = Operation::ALL.len();

impl Operation {
    /// The operation s3s routed a request to, by s3s's name for it; names of operations not
    /// modelled here are [`Operation::Other`].
    #[must_use]
    pub fn from_routed(name: &str) -> Self {
        name.parse().unwrap_or(Operation::Other)
    }

    /// Position in [`Operation::ALL`]; also the operation's input to the replay hash.
    pub(super) const fn index(self) -> usize {
        self as usize
    }
}

impl fmt::Display for Operation {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// A string that names no [`Operation`].
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[error("unknown S3 operation {0:?}")]
pub struct ParseOperationError(pub String);

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::expect_used)]
mod tests {
    use super::*;

    #[test]
    fn operations_parse_from_and_print_as_their_api_names() {
        for &operation in Operation::ALL {
            assert_eq!(operation.as_str().parse::<Operation>().unwrap(), operation);
            assert_eq!(operation.to_string(), operation.as_str());
        }
        assert_eq!(Operation::ALL.len(), 27);
        assert!("uploadpartcopy".parse::<Operation>().is_err());
    }

    #[test]
    fn routed_names_of_unmodelled_operations_are_other() {
        assert_eq!(
            Operation::from_routed("UploadPartCopy"),
            Operation::UploadPartCopy
        );
        for name in ["GetBucketAcl", "ListObjectVersions", "uploadpartcopy", ""] {
            assert_eq!(Operation::from_routed(name), Operation::Other, "{name:?}");
        }
    }
}
