//! The demo's workload: every object it uploads and every event it replays, each with the
//! outcome it must end in and why.

use super::outcome::Outcome;

/// One object to upload and the outcome its execution must end in.
#[derive(Clone, Debug)]
pub(super) struct Scenario {
    pub key: String,
    pub size: usize,
    pub expect: Outcome,
    pub why: &'static str,
}

/// What an execution must end as, and the reason shown when it does.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(super) struct Expectation {
    pub outcome: Outcome,
    pub why: &'static str,
}

/// An execution the demo starts itself, by name, from an event it replays.
#[derive(Clone, Debug)]
pub(super) struct Replay {
    pub name: &'static str,
    pub expect: Outcome,
    pub why: &'static str,
}

/// At-least-once delivery: the first object's event again must not copy twice.
pub(super) const REDELIVERED: Replay = Replay {
    name: "redelivered-event",
    expect: Outcome::Copied,
    why: "same event twice: nothing copied again",
};

/// The first version's event, replayed after the second version was copied.
pub(super) const LATE_EVENT: Replay = Replay {
    name: "late-event-of-overwritten-object",
    expect: Outcome::Superseded,
    why: "source overwritten after its event",
};

/// A source overwritten before its first event is handled; both versions' own events copy.
pub(super) const OVERWRITTEN_KEY: &str = "ChenWei/2020-04-07/10/draft.txt";
/// The bodies of its two versions, in upload order.
pub(super) const OVERWRITTEN_BODIES: [&[u8]; 2] = [b"draft one", b"draft two, final"];
const OVERWRITTEN_WHY: &str = "overwritten object, each version copied in turn";

/// Above the demo's lowered multipart threshold (16 MiB), yet quick to copy.
pub(super) const LARGE_BYTES: usize = 40 * 1024 * 1024;

fn scenario(key: &str, size: usize, expect: Outcome, why: &'static str) -> Scenario {
    Scenario {
        key: key.to_owned(),
        size,
        expect,
        why,
    }
}

/// The tree: employees / day / hour / file, plus the awkward cases.
pub(super) fn workload(large: usize) -> Vec<Scenario> {
    let mut scenarios = tree();
    scenarios.extend([
        scenario(
            "ChenWei/2020-04-09/18/site-survey.mp4",
            large,
            Outcome::Copied,
            "large: multipart copy",
        ),
        scenario(
            "AjayMuralidhar/2020-04-06/12/my task + notes.txt",
            512,
            Outcome::Copied,
            "spaces and +",
        ),
        scenario(
            "ZoëMüller/2020-04-06/13/résumé 東京.txt",
            777,
            Outcome::Copied,
            "unicode",
        ),
        scenario(
            "PriyaNair/2020-04-06/14/100% done.txt",
            64,
            Outcome::Copied,
            "percent sign",
        ),
        scenario(
            "PriyaNair/2020-04-06/15/empty.log",
            0,
            Outcome::Copied,
            "zero bytes",
        ),
    ]);
    scenarios.extend(not_copied());
    scenarios
}

/// Three files an hour, three hours a day, two days for each of three employees.
fn tree() -> Vec<Scenario> {
    let mut scenarios = Vec::new();
    for (employee, days) in [
        ("AjayMuralidhar", ["2020-04-06", "2020-04-07"]),
        ("PriyaNair", ["2020-04-06", "2020-04-08"]),
        ("ChenWei", ["2020-04-07", "2020-04-09"]),
    ] {
        for day in days {
            for (hour, file) in [
                ("09", "standup-notes.md"),
                ("12", "my-task.txt"),
                ("17", "timesheet.csv"),
            ] {
                let size = 2048 + scenarios.len() * 97;
                let key = format!("{employee}/{day}/{hour}/{file}");
                scenarios.push(scenario(&key, size, Outcome::Copied, "new file"));
            }
        }
    }
    scenarios
}

/// Objects the key rules reject or skip.
fn not_copied() -> [Scenario; 3] {
    [
        scenario(
            "AjayMuralidhar/2020-13-45/12/bad-date.txt",
            10,
            Outcome::KeyRejected,
            "no such date",
        ),
        scenario(
            "notes-without-hierarchy.txt",
            10,
            Outcome::KeyRejected,
            "not employee/day/hour/file",
        ),
        scenario(
            "AjayMuralidhar/2020-04-10/",
            0,
            Outcome::Skipped,
            "folder marker",
        ),
    ]
}

/// What the execution `name` about `key` must end as: a replay by its name, else the
/// overwritten object, else the uploaded scenario with that key; `None` when the demo never
/// caused such an execution.
pub(super) fn expectation(workload: &[Scenario], name: &str, key: &str) -> Option<Expectation> {
    if let Some(r) = [REDELIVERED, LATE_EVENT]
        .into_iter()
        .find(|r| r.name == name)
    {
        return Some(Expectation {
            outcome: r.expect,
            why: r.why,
        });
    }
    if key == OVERWRITTEN_KEY {
        return Some(Expectation {
            outcome: Outcome::Copied,
            why: OVERWRITTEN_WHY,
        });
    }
    workload.iter().find(|s| s.key == key).map(|s| Expectation {
        outcome: s.expect.clone(),
        why: s.why,
    })
}

/// `size` bytes of printable text, the same for the same seed.
pub(super) fn body(size: usize, seed: usize) -> Vec<u8> {
    let mut rng = fastrand::Rng::with_seed(seed as u64);
    (0..size).map(|_| rng.alphanumeric() as u8).collect()
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    #[test]
    fn the_workload_has_every_outcome_the_demo_promises_and_unique_keys() {
        let w = workload(LARGE_BYTES);
        assert_eq!(w.len(), 26);
        for outcome in [Outcome::Copied, Outcome::KeyRejected, Outcome::Skipped] {
            assert!(w.iter().any(|s| s.expect == outcome), "{outcome}");
        }
        let mut keys: Vec<_> = w.iter().map(|s| &s.key).collect();
        keys.sort();
        keys.dedup();
        assert_eq!(keys.len(), w.len());
        assert!(!keys.iter().any(|k| *k == OVERWRITTEN_KEY));
    }

    #[test]
    fn replays_are_expected_by_name_before_their_key() {
        let w = workload(LARGE_BYTES);
        let late = expectation(&w, LATE_EVENT.name, OVERWRITTEN_KEY).unwrap();
        assert_eq!(late.outcome, Outcome::Superseded);
        let again = expectation(&w, REDELIVERED.name, &w[0].key).unwrap();
        assert_eq!(again.why, REDELIVERED.why);
        let v1 = expectation(&w, "some-uuid", OVERWRITTEN_KEY).unwrap();
        assert_eq!(v1.outcome, Outcome::Copied);
        let marker = expectation(&w, "id", "AjayMuralidhar/2020-04-10/").unwrap();
        assert_eq!(marker.outcome, Outcome::Skipped);
        assert_eq!(expectation(&w, "id", "never/uploaded"), None);
    }

    #[test]
    fn bodies_are_reproducible_and_sized() {
        assert_eq!(body(100, 7), body(100, 7));
        assert_eq!(body(0, 1).len(), 0);
    }
}
