//! The page, compiled into the binary: no build step, nothing fetched at run time.

/// The single page (executions list and execution view).
pub(super) const INDEX: &str = include_str!("assets/index.html");
/// Its script.
pub(super) const APP: &str = include_str!("assets/app.js");
/// Its style.
pub(super) const STYLE: &str = include_str!("assets/style.css");
