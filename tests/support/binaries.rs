//! Where the three Lambda binaries of this checkout are, freshly built.
//!
//! `cargo test` builds the binaries of a package only for that package's own integration
//! tests, so these tests build them: `cargo build --workspace --bins --tests`, the same
//! targets and features as `cargo test --workspace`, so every dependency is already built and
//! only the three binaries are linked (about a second). `COPYFLOW_LAMBDA_BINARIES=DIR` uses
//! binaries built elsewhere instead.

use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::OnceLock;

/// The directory holding `validate-key`, `copy-object` and `verify-copy`.
pub(crate) fn dir() -> &'static Path {
    static DIR: OnceLock<PathBuf> = OnceLock::new();
    DIR.get_or_init(|| {
        if let Some(dir) = std::env::var_os("COPYFLOW_LAMBDA_BINARIES") {
            return PathBuf::from(dir);
        }
        // target/<profile>/deps/<this test> -> target/<profile>
        let exe = std::env::current_exe().unwrap();
        let profile_dir = exe.parent().unwrap().parent().unwrap().to_owned();
        let target_dir = profile_dir.parent().unwrap().to_owned();
        let release = profile_dir.file_name().is_some_and(|n| n == "release");
        let cargo = std::env::var("CARGO").unwrap_or_else(|_| "cargo".to_owned());
        let workspace = Path::new(env!("CARGO_MANIFEST_DIR")).parent().unwrap();
        let mut build = Command::new(cargo);
        build
            .current_dir(workspace)
            .args(["build", "--workspace", "--bins", "--tests", "--locked"])
            .env("CARGO_TARGET_DIR", &target_dir);
        // What cargo sets for this test process would leak into the build scripts'
        // rerun-if-env-changed checks (ring's reads CARGO_PKG_NAME and CARGO_MANIFEST_DIR)
        // and rebuild them each time: the build gets the environment cargo was started with.
        for (name, _) in std::env::vars_os() {
            let name = name.to_string_lossy();
            if name.starts_with("CARGO_PKG_")
                || name.starts_with("CARGO_BIN_")
                || [
                    "CARGO_MANIFEST_DIR",
                    "CARGO_MANIFEST_PATH",
                    "CARGO_MANIFEST_LINKS",
                    "CARGO_CRATE_NAME",
                    "CARGO_PRIMARY_PACKAGE",
                    "CARGO_TARGET_TMPDIR",
                    "OUT_DIR",
                ]
                .contains(&name.as_ref())
            {
                build.env_remove(name.as_ref());
            }
        }
        if release {
            build.arg("--release");
        }
        let out = build.output().unwrap();
        assert!(
            out.status.success(),
            "building the Lambda binaries failed:\n{}",
            String::from_utf8_lossy(&out.stderr)
        );
        profile_dir
    })
}
