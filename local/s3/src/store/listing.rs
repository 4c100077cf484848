//! ListObjects paging over sorted key rows (pure): prefix, delimiter roll-up into
//! CommonPrefixes, max-keys counting keys and prefixes alike, and opaque continuation tokens.
//!
//! S3 lists keys in UTF-8 binary order, which is `String`'s `Ord` and SQLite's `BINARY`
//! collation, so the rows come from a range scan starting at [`start`]; the paging logic
//! only consumes them in order and stops as soon as it has a page.

use std::ops::Bound;

/// Where a listing resumes: strictly after this key, or after every key under this prefix.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Cursor {
    Key(String),
    Prefix(String),
}

impl Cursor {
    /// Opaque token for `NextContinuationToken`.
    pub(crate) fn to_token(&self) -> String {
        let raw = match self {
            Cursor::Key(k) => format!("K{k}"),
            Cursor::Prefix(p) => format!("P{p}"),
        };
        base64_simd::URL_SAFE_NO_PAD.encode_to_string(raw.as_bytes())
    }

    pub(crate) fn from_token(token: &str) -> Option<Cursor> {
        let raw = base64_simd::URL_SAFE_NO_PAD
            .decode_to_vec(token.as_bytes())
            .ok()?;
        let raw = String::from_utf8(raw).ok()?;
        match raw.split_at_checked(1)? {
            ("K", k) => Some(Cursor::Key(k.to_owned())),
            ("P", p) => Some(Cursor::Prefix(p.to_owned())),
            _ => None,
        }
    }
}

pub(crate) struct Query<'q> {
    pub prefix: &'q str,
    pub delimiter: Option<&'q str>,
    pub max_keys: usize,
    pub after: Option<Cursor>,
}

#[derive(Debug, PartialEq, Eq)]
pub(crate) enum Entry<T> {
    Object(String, T),
    CommonPrefix(String),
}

#[derive(Debug)]
pub(crate) struct Page<T> {
    pub entries: Vec<Entry<T>>,
    /// Set when more entries follow.
    pub next: Option<Cursor>,
}

/// The first key `query` can list: the rows handed to [`list`] start here.
pub(crate) fn start(query: &Query<'_>) -> Bound<String> {
    match &query.after {
        Some(Cursor::Key(k)) | Some(Cursor::Prefix(k)) if k.as_str() >= query.prefix => {
            Bound::Excluded(k.clone())
        }
        _ => Bound::Included(query.prefix.to_owned()),
    }
}

/// One page under `query` of `rows`, which are sorted by key and start at [`start`];
/// `visible` hides keys (e.g. whose current version is a delete marker) without counting
/// them. Reads no further than the first row past the page.
pub(crate) fn list<T>(
    rows: impl IntoIterator<Item = (String, T)>,
    query: &Query<'_>,
    visible: impl Fn(&T) -> bool,
) -> Page<T> {
    let skip_under = match &query.after {
        Some(Cursor::Prefix(p)) => Some(p.as_str()),
        _ => None,
    };
    let mut entries: Vec<Entry<T>> = Vec::new();
    let mut last: Option<Cursor> = None;
    for (key, value) in rows {
        if !key.starts_with(query.prefix) {
            break;
        }
        if skip_under.is_some_and(|p| key.starts_with(p)) || !visible(&value) {
            continue;
        }
        let rolled = query.delimiter.filter(|d| !d.is_empty()).and_then(|d| {
            let rest = &key[query.prefix.len()..];
            rest.find(d)
                .map(|i| key[..query.prefix.len() + i + d.len()].to_owned())
        });
        if let (Some(cp), Some(Cursor::Prefix(prev))) = (&rolled, &last)
            && cp == prev
        {
            continue;
        }
        if entries.len() == query.max_keys {
            return Page {
                entries,
                next: last,
            };
        }
        match rolled {
            Some(cp) => {
                last = Some(Cursor::Prefix(cp.clone()));
                entries.push(Entry::CommonPrefix(cp));
            }
            None => {
                last = Some(Cursor::Key(key.clone()));
                entries.push(Entry::Object(key, value));
            }
        }
    }
    Page {
        entries,
        next: None,
    }
}

#[cfg(test)]
mod tests {
    use std::collections::BTreeMap;

    use super::*;

    fn map(keys: &[&str]) -> BTreeMap<String, bool> {
        keys.iter().map(|k| ((*k).to_owned(), true)).collect()
    }

    /// [`super::list`] over the rows of `m` from [`start`], as the store's range scan does.
    fn list(
        m: &BTreeMap<String, bool>,
        q: &Query<'_>,
        visible: impl Fn(&bool) -> bool,
    ) -> Page<bool> {
        let rows = m
            .range::<String, _>((start(q), Bound::Unbounded))
            .map(|(k, v)| (k.clone(), *v));
        super::list(rows, q, visible)
    }

    fn names<T>(page: &Page<T>) -> Vec<String> {
        page.entries
            .iter()
            .map(|e| match e {
                Entry::Object(k, _) => k.clone(),
                Entry::CommonPrefix(p) => format!("{p}*"),
            })
            .collect()
    }

    fn query<'q>(
        prefix: &'q str,
        delimiter: Option<&'q str>,
        max_keys: usize,
        after: Option<Cursor>,
    ) -> Query<'q> {
        Query {
            prefix,
            delimiter,
            max_keys,
            after,
        }
    }

    #[test]
    fn delimiter_rolls_keys_up_into_common_prefixes() {
        let m = map(&["a/1", "a/2", "b", "c/x/y", "c/z"]);
        let page = list(&m, &query("", Some("/"), 1000, None), |v| *v);
        assert_eq!(names(&page), ["a/*", "b", "c/*"]);
        assert!(page.next.is_none());
    }

    #[test]
    fn prefix_limits_and_delimiter_applies_after_it() {
        let m = map(&["a/1", "a/b/2", "a/b/3", "ab"]);
        let page = list(&m, &query("a/", Some("/"), 1000, None), |v| *v);
        assert_eq!(names(&page), ["a/1", "a/b/*"]);
    }

    #[test]
    fn paging_by_tokens_visits_every_entry_once() {
        let m = map(&["a/1", "a/2", "b", "c/x", "d", "e/1", "e/2", "f"]);
        let mut after = None;
        let mut seen = Vec::new();
        loop {
            let page = list(&m, &query("", Some("/"), 2, after.take()), |v| *v);
            seen.extend(names(&page));
            match page.next {
                Some(c) => after = Cursor::from_token(&c.to_token()),
                None => break,
            }
        }
        assert_eq!(seen, ["a/*", "b", "c/*", "d", "e/*", "f"]);
    }

    #[test]
    fn folder_marker_key_is_listed_as_a_key_inside_its_prefix() {
        let m = map(&["a/", "a/x"]);
        let page = list(&m, &query("a/", Some("/"), 1, None), |v| *v);
        assert_eq!(names(&page), ["a/"]);
        let next = list(&m, &query("a/", Some("/"), 1, page.next), |v| *v);
        assert_eq!(names(&next), ["a/x"]);
    }

    #[test]
    fn hidden_entries_are_skipped_and_not_counted() {
        let mut m = map(&["a", "b", "c"]);
        m.insert("b".into(), false);
        let page = list(&m, &query("", None, 2, None), |v| *v);
        assert_eq!(names(&page), ["a", "c"]);
        assert!(page.next.is_none());
    }

    #[test]
    fn start_after_before_the_prefix_starts_at_the_prefix() {
        let m = map(&["a", "p/1", "p/2"]);
        let page = list(
            &m,
            &query("p/", None, 10, Some(Cursor::Key("a".into()))),
            |v| *v,
        );
        assert_eq!(names(&page), ["p/1", "p/2"]);
    }

    #[test]
    fn tokens_round_trip_and_garbage_is_rejected() {
        for c in [Cursor::Key("ü/ x+y".into()), Cursor::Prefix("a/".into())] {
            assert_eq!(Cursor::from_token(&c.to_token()), Some(c));
        }
        assert_eq!(Cursor::from_token("!!!"), None);
    }
}
