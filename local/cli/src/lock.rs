//! One owner per data directory: an exclusive OS lock on `<dataDir>/copyflow.lock`, held for
//! the life of the process (the OS releases it when the process dies, however it dies), so a
//! second `up`, or a `demo`/`run` aimed at the same directory, never opens the store behind
//! the first one's back. The file names its holder (command, pid and the addresses it
//! serves), so the refusal can say who holds it and `run` can use that `up` instead.

use std::fs::{File, OpenOptions, TryLockError};
use std::io::{Read, Seek, Write};
use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};

/// Who holds a data directory.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Holder {
    /// `up`, `run`, ...
    pub command: String,
    /// Its process id.
    pub pid: u32,
    /// Its S3 endpoint (`http://127.0.0.1:9000`), once it serves one.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub s3_endpoint: Option<String>,
    /// Its Step Functions API address (`127.0.0.1:8083`), once it serves one.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub sfn_address: Option<String>,
}

/// A held lock; released when dropped (or when the process ends).
#[derive(Debug)]
pub struct DataDirLock {
    file: File,
    path: PathBuf,
    holder: Holder,
}

/// Why the lock was not taken.
#[derive(Debug, thiserror::Error)]
pub enum LockError {
    /// Another process holds it.
    #[error("{dir} is in use by `copyflow {}` (pid {}){}: stop it first, or point local.dataDir in copyflow.json somewhere else", holder.command, holder.pid, holder.s3_endpoint.as_ref().map(|e| format!(", serving S3 on {e}")).unwrap_or_default())]
    Held {
        /// The data directory.
        dir: String,
        /// Who holds it.
        holder: Holder,
    },
    /// Another process holds it but the file does not say who.
    #[error(
        "{dir} is in use by another copyflow process: stop it first, or point local.dataDir in copyflow.json somewhere else"
    )]
    HeldByUnknown {
        /// The data directory.
        dir: String,
    },
    /// The file could not be created or locked.
    #[error("cannot lock {path}: {source}")]
    Io {
        /// The lock file.
        path: String,
        /// Why.
        source: std::io::Error,
    },
}

fn lock_path(dir: &Path) -> PathBuf {
    dir.join("copyflow.lock")
}

impl DataDirLock {
    /// Takes the lock on `dir` (creating it) for `command`.
    pub fn acquire(dir: &Path, command: &str) -> Result<DataDirLock, LockError> {
        let path = lock_path(dir);
        let shown = path.display().to_string();
        let io = |source| LockError::Io {
            path: shown.clone(),
            source,
        };
        std::fs::create_dir_all(dir).map_err(io)?;
        let mut file = OpenOptions::new()
            .read(true)
            .write(true)
            .create(true)
            .truncate(false)
            .open(&path)
            .map_err(io)?;
        match file.try_lock() {
            Ok(()) => {}
            Err(TryLockError::WouldBlock) => {
                let mut text = String::new();
                let _ = file.read_to_string(&mut text);
                let dir = dir.display().to_string();
                return Err(match serde_json::from_str::<Holder>(&text) {
                    Ok(holder) => LockError::Held { dir, holder },
                    Err(_) => LockError::HeldByUnknown { dir },
                });
            }
            Err(TryLockError::Error(e)) => return Err(io(e)),
        }
        let mut lock = DataDirLock {
            file,
            path,
            holder: Holder {
                command: command.to_owned(),
                pid: std::process::id(),
                s3_endpoint: None,
                sfn_address: None,
            },
        };
        lock.write_holder().map_err(io)?;
        Ok(lock)
    }

    /// Who holds `dir`, if anyone does (without taking the lock).
    pub fn holder(dir: &Path) -> Option<Holder> {
        let mut file = File::open(lock_path(dir)).ok()?;
        match file.try_lock_shared() {
            // Nobody holds it: a file left by an earlier process.
            Ok(()) => None,
            Err(_) => {
                let mut text = String::new();
                file.read_to_string(&mut text).ok()?;
                serde_json::from_str(&text).ok()
            }
        }
    }

    /// Records the addresses this process serves, for `run` and for the refusal message.
    pub fn advertise(&mut self, s3_endpoint: &str, sfn_address: &str) {
        self.holder.s3_endpoint = Some(s3_endpoint.to_owned());
        self.holder.sfn_address = Some(sfn_address.to_owned());
        if let Err(e) = self.write_holder() {
            tracing::warn!(path = %self.path.display(), error = %e, "could not update the lock file");
        }
    }

    fn write_holder(&mut self) -> std::io::Result<()> {
        let text = serde_json::to_string(&self.holder).map_err(std::io::Error::other)?;
        self.file.set_len(0)?;
        self.file.rewind()?;
        self.file.write_all(text.as_bytes())?;
        self.file.flush()
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    #[test]
    fn a_second_lock_on_the_same_directory_is_refused_and_names_the_holder() {
        let dir = tempfile::tempdir().unwrap();
        let mut first = DataDirLock::acquire(dir.path(), "up").unwrap();
        first.advertise("http://127.0.0.1:9000", "127.0.0.1:8083");
        let second = DataDirLock::acquire(dir.path(), "demo").unwrap_err();
        let message = second.to_string();
        assert!(message.contains("`copyflow up`"), "{message}");
        assert!(
            message.contains(&std::process::id().to_string()),
            "{message}"
        );
        assert!(message.contains("http://127.0.0.1:9000"), "{message}");
        let holder = DataDirLock::holder(dir.path()).unwrap();
        assert_eq!(holder.sfn_address.as_deref(), Some("127.0.0.1:8083"));
        drop(first);
        assert!(
            DataDirLock::holder(dir.path()).is_none(),
            "released on drop"
        );
        DataDirLock::acquire(dir.path(), "demo").unwrap();
    }
}
