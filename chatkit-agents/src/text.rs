//! Text cut to a length for people to read (task bodies, cards, error messages).

/// `text` cut after `max_chars` characters, with `…` when something was cut.
pub(crate) fn shorten(text: &str, max_chars: usize) -> String {
    match text.char_indices().nth(max_chars) {
        Some((end, _)) => format!("{}…", &text[..end]),
        None => text.to_owned(),
    }
}

#[cfg(test)]
mod tests {
    #[test]
    fn cuts_at_a_character_boundary() {
        assert_eq!(super::shorten("héllo", 2), "hé…");
        assert_eq!(super::shorten("héllo", 5), "héllo");
        assert_eq!(super::shorten("", 0), "");
    }
}
