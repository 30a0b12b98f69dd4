//! Text as people type it. No field takes a control character (NUL, escape, backspace,
//! the C1 set): PostgreSQL refuses NUL in text (which surfaced as a 500), and an escape
//! sequence kept in a name reaches the terminal of whoever prints it. A one-line field
//! takes no tab or line break either; a multi-line one (a textarea) keeps them.
//!
//! Every form field that keeps or searches for text goes through [`check`], directly or
//! through a parser built on it (`parse_name`, `Email`, `NewPassword`, the card form);
//! query strings are checked whole, before any handler, by
//! `routes::refuse_control_characters`. What was stored before is shown through
//! [`escape_controls`] wherever it is printed raw (the command line).

use std::borrow::Cow;
use std::fmt::Write as _;

/// Whether a field holds one line or several.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Lines {
    One,
    Many,
}

/// The first character of `text` that a field of this kind does not take.
pub fn first_forbidden(text: &str, lines: Lines) -> Option<char> {
    text.chars().find(|c| c.is_control() && !(lines == Lines::Many && matches!(c, '\t' | '\n' | '\r')))
}

/// What to change, as sentences (`sentence` leaves them as they are).
pub const ONE_LINE: &str = "Keep this to one line, without tabs or line breaks.";
pub const CONTROL_CHARACTER: &str =
    "Remove the invisible control character (such as a NUL or an escape) from this field.";

/// Ok when `text` holds no control character (tabs and line breaks allowed in
/// [`Lines::Many`]); otherwise what to change.
pub fn check(text: &str, lines: Lines) -> Result<(), &'static str> {
    match first_forbidden(text, lines) {
        None => Ok(()),
        Some('\t' | '\n' | '\r') => Err(ONE_LINE),
        Some(_) => Err(CONTROL_CHARACTER),
    }
}

/// `text` with every control character written as a Rust-style escape (`\u{1b}`) and
/// backslashes doubled, so that printing it cannot move the cursor, recolour or retitle
/// a terminal, nor pass off an escape as the real thing.
pub fn escape_controls(text: &str) -> Cow<'_, str> {
    if !text.chars().any(|c| c.is_control() || c == '\\') {
        return Cow::Borrowed(text);
    }
    let mut escaped = String::with_capacity(text.len() + 8);
    for c in text.chars() {
        match c {
            '\\' => escaped.push_str("\\\\"),
            c if c.is_control() => {
                let _ = write!(escaped, "\\u{{{:x}}}", u32::from(c));
            }
            c => escaped.push(c),
        }
    }
    Cow::Owned(escaped)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn control_characters_are_refused_and_line_breaks_only_in_many_lines() {
        assert!(check("Acme Logistics (Pty) Ltd — Jo'burg", Lines::One).is_ok());
        assert!(check("", Lines::One).is_ok());
        assert!(check("first line\r\n\tsecond line", Lines::Many).is_ok());
        for bad in ["a\0b", "\u{1b}[31mred", "back\u{8}space", "\u{7f}", "c1 \u{9b}", "\u{85}"] {
            assert!(check(bad, Lines::One).is_err(), "{bad:?}");
            assert!(check(bad, Lines::Many).is_err(), "{bad:?}");
        }
        assert_eq!(check("a\0b", Lines::One), Err(CONTROL_CHARACTER));
        assert_eq!(first_forbidden("ok\u{1b}", Lines::Many), Some('\u{1b}'));
        for line_break in ["a\tb", "a\nb", "a\rb"] {
            assert_eq!(check(line_break, Lines::One), Err(ONE_LINE));
        }
    }

    #[test]
    fn escapes_make_control_characters_visible() {
        assert!(matches!(escape_controls("Acme Logistics"), Cow::Borrowed(_)));
        assert_eq!(escape_controls("\u{1b}]0;pwned\u{7}Acme\u{1b}[2J"), "\\u{1b}]0;pwned\\u{7}Acme\\u{1b}[2J");
        assert_eq!(escape_controls("a\0b\u{9b}c"), "a\\u{0}b\\u{9b}c");
        assert_eq!(escape_controls("already \\u{1b}"), "already \\\\u{1b}");
    }
}
