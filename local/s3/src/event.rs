//! S3 "Object Created" events, in the exact JSON shape S3 sends to Amazon EventBridge.
//!
//! The server publishes one [`ObjectCreatedEvent`] per successful PutObject, POST
//! Object, CopyObject and CompleteMultipartUpload, like a bucket with EventBridge
//! notifications turned on. The shape follows the AWS example in the S3 User Guide,
//! "EventBridge event message structure" (`ev-events.html`):
//!
//! - the envelope: `version` "0", `id` (a UUID), `detail-type` "Object Created",
//!   `source` "aws.s3", `account` (the bucket owner), `time` (RFC 3339 UTC,
//!   whole seconds), `region` and `resources` (the bucket ARN);
//! - the `detail`: `version` "0", `bucket.name`, `object.{key, size, etag,
//!   version-id, sequencer}`, `request-id`, `requester`, `source-ip-address`
//!   and `reason`.
//!
//! AWS rules kept here:
//! - `etag` is unquoted, unlike the `ETag` header of HeadObject; a multipart
//!   object's is `<md5-of-part-md5s>-<part count>`.
//! - `version-id` is absent when the bucket is not versioned.
//! - `sequencer` orders events for the *same key* only; it is an uppercase hex
//!   string that grows with each change of the key (see [`Sequencer`]).
//! - `detail.object.key` is unencoded by default; see [`KeyEncoding`] for the other
//!   encodings and why.
//!
//! The `detail` types and the key encodings come from `copyflow-s3-event`, the wire format
//! the steps read too; the envelope is this server's, with S3's exact fields and time format.
//!
//! Subscribers receive events through an [`EventBus`].

use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex, PoisonError};
use std::time::{SystemTime, UNIX_EPOCH};

use serde::{Deserialize, Serialize};
use time::OffsetDateTime;
use tokio::sync::mpsc;

pub use copyflow_s3_event::{
    BucketRef, DETAIL_TYPE_OBJECT_CREATED, EVENT_VERSION, KeyEncoding, ObjectCreatedDetail,
    ObjectRef, ParseKeyEncodingError, Reason, SOURCE_S3,
};

/// An S3 "Object Created" event as EventBridge delivers it to rules and targets.
///
/// Field names serialize in kebab-case (`detail-type`), like AWS's.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub struct ObjectCreatedEvent {
    /// Envelope version, "0".
    pub version: String,
    /// A fresh UUID per event.
    pub id: String,
    /// "Object Created".
    pub detail_type: String,
    /// "aws.s3".
    pub source: String,
    /// The account that owns the bucket.
    pub account: String,
    /// When the event happened, RFC 3339 in UTC with whole seconds ("2021-11-12T00:00:00Z").
    #[serde(with = "rfc3339_seconds")]
    pub time: OffsetDateTime,
    /// The bucket's Region.
    pub region: String,
    /// The bucket ARN, `arn:aws:s3:::BUCKET`.
    pub resources: Vec<String>,
    /// The S3-specific part.
    pub detail: ObjectCreatedDetail,
}

/// Produces `sequencer` values: 16 uppercase hex digits, strictly increasing.
///
/// S3 only promises that sequencers of the *same key* increase (consumers compare
/// them after right-padding the shorter one with zeros); one global counter meets
/// that for every key. Values look like S3's ("617F08299329D189", whose first
/// eight digits are Unix seconds): each value is at least the current time as
/// 32.32 fixed-point seconds, so values keep increasing across a restart as long
/// as the clock does not go back.
#[derive(Debug)]
pub struct Sequencer {
    last: AtomicU64,
}

impl Sequencer {
    /// A sequencer that follows the system clock.
    #[must_use]
    pub fn new() -> Self {
        Self::starting_after(0)
    }

    /// A sequencer whose first value is greater than `last` (and than the clock).
    #[must_use]
    pub const fn starting_after(last: u64) -> Self {
        Self {
            last: AtomicU64::new(last),
        }
    }

    /// The next value as a number.
    pub fn next_value(&self) -> u64 {
        let now = clock_fixed_point();
        let update = |prev: u64| Some(prev.saturating_add(1).max(now));
        match self
            .last
            .fetch_update(Ordering::AcqRel, Ordering::Acquire, update)
        {
            Ok(prev) | Err(prev) => prev.saturating_add(1).max(now),
        }
    }

    /// The next value formatted like S3: 16 uppercase hex digits.
    pub fn next_sequencer(&self) -> String {
        format!("{:016X}", self.next_value())
    }
}

impl Default for Sequencer {
    fn default() -> Self {
        Self::new()
    }
}

/// The current time as 32.32 fixed-point seconds since the Unix epoch.
fn clock_fixed_point() -> u64 {
    let since_epoch = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap_or_default();
    let fraction = (u64::from(since_epoch.subsec_nanos()) << 32) / 1_000_000_000;
    (since_epoch.as_secs() << 32) | fraction
}

/// What the storage layer reports after it created an object; the input of
/// [`EventFactory::build`].
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ObjectCreated {
    /// The bucket name.
    pub bucket: String,
    /// The key as stored (unencoded).
    pub key: String,
    /// The object size in bytes.
    pub size: u64,
    /// The ETag, quoted or not; quotes are stripped.
    pub etag: String,
    /// The version id, `None` when the bucket is unversioned.
    pub version_id: Option<String>,
    /// The API that created the object.
    pub reason: Reason,
    /// The request id returned to the client in `x-amz-request-id`.
    pub request_id: String,
    /// The client's IP address.
    pub source_ip: String,
}

/// Builds [`ObjectCreatedEvent`]s for one account and Region.
#[derive(Debug)]
pub struct EventFactory {
    /// The bucket owner's account id (`account`).
    pub account: String,
    /// The Region of every bucket (`region`).
    pub region: String,
    /// The `detail.requester` value.
    pub requester: String,
    /// How `detail.object.key` is written.
    pub encoding: KeyEncoding,
    /// Where `detail.object.sequencer` comes from.
    pub sequencer: Sequencer,
}

impl EventFactory {
    /// A factory with a clock-driven [`Sequencer`].
    #[must_use]
    pub fn new(
        account: impl Into<String>,
        region: impl Into<String>,
        requester: impl Into<String>,
        encoding: KeyEncoding,
    ) -> Self {
        Self {
            account: account.into(),
            region: region.into(),
            requester: requester.into(),
            encoding,
            sequencer: Sequencer::new(),
        }
    }

    /// Builds the event for `created`, stamped with the current time, a new id
    /// and the next sequencer value.
    #[must_use]
    pub fn build(&self, created: ObjectCreated) -> ObjectCreatedEvent {
        self.build_at(created, OffsetDateTime::now_utc())
    }

    /// Like [`build`](Self::build) with an explicit event time (truncated to seconds).
    #[must_use]
    pub fn build_at(&self, created: ObjectCreated, time: OffsetDateTime) -> ObjectCreatedEvent {
        let ObjectCreated {
            bucket,
            key,
            size,
            etag,
            version_id,
            reason,
            request_id,
            source_ip,
        } = created;
        let key = self.encoding.encode(&key).into_owned();
        let etag = etag.trim_matches('"').to_owned();
        ObjectCreatedEvent {
            version: EVENT_VERSION.to_owned(),
            id: uuid::Uuid::new_v4().to_string(),
            detail_type: DETAIL_TYPE_OBJECT_CREATED.to_owned(),
            source: SOURCE_S3.to_owned(),
            account: self.account.clone(),
            time: truncate_to_seconds(time),
            region: self.region.clone(),
            resources: vec![format!("arn:aws:s3:::{bucket}")],
            detail: ObjectCreatedDetail {
                version: Some(EVENT_VERSION.to_owned()),
                event_version: None,
                bucket: BucketRef { name: bucket },
                object: ObjectRef {
                    key,
                    size: Some(size),
                    etag: Some(etag),
                    version_id,
                    sequencer: Some(self.sequencer.next_sequencer()),
                },
                request_id: Some(request_id),
                requester: Some(self.requester.clone()),
                source_ip_address: Some(source_ip),
                reason: Some(reason.as_str().to_owned()),
            },
        }
    }
}

fn truncate_to_seconds(time: OffsetDateTime) -> OffsetDateTime {
    let utc = time.to_offset(time::UtcOffset::UTC);
    utc.replace_nanosecond(0).unwrap_or(utc)
}

/// Serde for `time`: RFC 3339 in UTC, whole seconds, `Z` suffix.
mod rfc3339_seconds {
    use serde::{Deserialize, Deserializer, Serializer, de::Error as _, ser::Error as _};
    use time::OffsetDateTime;
    use time::format_description::well_known::Rfc3339;

    pub(super) fn serialize<S: Serializer>(
        time: &OffsetDateTime,
        serializer: S,
    ) -> Result<S::Ok, S::Error> {
        let text = super::truncate_to_seconds(*time)
            .format(&Rfc3339)
            .map_err(S::Error::custom)?;
        serializer.serialize_str(&text)
    }

    pub(super) fn deserialize<'de, D: Deserializer<'de>>(
        deserializer: D,
    ) -> Result<OffsetDateTime, D::Error> {
        let text = <std::borrow::Cow<'de, str>>::deserialize(deserializer)?;
        OffsetDateTime::parse(&text, &Rfc3339).map_err(D::Error::custom)
    }
}

/// Fans events out to subscribers.
///
/// Each [`subscribe`](Self::subscribe) call gets its own unbounded channel;
/// [`publish`](Self::publish) sends to every live receiver and forgets the ones
/// that were dropped. With no subscriber, publishing is one atomic load, and
/// [`has_subscribers`](Self::has_subscribers) lets the caller skip building the
/// event at all. Clones share the same subscribers.
#[derive(Clone, Debug, Default)]
pub struct EventBus {
    inner: Arc<BusInner>,
}

#[derive(Debug, Default)]
struct BusInner {
    /// Number of entries in `subscribers`, readable without the lock.
    count: AtomicUsize,
    subscribers: Mutex<Vec<mpsc::UnboundedSender<Arc<ObjectCreatedEvent>>>>,
}

impl EventBus {
    /// An empty bus.
    #[must_use]
    pub fn new() -> Self {
        Self::default()
    }

    /// A new receiver of every event published from now on.
    pub fn subscribe(&self) -> mpsc::UnboundedReceiver<Arc<ObjectCreatedEvent>> {
        let (tx, rx) = mpsc::unbounded_channel();
        let mut subscribers = self
            .inner
            .subscribers
            .lock()
            .unwrap_or_else(PoisonError::into_inner);
        subscribers.push(tx);
        self.inner.count.store(subscribers.len(), Ordering::Release);
        rx
    }

    /// Whether any subscriber may still be listening (dropped receivers are
    /// noticed at the next publish).
    #[must_use]
    pub fn has_subscribers(&self) -> bool {
        self.inner.count.load(Ordering::Acquire) > 0
    }

    /// Sends `event` to every live subscriber and removes the closed ones.
    /// Returns how many subscribers received it.
    pub fn publish(&self, event: ObjectCreatedEvent) -> usize {
        if !self.has_subscribers() {
            return 0;
        }
        let event = Arc::new(event);
        let mut subscribers = self
            .inner
            .subscribers
            .lock()
            .unwrap_or_else(PoisonError::into_inner);
        subscribers.retain(|tx| tx.send(Arc::clone(&event)).is_ok());
        self.inner.count.store(subscribers.len(), Ordering::Release);
        subscribers.len()
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::expect_used)]
mod tests {
    use super::*;
    use serde_json::Value;

    /// The example from the S3 User Guide, "EventBridge event message structure".
    const AWS_EXAMPLE: &str = r#"{
      "version": "0",
      "id": "17793124-05d4-b198-2fde-7ededc63b103",
      "detail-type": "Object Created",
      "source": "aws.s3",
      "account": "000000000000",
      "time": "2021-11-12T00:00:00Z",
      "region": "ca-central-1",
      "resources": ["arn:aws:s3:::amzn-s3-demo-bucket1"],
      "detail": {
        "version": "0",
        "bucket": { "name": "amzn-s3-demo-bucket1" },
        "object": {
          "key": "example-key",
          "size": 5,
          "etag": "b1946ac92492d2347c6235b4d2611184",
          "version-id": "IYV3p45BT0ac8hjHg1houSdS1a.Mro8e",
          "sequencer": "617f08299329d189"
        },
        "request-id": "N4N7GDK58NMKJ12R",
        "requester": "000000000000",
        "source-ip-address": "1.2.3.4",
        "reason": "PutObject"
      }
    }"#;

    fn factory() -> EventFactory {
        EventFactory::new(
            "000000000000",
            "ca-central-1",
            "000000000000",
            KeyEncoding::Form,
        )
    }

    fn created(key: &str, version_id: Option<&str>) -> ObjectCreated {
        ObjectCreated {
            bucket: "amzn-s3-demo-bucket1".into(),
            key: key.into(),
            size: 5,
            etag: "\"b1946ac92492d2347c6235b4d2611184\"".into(),
            version_id: version_id.map(str::to_owned),
            reason: Reason::PutObject,
            request_id: "N4N7GDK58NMKJ12R".into(),
            source_ip: "1.2.3.4".into(),
        }
    }

    fn example_time() -> OffsetDateTime {
        time::macros::datetime!(2021-11-12 00:00:00.123456 UTC)
    }

    /// Asserts that `ours` has exactly the keys of `theirs`, recursively, with
    /// values of the same JSON type.
    fn assert_same_shape(path: &str, ours: &Value, theirs: &Value) {
        match (ours, theirs) {
            (Value::Object(a), Value::Object(b)) => {
                let mut ak: Vec<_> = a.keys().collect();
                let mut bk: Vec<_> = b.keys().collect();
                ak.sort();
                bk.sort();
                assert_eq!(ak, bk, "keys of {path}");
                for (k, v) in a {
                    assert_same_shape(&format!("{path}.{k}"), v, &b[k]);
                }
            }
            (Value::Array(a), Value::Array(b)) => {
                assert_eq!(a.len(), b.len(), "length of {path}");
                for (i, (x, y)) in a.iter().zip(b).enumerate() {
                    assert_same_shape(&format!("{path}[{i}]"), x, y);
                }
            }
            (Value::String(_), Value::String(_)) | (Value::Number(_), Value::Number(_)) => {}
            _ => panic!("{path}: {ours} is not the same JSON type as {theirs}"),
        }
    }

    #[test]
    fn a_built_event_has_the_shape_of_the_aws_example() {
        let event = factory().build_at(
            created("example-key", Some("IYV3p45BT0ac8hjHg1houSdS1a.Mro8e")),
            example_time(),
        );
        let ours = serde_json::to_value(&event).unwrap();
        let theirs: Value = serde_json::from_str(AWS_EXAMPLE).unwrap();
        assert_same_shape("$", &ours, &theirs);

        // Every constant and copied field has AWS's value.
        for field in [
            "version",
            "detail-type",
            "source",
            "account",
            "time",
            "region",
            "resources",
        ] {
            assert_eq!(ours[field], theirs[field], "{field}");
        }
        for field in [
            "version",
            "bucket",
            "request-id",
            "requester",
            "source-ip-address",
            "reason",
        ] {
            assert_eq!(
                ours["detail"][field], theirs["detail"][field],
                "detail.{field}"
            );
        }
        for field in ["key", "size", "etag", "version-id"] {
            assert_eq!(
                ours["detail"]["object"][field], theirs["detail"]["object"][field],
                "detail.object.{field}"
            );
        }
    }

    #[test]
    fn the_envelope_id_is_a_fresh_uuid_v4() {
        let f = factory();
        let a = f.build(created("k", None));
        let b = f.build(created("k", None));
        let id = uuid::Uuid::parse_str(&a.id).unwrap();
        assert_eq!(id.get_version_num(), 4);
        assert_ne!(a.id, b.id);
    }

    #[test]
    fn the_time_is_rfc3339_utc_in_whole_seconds() {
        let offset = time::macros::datetime!(2021-11-12 02:00:00.999 +02:00);
        let event = factory().build_at(created("k", None), offset);
        let json = serde_json::to_value(&event).unwrap();
        assert_eq!(json["time"], "2021-11-12T00:00:00Z");
        let now = serde_json::to_value(factory().build(created("k", None))).unwrap();
        let text = now["time"].as_str().unwrap();
        assert_eq!(text.len(), "2021-11-12T00:00:00Z".len(), "{text}");
        assert!(text.ends_with('Z'), "{text}");
    }

    #[test]
    fn version_id_is_absent_when_the_bucket_is_unversioned() {
        let json = serde_json::to_value(factory().build(created("k", None))).unwrap();
        let object = json["detail"]["object"].as_object().unwrap();
        assert!(!object.contains_key("version-id"), "{object:?}");
        let mut keys: Vec<_> = object.keys().map(String::as_str).collect();
        keys.sort_unstable();
        assert_eq!(keys, ["etag", "key", "sequencer", "size"]);
    }

    #[test]
    fn the_etag_loses_its_quotes_and_a_multipart_etag_keeps_its_part_count() {
        let mut input = created("k", None);
        input.etag = "\"4af981f98d22a0b9979da24b259e5e42-12\"".into();
        input.reason = Reason::CompleteMultipartUpload;
        let json = serde_json::to_value(factory().build(input)).unwrap();
        assert_eq!(
            json["detail"]["object"]["etag"],
            "4af981f98d22a0b9979da24b259e5e42-12"
        );
        assert_eq!(json["detail"]["reason"], "CompleteMultipartUpload");
    }

    #[test]
    fn the_aws_example_deserializes_and_round_trips() {
        let event: ObjectCreatedEvent = serde_json::from_str(AWS_EXAMPLE).unwrap();
        assert_eq!(
            event.detail.object.version_id.as_deref(),
            Some("IYV3p45BT0ac8hjHg1houSdS1a.Mro8e")
        );
        assert_eq!(
            event.detail.reason.as_deref(),
            Some(Reason::PutObject.as_str())
        );
        assert_eq!(event.time, time::macros::datetime!(2021-11-12 00:00:00 UTC));
        let again = serde_json::to_value(&event).unwrap();
        assert_eq!(again, serde_json::from_str::<Value>(AWS_EXAMPLE).unwrap());

        let built = factory().build(created("a b", None));
        let text = serde_json::to_string(&built).unwrap();
        assert_eq!(
            serde_json::from_str::<ObjectCreatedEvent>(&text).unwrap(),
            built
        );
    }

    #[test]
    fn the_factory_writes_the_key_with_its_encoding() {
        let mut f = factory();
        let key = |f: &EventFactory| f.build(created("a b+c", None)).detail.object.key;
        assert_eq!(key(&f), "a+b%2Bc");
        f.encoding = KeyEncoding::Percent;
        assert_eq!(key(&f), "a%20b%2Bc");
        f.encoding = KeyEncoding::Raw;
        assert_eq!(key(&f), "a b+c");
    }

    #[test]
    fn sequencers_strictly_increase_as_16_uppercase_hex_digits() {
        let sequencer = Sequencer::new();
        let values: Vec<String> = (0..1000).map(|_| sequencer.next_sequencer()).collect();
        for s in &values {
            assert_eq!(s.len(), 16, "{s}");
            assert!(
                s.bytes()
                    .all(|b| b.is_ascii_digit() || (b'A'..=b'F').contains(&b)),
                "{s}"
            );
        }
        // Same width, so string order is numeric order.
        assert!(values.windows(2).all(|w| w[0] < w[1]));
    }

    #[test]
    fn sequencers_start_from_the_clock_so_a_restart_continues_upward() {
        let before = Sequencer::new().next_value();
        std::thread::sleep(std::time::Duration::from_millis(2));
        let restarted = Sequencer::new().next_value();
        assert!(restarted > before);
        // The leading 8 hex digits are Unix seconds, like S3's.
        let secs = SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .unwrap()
            .as_secs();
        assert!((restarted >> 32).abs_diff(secs) <= 1);
        // A sequencer seeded past the clock keeps counting from its seed.
        let ahead = Sequencer::starting_after(u64::MAX - 10);
        assert_eq!(ahead.next_value(), u64::MAX - 9);
    }

    #[test]
    fn sequencers_strictly_increase_across_threads() {
        let sequencer = Arc::new(Sequencer::new());
        let handles: Vec<_> = (0..4)
            .map(|_| {
                let s = Arc::clone(&sequencer);
                std::thread::spawn(move || (0..2000).map(|_| s.next_value()).collect::<Vec<_>>())
            })
            .collect();
        let mut all = Vec::new();
        for h in handles {
            let values = h.join().unwrap();
            assert!(values.windows(2).all(|w| w[0] < w[1]));
            all.extend(values);
        }
        let n = all.len();
        all.sort_unstable();
        all.dedup();
        assert_eq!(all.len(), n, "no value is handed out twice");
    }

    #[tokio::test]
    async fn the_bus_delivers_to_two_subscribers_and_survives_a_dropped_one() {
        let bus = EventBus::new();
        assert!(!bus.has_subscribers());
        assert_eq!(bus.publish(factory().build(created("nobody", None))), 0);

        let mut first = bus.subscribe();
        let mut second = bus.subscribe();
        let third = bus.subscribe();
        drop(third);

        let event = factory().build(created("k", None));
        assert_eq!(bus.publish(event.clone()), 2);
        assert_eq!(*first.recv().await.unwrap(), event);
        assert_eq!(*second.recv().await.unwrap(), event);

        drop(first);
        let next = factory().build(created("k2", None));
        assert_eq!(bus.clone().publish(next.clone()), 1);
        assert_eq!(*second.recv().await.unwrap(), next);

        drop(second);
        assert_eq!(bus.publish(factory().build(created("k3", None))), 0);
        assert!(!bus.has_subscribers());
    }
}
