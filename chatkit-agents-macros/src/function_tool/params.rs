//! Sorting the parameters: the context (first only), and the schema parameters with
//! their descriptions, defaults and forwarded attributes.

use syn::spanned::Spanned;

use super::args::Errors;

/// The `&ToolContext<C>` parameter.
pub(crate) struct ContextParam {
    /// `C`, when written; `None` for `&ToolContext` without arguments (any context).
    pub(crate) inner: Option<syn::Type>,
}

/// A parameter the model fills in.
pub(crate) struct Param {
    pub(crate) ident: syn::Ident,
    pub(crate) ty: syn::Type,
    pub(crate) doc: Vec<String>,
    pub(crate) default: Option<syn::Expr>,
    pub(crate) forwarded: Vec<syn::Attribute>,
}

pub(crate) struct Params {
    pub(crate) context: Option<ContextParam>,
    pub(crate) params: Vec<Param>,
}

fn last_segment(ty: &syn::Type) -> Option<&syn::PathSegment> {
    match ty {
        syn::Type::Path(p) if p.qself.is_none() => p.path.segments.last(),
        syn::Type::Group(g) => last_segment(&g.elem),
        syn::Type::Paren(p) => last_segment(&p.elem),
        _ => None,
    }
}

fn generic_types(segment: &syn::PathSegment) -> impl Iterator<Item = &syn::Type> {
    let args = match &segment.arguments {
        syn::PathArguments::AngleBracketed(args) => Some(args.args.iter()),
        _ => None,
    };
    args.into_iter().flatten().filter_map(|arg| match arg {
        syn::GenericArgument::Type(ty) => Some(ty),
        _ => None,
    })
}

enum ContextKind {
    ByReference(Option<Box<syn::Type>>),
    ByValue,
}

/// Whether `ty` is the tool context (`&ToolContext<C>`, or wrongly `ToolContext<C>`).
fn context_kind(ty: &syn::Type) -> Option<ContextKind> {
    match ty {
        syn::Type::Reference(reference) => {
            let segment = last_segment(&reference.elem).filter(|s| s.ident == "ToolContext")?;
            Some(ContextKind::ByReference(
                generic_types(segment).next().cloned().map(Box::new),
            ))
        }
        _ => last_segment(ty)
            .filter(|s| s.ident == "ToolContext")
            .map(|_| ContextKind::ByValue),
    }
}

/// What strict mode cannot express in `ty`, when it is visible in the type's name.
fn open_type(ty: &syn::Type) -> Option<&'static str> {
    match ty {
        syn::Type::Reference(r) => open_type(&r.elem),
        syn::Type::Slice(s) => open_type(&s.elem),
        syn::Type::Array(a) => open_type(&a.elem),
        _ => {
            let segment = last_segment(ty)?;
            match segment.ident.to_string().as_str() {
                "HashMap" | "BTreeMap" | "IndexMap" | "Map" => Some("a map"),
                "Value" => Some("an arbitrary JSON value"),
                "Option" | "Vec" | "Box" | "Arc" | "Rc" | "VecDeque" => {
                    generic_types(segment).find_map(open_type)
                }
                _ => None,
            }
        }
    }
}

fn is_own_attribute(attr: &syn::Attribute) -> bool {
    ["doc", "arg", "serde", "schemars"]
        .iter()
        .any(|name| attr.path().is_ident(name))
}

/// Removes the parameter attributes this macro consumes (rustc rejects doc comments on
/// parameters, and `#[arg]` is ours).
pub(crate) fn strip_param_attributes(function: &mut syn::ItemFn) {
    for input in &mut function.sig.inputs {
        if let syn::FnArg::Typed(typed) = input {
            typed.attrs.retain(|attr| !is_own_attribute(attr));
        }
    }
}

fn parse_default(attr: &syn::Attribute) -> syn::Result<syn::Expr> {
    let mut default = None;
    attr.parse_nested_meta(|meta| {
        if meta.path.is_ident("default") {
            default = Some(meta.value()?.parse::<syn::Expr>()?);
            Ok(())
        } else {
            Err(meta.error("unknown #[arg] key; expected `default = <expression>`"))
        }
    })?;
    default.ok_or_else(|| syn::Error::new_spanned(attr, "expected #[arg(default = <expression>)]"))
}

/// Sorts the function's parameters; every problem goes to `errors`.
pub(crate) fn classify(function: &syn::ItemFn, strict: bool, errors: &mut Errors) -> Params {
    let mut context = None;
    let mut params = Vec::new();
    for (index, input) in function.sig.inputs.iter().enumerate() {
        let typed = match input {
            syn::FnArg::Receiver(receiver) => {
                errors.push(syn::Error::new_spanned(
                    receiver,
                    "#[function_tool] cannot be used on methods; write a free function (take what you need as parameters or from the context)",
                ));
                continue;
            }
            syn::FnArg::Typed(typed) => typed,
        };
        let ident = match &*typed.pat {
            syn::Pat::Ident(pat) if pat.by_ref.is_none() && pat.subpat.is_none() => {
                pat.ident.clone()
            }
            other => {
                errors.push(syn::Error::new_spanned(
                    other,
                    "tool parameters must be plain names (they become the schema's property names)",
                ));
                continue;
            }
        };
        match context_kind(&typed.ty) {
            Some(ContextKind::ByValue) => {
                errors.push(syn::Error::new_spanned(
                    &typed.ty,
                    "take the tool context by reference: `&ToolContext<...>`",
                ));
                continue;
            }
            Some(ContextKind::ByReference(inner)) => {
                if index != 0 {
                    let message = if context.is_some() {
                        "a tool takes at most one context parameter"
                    } else {
                        "the context parameter must be the first parameter"
                    };
                    errors.push(syn::Error::new_spanned(&typed.ty, message));
                } else {
                    context = Some(ContextParam {
                        inner: inner.map(|ty| *ty),
                    });
                }
                continue;
            }
            None => {}
        }
        if strict {
            if let Some(what) = open_type(&typed.ty) {
                errors.push(syn::Error::new(
                    typed.ty.span(),
                    format!("`{ident}` is {what}, which OpenAI strict mode cannot express; use a struct, or #[function_tool(strict = false)]"),
                ));
            }
        }
        let mut param = Param {
            ident,
            ty: (*typed.ty).clone(),
            doc: Vec::new(),
            default: None,
            forwarded: Vec::new(),
        };
        param.doc = super::docs::doc_lines(&typed.attrs);
        for attr in &typed.attrs {
            if attr.path().is_ident("arg") {
                match parse_default(attr) {
                    Ok(default) => param.default = Some(default),
                    Err(e) => errors.push(e),
                }
            } else if attr.path().is_ident("serde") || attr.path().is_ident("schemars") {
                param.forwarded.push(attr.clone());
            }
        }
        params.push(param);
    }
    Params { context, params }
}
