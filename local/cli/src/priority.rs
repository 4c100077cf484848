//! Foreground first: while `copyflow up` runs, the application writing into the source bucket
//! must not be starved by the copies of what it wrote. The embedded S3 server answers the
//! application on threads of the priority `up` was started with. The pipeline runs on
//! threads made nicer by [`PIPELINE_NICENESS`]: the engine, the steps, the execution history
//! writer, and a second listener of the same server that only the steps use, so the server's
//! work for the copies is lowered too. On a busy machine the kernel gives the application's
//! requests the CPU first and the pipeline takes what is left, catching up once the writes
//! slow down. Nothing is dropped or reordered: an acknowledged write's event waits in the
//! outbox until the pipeline takes it.
//!
//! Measured with `cargo bench -p copyflow --bench compare` (small objects, 10,000, s5cmd
//! uploading on the same 2 cores): the uploader slowed by 64-73% before (2 runs), 29-43%
//! with only the pipeline's own threads lowered (4 runs), 6-37% with its listener lowered as
//! well (4 runs: 6, 24, 37, 30); the verified copies per second did not drop. At +5 and +19
//! instead of +10 it was 27-32% and 21-26%, so what is left does not shrink with the
//! priority. Not measured further: the upload into the watched source bucket also writes
//! each event to the outbox, which the benchmark's idle upload, into an unwatched bucket,
//! does not.

/// How much nicer than the process the pipeline's threads are. At +10 a thread weighs about
/// a tenth of one at +0 when both want the CPU (the kernel's weights fall about 1.25x per
/// level), and it still runs whenever the server is idle.
pub(crate) const PIPELINE_NICENESS: i32 = 10;

/// The highest niceness Linux allows.
const MAX_NICENESS: i32 = 19;

/// The niceness of a pipeline thread started by a thread of niceness `current`; pure.
pub(crate) fn pipeline_niceness(current: i32) -> i32 {
    current.saturating_add(PIPELINE_NICENESS).min(MAX_NICENESS)
}

/// Makes the calling thread a pipeline thread. On Linux niceness is per thread (setpriority
/// with PRIO_PROCESS and 0 names the caller), and threads the caller starts later inherit
/// it. Elsewhere it would renice the whole process, server included, so it does nothing.
/// Lowering a priority needs no privilege; a refusal only costs the priority, so it is logged.
pub(crate) fn lower_current_thread() {
    #[cfg(target_os = "linux")]
    {
        use rustix::process::{getpriority_process, setpriority_process};
        let lowered = getpriority_process(None)
            .and_then(|current| setpriority_process(None, pipeline_niceness(current)));
        if let Err(e) = lowered {
            tracing::debug!(error = %e, "could not lower a pipeline thread's priority");
        }
    }
}

/// The calling thread's niceness.
#[cfg(all(test, target_os = "linux"))]
fn current_niceness() -> Option<i32> {
    rustix::process::getpriority_process(None).ok()
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    #[test]
    fn pipeline_threads_are_ten_levels_nicer_up_to_the_limit() {
        assert_eq!(pipeline_niceness(0), 10);
        assert_eq!(pipeline_niceness(5), 15);
        assert_eq!(pipeline_niceness(12), 19);
        assert_eq!(pipeline_niceness(19), 19);
        assert_eq!(pipeline_niceness(-5), 5);
    }

    #[cfg(target_os = "linux")]
    #[test]
    fn a_lowered_thread_is_nicer_and_its_children_inherit_it() {
        let mine = current_niceness();
        std::thread::spawn(|| {
            let before = current_niceness().unwrap();
            lower_current_thread();
            let after = current_niceness();
            assert_eq!(after, Some(pipeline_niceness(before)));
            let child = std::thread::spawn(current_niceness).join().unwrap();
            assert_eq!(child, after);
        })
        .join()
        .unwrap();
        // Only the thread that asked was lowered.
        assert_eq!(current_niceness(), mine);
    }
}
