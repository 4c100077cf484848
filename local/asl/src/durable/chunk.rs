//! A chunk of history: consecutive events of one execution, as compact JSON lines (compact
//! JSON never holds a raw newline) compressed into one LZ4 block.

/// The stored form of `events` (their JSON texts, in id order).
pub(super) fn encode<S: AsRef<str>>(events: &[S]) -> Vec<u8> {
    let mut lines = String::with_capacity(events.iter().map(|e| e.as_ref().len() + 1).sum());
    for (i, e) in events.iter().enumerate() {
        if i > 0 {
            lines.push('\n');
        }
        lines.push_str(e.as_ref());
    }
    lz4_flex::compress_prepend_size(lines.as_bytes())
}

/// The event texts of a stored chunk, in id order.
pub(super) fn decode(body: &[u8]) -> Result<Vec<String>, String> {
    let bytes = lz4_flex::decompress_size_prepended(body).map_err(|e| e.to_string())?;
    let text = String::from_utf8(bytes).map_err(|e| e.to_string())?;
    Ok(text.split('\n').map(str::to_owned).collect())
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::expect_used)]
mod tests {
    use super::*;

    #[test]
    fn events_come_back_in_order_and_unchanged() {
        let events = [
            r#"{"id":1,"input":"{\"a\":\"line\\nbreak\"}"}"#,
            r#"{"id":2}"#,
            r#"{"id":3,"output":"ünïcode"}"#,
        ];
        assert_eq!(decode(&encode(&events)).unwrap(), events);
    }

    #[test]
    fn a_repeated_state_document_is_stored_about_once() {
        // Random letters: LZ4 cannot shrink one copy, only the repeats.
        let mut rng = fastrand::Rng::with_seed(1);
        let letters: String = (0..1000).map(|_| rng.alphanumeric()).collect();
        let document = format!(r#"{{\"job\":\"{letters}\"}}"#);
        let events: Vec<String> = (1..=5)
            .map(|id| format!(r#"{{"id":{id},"input":"{document}"}}"#))
            .collect();
        let raw: usize = events.iter().map(String::len).sum();
        assert!(encode(&events).len() * 4 < raw);
    }

    #[test]
    fn a_damaged_chunk_is_an_error_not_a_panic() {
        let mut body = encode(&["{}", "{}"]);
        body.truncate(body.len() - 1);
        body[0] = 0xff;
        assert!(decode(&body).is_err());
    }
}
