//! Doc comments: the tool description and the `# Arguments` list.

use std::collections::HashMap;

/// The text of the `#[doc = "..."]` attributes, one line each, with the single space
/// rustdoc puts after `///` removed.
pub(crate) fn doc_lines(attrs: &[syn::Attribute]) -> Vec<String> {
    let mut lines = Vec::new();
    for attr in attrs {
        if !attr.path().is_ident("doc") {
            continue;
        }
        if let syn::Meta::NameValue(nv) = &attr.meta {
            if let syn::Expr::Lit(syn::ExprLit {
                lit: syn::Lit::Str(text),
                ..
            }) = &nv.value
            {
                // `split`, not `lines`: a blank `///` line is `#[doc = ""]`, whose
                // `lines()` is empty, and dropping it would run paragraphs together.
                for line in text.value().split('\n') {
                    let line = line.strip_suffix('\r').unwrap_or(line);
                    lines.push(line.strip_prefix(' ').unwrap_or(line).to_owned());
                }
            }
        }
    }
    lines
}

fn is_arguments_heading(line: &str) -> bool {
    let line = line.trim();
    line.starts_with('#') && {
        let title = line.trim_start_matches('#').trim().to_ascii_lowercase();
        matches!(title.as_str(), "arguments" | "args" | "parameters")
    }
}

/// Splits a doc comment into the description (everything before the arguments section,
/// as the Python SDK takes everything before `Args:`) and the per-argument descriptions.
pub(crate) fn parse(lines: &[String]) -> (String, HashMap<String, String>) {
    let split = lines
        .iter()
        .position(|l| is_arguments_heading(l))
        .unwrap_or(lines.len());
    let description = lines[..split].join("\n").trim().to_owned();
    let mut arguments: HashMap<String, String> = HashMap::new();
    let mut current: Option<String> = None;
    for line in lines.iter().skip(split + 1) {
        let trimmed = line.trim();
        if trimmed.starts_with('#') {
            break; // the next section
        }
        if let Some((name, text)) = argument_entry(trimmed) {
            arguments.insert(name.clone(), text);
            current = Some(name);
        } else if trimmed.is_empty() {
            current = None;
        } else if let Some(entry) = current.as_ref().and_then(|name| arguments.get_mut(name)) {
            entry.push('\n');
            entry.push_str(trimmed);
        }
    }
    (description, arguments)
}

/// `* `name` - text`, `- `name`: text` (and without backticks).
fn argument_entry(line: &str) -> Option<(String, String)> {
    let rest = line
        .strip_prefix('*')
        .or_else(|| line.strip_prefix('-'))?
        .trim_start();
    let (name, rest) = if let Some(rest) = rest.strip_prefix('`') {
        let end = rest.find('`')?;
        (&rest[..end], &rest[end + 1..])
    } else {
        let end = rest.find(|c: char| !(c.is_alphanumeric() || c == '_'))?;
        (&rest[..end], &rest[end..])
    };
    let text = rest
        .trim_start()
        .strip_prefix('-')
        .or_else(|| rest.trim_start().strip_prefix(':'))?
        .trim();
    (!name.is_empty()).then(|| (name.to_owned(), text.to_owned()))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn lines(text: &str) -> Vec<String> {
        text.lines().map(str::to_owned).collect()
    }

    #[test]
    fn description_and_arguments() {
        let (description, args) = parse(&lines(
            "Get the weather.\n\nMore detail.\n\n# Arguments\n\n* `city` - The city\n  to look up.\n- `units`: Units.\n* days - How many.\n\n# Errors\n* `x` - not an argument",
        ));
        assert_eq!(description, "Get the weather.\n\nMore detail.");
        assert_eq!(args["city"], "The city\nto look up.");
        assert_eq!(args["units"], "Units.");
        assert_eq!(args["days"], "How many.");
        assert!(!args.contains_key("x"));
    }

    fn doc_attrs(texts: &[&str]) -> Vec<syn::Attribute> {
        texts
            .iter()
            .map(|text| syn::parse_quote!(#[doc = #text]))
            .collect()
    }

    #[test]
    fn line_and_block_comments_give_the_same_lines() {
        // `/// One.`, `///`, `/// Two.` and `/** One.\n\n Two. */`.
        let line_style = doc_lines(&doc_attrs(&[" One.", "", " Two."]));
        let block_style = doc_lines(&doc_attrs(&[" One.\n\n Two."]));
        assert_eq!(line_style, ["One.", "", "Two."]);
        assert_eq!(parse(&line_style).0, "One.\n\nTwo.");
        assert_eq!(parse(&line_style), parse(&block_style));
    }

    #[test]
    fn a_paragraph_after_the_arguments_belongs_to_no_argument() {
        let lines = doc_lines(&doc_attrs(&[
            " Get it.",
            "",
            " # Arguments",
            "",
            " * `city` - The city.",
            "",
            " Returns the weather.",
        ]));
        let (description, args) = parse(&lines);
        assert_eq!(description, "Get it.");
        assert_eq!(args["city"], "The city.");
    }

    #[test]
    fn no_arguments_section() {
        let (description, args) = parse(&lines("Just this."));
        assert_eq!(description, "Just this.");
        assert!(args.is_empty());
        assert_eq!(parse(&[]).0, "");
    }
}
