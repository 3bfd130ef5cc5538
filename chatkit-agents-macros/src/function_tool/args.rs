//! The attribute's keys: `name`, `description`, `strict`, `timeout`, `error_formatter`,
//! `needs_approval`, `crate`.

use proc_macro2::TokenStream;
use syn::parse::Parser;
use syn::spanned::Spanned;

pub(crate) struct ToolArgs {
    pub(crate) name: Option<syn::LitStr>,
    pub(crate) description: Option<syn::LitStr>,
    pub(crate) strict: bool,
    pub(crate) timeout_millis: Option<(u64, proc_macro2::Span)>,
    pub(crate) error_formatter: Option<syn::Path>,
    pub(crate) needs_approval: NeedsApproval,
    /// Where the library is when it is not `::chatkit_agents` (renamed, or re-exported).
    pub(crate) krate: Option<syn::Path>,
}

/// When a call waits for a person's approval.
pub(crate) enum NeedsApproval {
    Never,
    Always,
    /// When this async function of the context and the arguments says so.
    When(syn::Path),
}

/// Collects several errors into one, as serde_derive does.
#[derive(Default)]
pub(crate) struct Errors(Option<syn::Error>);

impl Errors {
    pub(crate) fn push(&mut self, error: syn::Error) {
        match &mut self.0 {
            Some(all) => all.combine(error),
            None => self.0 = Some(error),
        }
    }

    /// Every error pushed, combined, if there was one.
    pub(crate) fn finish(self) -> syn::Result<()> {
        self.0.map_or(Ok(()), Err)
    }
}

/// Whether `name` is a valid OpenAI tool name: `^[A-Za-z0-9_-]{1,64}$`.
pub(crate) fn valid_tool_name(name: &str) -> bool {
    (1..=64).contains(&name.len())
        && name
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'_' || b == b'-')
}

/// Parses `500ms`, `5s`, `1.5s`, `2m` into milliseconds.
fn parse_duration(text: &str) -> Option<u64> {
    let text = text.trim();
    let (number, unit_ms) = if let Some(n) = text.strip_suffix("ms") {
        (n, 1.0)
    } else if let Some(n) = text.strip_suffix('s') {
        (n, 1000.0)
    } else if let Some(n) = text.strip_suffix('m') {
        (n, 60_000.0)
    } else {
        return None;
    };
    let value: f64 = number.trim().parse().ok()?;
    let millis = value * unit_ms;
    (millis.is_finite() && millis >= 1.0 && millis <= u64::MAX as f64)
        .then_some(millis.round() as u64)
}

impl Default for ToolArgs {
    fn default() -> Self {
        ToolArgs {
            name: None,
            description: None,
            strict: true,
            timeout_millis: None,
            error_formatter: None,
            needs_approval: NeedsApproval::Never,
            krate: None,
        }
    }
}

impl ToolArgs {
    /// The keys as far as they parse; every problem goes to `errors`, so that the
    /// function's own mistakes are reported beside them.
    pub(crate) fn parse(tokens: TokenStream, errors: &mut Errors) -> Self {
        let mut args = ToolArgs::default();
        let parser = syn::meta::parser(|meta| {
            if meta.path.is_ident("name") {
                let name: syn::LitStr = meta.value()?.parse()?;
                if !valid_tool_name(&name.value()) {
                    errors.push(syn::Error::new(
                        name.span(),
                        "tool names must match ^[A-Za-z0-9_-]{1,64}$ (letters, digits, `_` and `-`, at most 64)",
                    ));
                }
                args.name = Some(name);
            } else if meta.path.is_ident("description") {
                args.description = Some(meta.value()?.parse()?);
            } else if meta.path.is_ident("strict") {
                let strict: syn::LitBool = meta.value()?.parse()?;
                args.strict = strict.value;
            } else if meta.path.is_ident("timeout") {
                let timeout: syn::LitStr = meta.value()?.parse()?;
                match parse_duration(&timeout.value()) {
                    Some(millis) => args.timeout_millis = Some((millis, timeout.span())),
                    None => errors.push(syn::Error::new(
                        timeout.span(),
                        "timeout must be a duration such as \"500ms\", \"5s\", \"1.5s\" or \"2m\"",
                    )),
                }
            } else if meta.path.is_ident("crate") {
                let path: syn::LitStr = meta.value()?.parse()?;
                match path.parse::<syn::Path>() {
                    Ok(parsed) => args.krate = Some(parsed),
                    Err(_) => errors.push(syn::Error::new(
                        path.span(),
                        "crate must be the path of the chatkit_agents crate, such as \"::my_chatkit\" or \"my_sdk::chatkit\"",
                    )),
                }
            } else if meta.path.is_ident("error_formatter") {
                args.error_formatter = Some(meta.value()?.parse()?);
            } else if meta.path.is_ident("needs_approval") {
                args.needs_approval = if meta.input.peek(syn::Token![=]) {
                    match meta.value()?.parse::<syn::Expr>()? {
                        syn::Expr::Lit(syn::ExprLit {
                            lit: syn::Lit::Bool(b),
                            ..
                        }) if b.value => NeedsApproval::Always,
                        syn::Expr::Lit(syn::ExprLit {
                            lit: syn::Lit::Bool(_),
                            ..
                        }) => NeedsApproval::Never,
                        syn::Expr::Path(path) => NeedsApproval::When(path.path),
                        other => {
                            errors.push(syn::Error::new(
                                other.span(),
                                "needs_approval takes no value, a bool, or the path of an async fn(&ToolContext<C>, T) -> bool",
                            ));
                            NeedsApproval::Never
                        }
                    }
                } else {
                    NeedsApproval::Always
                };
            } else {
                errors.push(syn::Error::new(
                    meta.path.span(),
                    "unknown #[function_tool] key; expected name, description, strict, timeout, error_formatter, needs_approval or crate",
                ));
                // Skip the value so parsing can go on and report other problems too.
                if meta.input.peek(syn::Token![=]) {
                    let _: syn::Expr = meta.value()?.parse()?;
                }
            }
            Ok(())
        });
        if let Err(error) = parser.parse2(tokens) {
            errors.push(error);
        }
        args
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tool_names() {
        assert!(valid_tool_name("get_weather-2"));
        assert!(!valid_tool_name(""));
        assert!(!valid_tool_name("has space"));
        assert!(!valid_tool_name(&"x".repeat(65)));
        assert!(valid_tool_name(&"x".repeat(64)));
    }

    #[test]
    fn durations() {
        assert_eq!(parse_duration("500ms"), Some(500));
        assert_eq!(parse_duration("5s"), Some(5000));
        assert_eq!(parse_duration("1.5s"), Some(1500));
        assert_eq!(parse_duration("2m"), Some(120_000));
        assert_eq!(parse_duration("0s"), None);
        assert_eq!(parse_duration("soon"), None);
    }
}
