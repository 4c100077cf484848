//! ListObjectVersions paging over sorted key rows (pure): every version of every key,
//! newest first within a key, prefix and delimiter roll-up into CommonPrefixes, max-keys
//! counting versions, delete markers and prefixes alike, and S3's two-part resume point
//! (`key-marker`, `version-id-marker`).
//!
//! A page cut inside a key resumes after that version (`NextVersionIdMarker`); a page cut
//! after a common prefix resumes after every key under it (`NextKeyMarker` is the prefix).

use std::ops::Bound;

pub(crate) struct Query<'q> {
    pub prefix: &'q str,
    pub delimiter: Option<&'q str>,
    pub max_keys: usize,
    pub key_marker: Option<&'q str>,
    pub version_id_marker: Option<&'q str>,
}

#[derive(Debug, PartialEq, Eq)]
pub(crate) enum Entry<V> {
    /// A version or a delete marker; `latest` is the key's current version.
    Version {
        key: String,
        version: V,
        latest: bool,
    },
    CommonPrefix(String),
}

/// Where the next page starts: `NextKeyMarker` and `NextVersionIdMarker`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Resume {
    pub key_marker: String,
    pub version_id_marker: Option<String>,
}

#[derive(Debug)]
pub(crate) struct Page<V> {
    pub entries: Vec<Entry<V>>,
    /// Set when more entries follow.
    pub next: Option<Resume>,
}

/// The first key `query` can list: the rows handed to [`list`] start here.
pub(crate) fn start(query: &Query<'_>) -> Bound<String> {
    match query.key_marker {
        Some(k) if k >= query.prefix => Bound::Included(k.to_owned()),
        _ => Bound::Included(query.prefix.to_owned()),
    }
}

/// One page under `query` of the versions in `rows`, which are sorted by key and start at
/// [`start`]. `versions` gives a value's versions oldest first (the last is current), `id`
/// a version's id.
pub(crate) fn list<T, V>(
    rows: impl IntoIterator<Item = (String, T)>,
    query: &Query<'_>,
    versions: impl Fn(T) -> Vec<V>,
    id: impl Fn(&V) -> &str,
) -> Page<V> {
    let version_marker = query.version_id_marker.filter(|v| !v.is_empty());
    let mut entries = Vec::new();
    let mut last: Option<Resume> = None;
    for (key, value) in rows {
        if !key.starts_with(query.prefix) {
            break;
        }
        let rolled = query.delimiter.filter(|d| !d.is_empty()).and_then(|d| {
            let rest = &key[query.prefix.len()..];
            rest.find(d)
                .map(|i| key[..query.prefix.len() + i + d.len()].to_owned())
        });
        let at_marker = query.key_marker == Some(key.as_str());
        if (at_marker && version_marker.is_none())
            || (rolled.is_some() && rolled.as_deref() == query.key_marker)
        {
            continue; // the previous page ended with this key, or with its prefix
        }
        if let Some(prefix) = rolled {
            if last.as_ref().is_some_and(|l| l.key_marker == prefix) {
                continue;
            }
            if entries.len() == query.max_keys {
                return Page {
                    entries,
                    next: last,
                };
            }
            last = Some(Resume {
                key_marker: prefix.clone(),
                version_id_marker: None,
            });
            entries.push(Entry::CommonPrefix(prefix));
            continue;
        }
        let all = versions(value);
        let mut newest_first = all.into_iter().rev().enumerate().peekable();
        if at_marker && let Some(marker) = version_marker {
            // Resume after the marker version; an unknown marker lists nothing of this key.
            let mut found = false;
            for (_, v) in newest_first.by_ref() {
                if id(&v) == marker {
                    found = true;
                    break;
                }
            }
            if !found {
                continue;
            }
        }
        for (i, version) in newest_first {
            if entries.len() == query.max_keys {
                return Page {
                    entries,
                    next: last,
                };
            }
            last = Some(Resume {
                key_marker: key.clone(),
                version_id_marker: Some(id(&version).to_owned()),
            });
            entries.push(Entry::Version {
                key: key.clone(),
                version,
                latest: i == 0,
            });
        }
    }
    Page {
        entries,
        next: None,
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use std::collections::BTreeMap;

    use super::*;

    /// Keys with their version ids, oldest first.
    fn map(keys: &[(&str, &[&'static str])]) -> BTreeMap<String, Vec<&'static str>> {
        keys.iter()
            .map(|(k, vs)| ((*k).to_owned(), vs.to_vec()))
            .collect()
    }

    fn query<'q>(
        prefix: &'q str,
        delimiter: Option<&'q str>,
        max_keys: usize,
        marker: Option<(&'q str, Option<&'q str>)>,
    ) -> Query<'q> {
        Query {
            prefix,
            delimiter,
            max_keys,
            key_marker: marker.map(|m| m.0),
            version_id_marker: marker.and_then(|m| m.1),
        }
    }

    fn page(m: &BTreeMap<String, Vec<&'static str>>, q: &Query<'_>) -> Page<&'static str> {
        let rows = m
            .range::<String, _>((start(q), Bound::Unbounded))
            .map(|(k, v)| (k.clone(), v.clone()));
        list(rows, q, |v| v, |v| v)
    }

    fn names(page: &Page<&'static str>) -> Vec<String> {
        page.entries
            .iter()
            .map(|e| match e {
                Entry::Version {
                    key,
                    version,
                    latest,
                } => format!("{key}@{version}{}", if *latest { "*" } else { "" }),
                Entry::CommonPrefix(p) => format!("{p}/"),
            })
            .collect()
    }

    #[test]
    fn versions_are_listed_newest_first_with_the_current_one_latest() {
        let m = map(&[("a", &["1", "2", "3"]), ("b", &["4"])]);
        let p = page(&m, &query("", None, 1000, None));
        assert_eq!(names(&p), ["a@3*", "a@2", "a@1", "b@4*"]);
        assert!(p.next.is_none());
    }

    #[test]
    fn paging_inside_a_key_resumes_after_the_version_marker() {
        let m = map(&[("a", &["1", "2", "3"]), ("b", &["4"])]);
        let first = page(&m, &query("", None, 2, None));
        assert_eq!(names(&first), ["a@3*", "a@2"]);
        let next = first.next.clone().unwrap();
        assert_eq!(
            next,
            Resume {
                key_marker: "a".into(),
                version_id_marker: Some("2".into())
            }
        );
        let second = page(
            &m,
            &query("", None, 2, Some(("a", next.version_id_marker.as_deref()))),
        );
        assert_eq!(names(&second), ["a@1", "b@4*"]);
        assert!(second.next.is_none());
    }

    #[test]
    fn a_key_marker_alone_resumes_after_every_version_of_that_key() {
        let m = map(&[("a", &["1", "2"]), ("b", &["3"])]);
        let p = page(&m, &query("", None, 10, Some(("a", None))));
        assert_eq!(names(&p), ["b@3*"]);
    }

    #[test]
    fn delimiter_rolls_keys_up_and_a_prefix_marker_skips_its_keys() {
        let m = map(&[("d/1", &["1"]), ("d/2", &["2"]), ("e", &["3", "4"])]);
        let all = page(&m, &query("", Some("/"), 10, None));
        assert_eq!(names(&all), ["d//", "e@4*", "e@3"]);
        let first = page(&m, &query("", Some("/"), 1, None));
        assert_eq!(names(&first), ["d//"]);
        let next = first.next.unwrap();
        assert_eq!(next.key_marker, "d/");
        assert_eq!(next.version_id_marker, None);
        let second = page(&m, &query("", Some("/"), 10, Some(("d/", None))));
        assert_eq!(names(&second), ["e@4*", "e@3"]);
    }

    #[test]
    fn prefix_limits_the_keys_listed() {
        let m = map(&[("a/1", &["1"]), ("b/1", &["2"])]);
        let p = page(&m, &query("b/", None, 10, None));
        assert_eq!(names(&p), ["b/1@2*"]);
    }

    #[test]
    fn paging_one_entry_at_a_time_visits_every_version_once() {
        let m = map(&[
            ("a", &["1", "2"]),
            ("p/x", &["3"]),
            ("p/y", &["4"]),
            ("z", &["5"]),
        ]);
        let mut marker: Option<Resume> = None;
        let mut seen = Vec::new();
        loop {
            let q = query(
                "",
                Some("/"),
                1,
                marker
                    .as_ref()
                    .map(|r| (r.key_marker.as_str(), r.version_id_marker.as_deref())),
            );
            let p = page(&m, &q);
            seen.extend(names(&p));
            match p.next {
                Some(r) => marker = Some(r),
                None => break,
            }
        }
        assert_eq!(seen, ["a@2*", "a@1", "p//", "z@5*"]);
    }
}
