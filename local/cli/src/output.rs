//! Writing to the terminal: a closed pipe (`copyflow executions | head -1`) ends the program
//! quietly with success instead of a panic, and text that comes from object keys or error
//! messages never reaches the terminal with its control characters (an `ESC[2J` in a key
//! must not clear the user's screen).

use std::borrow::Cow;
use std::io::Write;

/// Writes one line to stdout; exits 0 if the reader has gone away.
pub fn line(args: std::fmt::Arguments<'_>) {
    let mut out = std::io::stdout().lock();
    if let Err(e) = out.write_fmt(format_args!("{args}\n"))
        && e.kind() == std::io::ErrorKind::BrokenPipe
    {
        std::process::exit(0);
    }
}

/// `println!` that survives a closed pipe.
#[macro_export]
macro_rules! outln {
    () => { $crate::output::line(format_args!("")) };
    ($($arg:tt)*) => { $crate::output::line(format_args!($($arg)*)) };
}

/// `s` with every control character (C0, DEL, C1) written as an escape such as `\u{1b}`;
/// borrowed when there is none.
pub fn escape(s: &str) -> Cow<'_, str> {
    if !s.chars().any(char::is_control) {
        return Cow::Borrowed(s);
    }
    let mut out = String::with_capacity(s.len() + 8);
    for c in s.chars() {
        match c {
            '\n' => out.push_str("\\n"),
            '\t' => out.push_str("\\t"),
            '\r' => out.push_str("\\r"),
            c if c.is_control() => out.push_str(&format!("\\u{{{:x}}}", c as u32)),
            c => out.push(c),
        }
    }
    Cow::Owned(out)
}

#[cfg(test)]
mod tests {
    use super::escape;

    #[test]
    fn control_characters_in_keys_are_shown_escaped() {
        assert_eq!(escape("a/\u{1b}[2Jb\u{7}"), "a/\\u{1b}[2Jb\\u{7}");
        assert_eq!(escape("line\nnext\u{9b}"), "line\\nnext\\u{9b}");
        assert_eq!(escape("plain ünïcode/key.txt"), "plain ünïcode/key.txt");
    }
}
