//! A chunk of history: consecutive events of one execution, compressed into one LZ4 block.
//!
//! Chunks written now hold each event as its JSON text with the payload (a state document,
//! a Lambda payload) left out ([`HistoryEvent::skeleton_text`]), and the payload beside it
//! as it is, not escaped: escaping every document into a JSON string each time an event was
//! recorded cost more than compressing it (callgrind: serde_json's `serialize_str` was 9% of
//! `up`'s instructions). The text `GetExecutionHistory` returns is put together when a
//! chunk is read. Layout, before compression: [`FRAMED`], then per event the skeleton's
//! length (u32, little endian), the skeleton, the payload's length plus one (0: none) and
//! the payload. Chunks of older stores are the events' JSON texts, one per line (compact
//! JSON never holds a raw newline, and starts with `{`, never with [`FRAMED`]).

use crate::history::{HistoryEvent, PAYLOAD_PLACEHOLDER};

/// The first byte of a framed chunk.
const FRAMED: u8 = 0x01;

/// Builds one chunk from consecutive events.
pub(super) struct Encoder {
    bytes: Vec<u8>,
}

impl Encoder {
    pub(super) fn new() -> Encoder {
        Encoder {
            bytes: vec![FRAMED],
        }
    }

    pub(super) fn push(&mut self, event: &HistoryEvent) {
        let skeleton = event.skeleton_text();
        let payload = event.payload();
        // The placeholder is a string of one NUL: if a name or an error is that string too,
        // the event is stored whole, so that a read never puts the payload in its place.
        let (skeleton, payload) = match payload {
            Some(p) if skeleton.matches(PAYLOAD_PLACEHOLDER).count() == 1 => (skeleton, Some(p)),
            Some(_) => (event.to_json_text(), None),
            None => (skeleton, None),
        };
        self.bytes
            .reserve(skeleton.len() + payload.map_or(0, str::len) + 8);
        put_len(&mut self.bytes, skeleton.len());
        self.bytes.extend_from_slice(skeleton.as_bytes());
        match payload {
            Some(p) => {
                put_len(&mut self.bytes, p.len() + 1);
                self.bytes.extend_from_slice(p.as_bytes());
            }
            None => put_len(&mut self.bytes, 0),
        }
    }

    /// The stored form.
    pub(super) fn finish(self) -> Vec<u8> {
        lz4_flex::compress_prepend_size(&self.bytes)
    }
}

fn put_len(out: &mut Vec<u8>, len: usize) {
    // A chunk is far below 4 GiB: an event is bounded by Step Functions' 256 KiB payloads.
    out.extend_from_slice(&u32::try_from(len).unwrap_or(u32::MAX).to_le_bytes());
}

/// The event texts of a stored chunk, in id order, in the `GetExecutionHistory` shape.
pub(super) fn decode(body: &[u8]) -> Result<Vec<String>, String> {
    let bytes = lz4_flex::decompress_size_prepended(body).map_err(|e| e.to_string())?;
    match bytes.split_first() {
        Some((&FRAMED, framed)) => decode_framed(framed),
        _ => {
            let text = String::from_utf8(bytes).map_err(|e| e.to_string())?;
            Ok(text.split('\n').map(str::to_owned).collect())
        }
    }
}

fn decode_framed(mut rest: &[u8]) -> Result<Vec<String>, String> {
    let mut events = Vec::new();
    while !rest.is_empty() {
        let skeleton = take_str(&mut rest, None)?;
        let text = match take_len(&mut rest)? {
            0 => skeleton.to_owned(),
            n => {
                let payload = take_str(&mut rest, Some(n - 1))?;
                let at = skeleton
                    .find(PAYLOAD_PLACEHOLDER)
                    .ok_or("a framed event without its placeholder")?;
                let mut text = String::with_capacity(skeleton.len() + payload.len() * 9 / 8 + 8);
                text.push_str(&skeleton[..at]);
                text.push_str(&serde_json::to_string(payload).map_err(|e| e.to_string())?);
                text.push_str(&skeleton[at + PAYLOAD_PLACEHOLDER.len()..]);
                text
            }
        };
        events.push(text);
    }
    Ok(events)
}

fn take_len(rest: &mut &[u8]) -> Result<usize, String> {
    let (len, tail) = rest
        .split_first_chunk::<4>()
        .ok_or("a framed chunk cut short")?;
    *rest = tail;
    Ok(u32::from_le_bytes(*len) as usize)
}

/// The next length-prefixed text (`len`: already read).
fn take_str<'a>(rest: &mut &'a [u8], len: Option<usize>) -> Result<&'a str, String> {
    let len = match len {
        Some(n) => n,
        None => take_len(rest)?,
    };
    if rest.len() < len {
        return Err("a framed chunk cut short".into());
    }
    let (text, tail) = rest.split_at(len);
    *rest = tail;
    std::str::from_utf8(text).map_err(|e| e.to_string())
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::expect_used)]
mod tests {
    use super::*;
    use crate::history::{EventDetails, EventType, StateType};
    use time::macros::datetime;

    fn event(id: u64, event_type: EventType, details: EventDetails) -> HistoryEvent {
        HistoryEvent {
            id,
            previous_event_id: id.saturating_sub(1),
            timestamp: datetime!(2024-01-01 00:00:01.25 UTC),
            event_type,
            details,
        }
    }

    fn encode(events: &[HistoryEvent]) -> Vec<u8> {
        let mut encoder = Encoder::new();
        for e in events {
            encoder.push(e);
        }
        encoder.finish()
    }

    fn texts(events: &[HistoryEvent]) -> Vec<String> {
        events.iter().map(HistoryEvent::to_json_text).collect()
    }

    /// One event of every details shape that carries a payload, and some that carry none.
    fn execution() -> Vec<HistoryEvent> {
        let document = "{\"key\":\"a\\\"b\\nc\u{1b}\",\"ü\":[1,2.5e3]}\n";
        vec![
            event(
                1,
                EventType::ExecutionStarted,
                EventDetails::ExecutionStarted {
                    input: format!(" {document} "),
                    role_arn: "arn:aws:iam::000000000000:role/r".into(),
                },
            ),
            event(
                2,
                EventType::StateEntered(StateType::Task),
                EventDetails::StateEntered {
                    name: "Copy \"it\"".into(),
                    input: document.into(),
                },
            ),
            event(
                3,
                EventType::TaskScheduled,
                EventDetails::TaskScheduled {
                    resource_type: "lambda".into(),
                    resource: "invoke".into(),
                    region: "us-east-1".into(),
                    parameters: document.into(),
                    timeout_in_seconds: Some(30),
                },
            ),
            event(
                4,
                EventType::TaskStarted,
                EventDetails::TaskStarted {
                    resource_type: "lambda".into(),
                    resource: "invoke".into(),
                },
            ),
            event(
                5,
                EventType::TaskSucceeded,
                EventDetails::TaskSucceeded {
                    resource_type: "lambda".into(),
                    resource: "invoke".into(),
                    output: String::new(),
                },
            ),
            event(
                6,
                EventType::LambdaFunctionScheduled,
                EventDetails::LambdaFunctionScheduled {
                    resource: "arn:aws:lambda:us-east-1:000000000000:function:f".into(),
                    input: "\0".into(),
                    timeout_in_seconds: None,
                },
            ),
            event(
                7,
                EventType::LambdaFunctionSucceeded,
                EventDetails::LambdaFunctionSucceeded {
                    output: "null".into(),
                },
            ),
            event(
                8,
                EventType::StateExited(StateType::Task),
                EventDetails::StateExited {
                    name: "Copy".into(),
                    output: document.into(),
                },
            ),
            event(
                9,
                EventType::ExecutionFailed,
                EventDetails::ExecutionFailed {
                    error: Some("States.TaskFailed".into()),
                    cause: None,
                },
            ),
            event(
                10,
                EventType::ExecutionSucceeded,
                EventDetails::ExecutionSucceeded {
                    output: document.into(),
                },
            ),
        ]
    }

    #[test]
    fn events_come_back_in_order_as_their_json_texts() {
        let events = execution();
        assert_eq!(decode(&encode(&events)).unwrap(), texts(&events));
        assert_eq!(
            decode(&encode(&events[3..4])).unwrap(),
            texts(&events[3..4])
        );
    }

    #[test]
    fn a_name_that_reads_like_the_placeholder_keeps_the_event_whole() {
        let events = [event(
            1,
            EventType::StateEntered(StateType::Pass),
            EventDetails::StateEntered {
                name: "\0".into(),
                input: "{\"a\":1}".into(),
            },
        )];
        assert_eq!(
            events[0]
                .skeleton_text()
                .matches(PAYLOAD_PLACEHOLDER)
                .count(),
            2
        );
        assert_eq!(decode(&encode(&events)).unwrap(), texts(&events));
    }

    #[test]
    fn payloads_are_stored_unescaped() {
        let events = execution();
        let stored = lz4_flex::decompress_size_prepended(&encode(&events[1..2])).unwrap();
        assert!(stored.ends_with(events[1].payload().unwrap().as_bytes()));
        let escaped = br#"\"key\""#;
        assert!(!stored.windows(escaped.len()).any(|w| w == escaped));
    }

    #[test]
    fn chunks_of_older_stores_are_json_lines() {
        let lines = [
            r#"{"id":1,"input":"{\"a\":\"line\\nbreak\"}"}"#,
            r#"{"id":2}"#,
            r#"{"id":3,"output":"ünïcode"}"#,
        ];
        let body = lz4_flex::compress_prepend_size(lines.join("\n").as_bytes());
        assert_eq!(decode(&body).unwrap(), lines);
    }

    #[test]
    fn a_repeated_state_document_is_stored_about_once() {
        // Random letters: LZ4 cannot shrink one copy, only the repeats.
        let mut rng = fastrand::Rng::with_seed(1);
        let letters: String = (0..1000).map(|_| rng.alphanumeric()).collect();
        let document = format!(r#"{{"job":"{letters}"}}"#);
        let events: Vec<HistoryEvent> = (1..=5)
            .map(|id| {
                event(
                    id,
                    EventType::StateEntered(StateType::Pass),
                    EventDetails::StateEntered {
                        name: "P".into(),
                        input: document.clone(),
                    },
                )
            })
            .collect();
        let raw: usize = texts(&events).iter().map(String::len).sum();
        assert!(encode(&events).len() * 4 < raw);
    }

    #[test]
    fn a_damaged_chunk_is_an_error_not_a_panic() {
        let events = execution();
        let stored = lz4_flex::decompress_size_prepended(&encode(&events)).unwrap();
        for cut in [2, 7, stored.len() / 2, stored.len() - 1] {
            let body = lz4_flex::compress_prepend_size(&stored[..cut]);
            assert!(decode(&body).is_err(), "cut at {cut}");
        }
        let mut body = encode(&events);
        body.truncate(body.len() - 1);
        body[0] = 0xff;
        assert!(decode(&body).is_err());
    }
}
