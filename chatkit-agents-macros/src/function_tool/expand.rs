//! Code generation: the tool struct, the arguments struct and the `Tool` impl.

use proc_macro2::TokenStream;
use quote::{format_ident, quote, quote_spanned};
use syn::spanned::Spanned;

use super::args::{valid_tool_name, Errors, NeedsApproval, ToolArgs};
use super::params::Params;
use super::{docs, params};

/// How the function's return value becomes the model's output.
enum Output {
    /// `String`, `&str`, `Cow<str>`: the text itself.
    Text,
    /// Anything else: JSON.
    Json,
    /// `Result<T, E>`: `T` as above, `E` fails the call.
    Result(Box<Output>),
}

fn output_kind(ret: &syn::ReturnType) -> Output {
    match ret {
        syn::ReturnType::Default => Output::Json,
        syn::ReturnType::Type(_, ty) => type_output(ty),
    }
}

fn type_output(ty: &syn::Type) -> Output {
    match ty {
        syn::Type::Reference(r) if matches!(&*r.elem, syn::Type::Path(p) if p.path.is_ident("str")) => {
            Output::Text
        }
        syn::Type::Path(p) => match p.path.segments.last() {
            Some(segment) if segment.ident == "String" || segment.ident == "Cow" => Output::Text,
            Some(segment) if segment.ident == "Result" => {
                let ok = match &segment.arguments {
                    syn::PathArguments::AngleBracketed(args) => {
                        args.args.iter().find_map(|a| match a {
                            syn::GenericArgument::Type(t) => Some(t),
                            _ => None,
                        })
                    }
                    _ => None,
                };
                Output::Result(Box::new(ok.map_or(Output::Json, type_output)))
            }
            _ => Output::Json,
        },
        _ => Output::Json,
    }
}

fn convert(kind: &Output, value: TokenStream, name: &str, krate: &TokenStream) -> TokenStream {
    match kind {
        Output::Text => quote!(#krate::__private::text_output(#value)),
        Output::Json => quote!(#krate::__private::json_output(#name, &#value)),
        Output::Result(ok) => {
            let ok = convert(ok, quote!(__value), name, krate);
            quote! {
                match #value {
                    ::core::result::Result::Ok(__value) => #ok,
                    ::core::result::Result::Err(__error) => ::core::result::Result::Err(#krate::__private::failed(#name, __error)),
                }
            }
        }
    }
}

/// What classification found out about a tool function, all checked.
struct ToolFn {
    args: ToolArgs,
    /// The tool's name.
    name: String,
    /// The model-facing description (the doc comment, unless `description` is given).
    description: String,
    /// Descriptions from the doc comment's `# Arguments` list, by parameter name.
    argument_docs: std::collections::HashMap<String, String>,
    params: Params,
    is_async: bool,
    /// The path generated code names the library by: `::chatkit_agents`, or the
    /// attribute's `crate = "..."`.
    krate: TokenStream,
}

/// Checks the attribute and the function, reporting every error at once.
fn classify(args: TokenStream, function: &syn::ItemFn) -> syn::Result<ToolFn> {
    let mut errors = Errors::default();
    let args = ToolArgs::parse(args, &mut errors);
    let name = tool_name(&args, function, &mut errors);
    check_signature(&args, function, &mut errors);
    let params = params::classify(function, args.strict, &mut errors);
    errors.finish()?;
    let (description, argument_docs) = docs::parse(&docs::doc_lines(&function.attrs));
    let description = args
        .description
        .as_ref()
        .map_or(description, syn::LitStr::value);
    let krate = match &args.krate {
        Some(path) => quote!(#path),
        None => quote!(::chatkit_agents),
    };
    Ok(ToolFn {
        krate,
        name,
        description,
        argument_docs,
        params,
        is_async: function.sig.asyncness.is_some(),
        args,
    })
}

/// The tool's name: `name = "..."`, or the function's name if it is a valid tool name.
fn tool_name(args: &ToolArgs, function: &syn::ItemFn, errors: &mut Errors) -> String {
    if let Some(name) = &args.name {
        return name.value();
    }
    let fn_name = function.sig.ident.to_string();
    let name = fn_name.strip_prefix("r#").unwrap_or(&fn_name).to_owned();
    if !valid_tool_name(&name) {
        errors.push(syn::Error::new_spanned(
            &function.sig.ident,
            "this function's name is not a valid tool name; set one with #[function_tool(name = \"...\")]",
        ));
    }
    name
}

/// What a tool function cannot be: generic, variadic, or blocking with a timeout.
fn check_signature(args: &ToolArgs, function: &syn::ItemFn, errors: &mut Errors) {
    let sig = &function.sig;
    if !sig.generics.params.is_empty() {
        errors.push(syn::Error::new_spanned(
            &sig.generics,
            "tool functions cannot be generic: the schema needs concrete types",
        ));
    }
    if let Some(variadic) = &sig.variadic {
        errors.push(syn::Error::new_spanned(
            variadic,
            "tool functions cannot be variadic",
        ));
    }
    if let (None, Some((_, span))) = (sig.asyncness, args.timeout_millis) {
        errors.push(syn::Error::new(
            span,
            "`timeout` needs an async function (a blocking function cannot be stopped)",
        ));
    }
}

/// Expands `#[function_tool(args)]` on `function`, or every error found in them.
pub(crate) fn expand(args: TokenStream, function: syn::ItemFn) -> syn::Result<TokenStream> {
    let tool = classify(args, &function)?;
    Ok(generate(&tool, function))
}

/// The fields of the arguments struct, and the functions giving their defaults.
fn argument_fields(tool: &ToolFn) -> (Vec<TokenStream>, Vec<TokenStream>) {
    let krate = &tool.krate;
    let mut fields = Vec::new();
    let mut default_fns = Vec::new();
    for param in &tool.params.params {
        let ident = &param.ident;
        let ty = &param.ty;
        let doc = tool
            .argument_docs
            .get(&ident.to_string())
            .cloned()
            .unwrap_or_else(|| param.doc.join("\n").trim().to_owned());
        let doc = (!doc.is_empty()).then(|| quote!(#[doc = #doc]));
        let forwarded = &param.forwarded;
        let default = param.default.as_ref().map(|expr| {
            let default_fn = format_ident!("__default_{}", ident);
            let fn_path = default_fn.to_string();
            // A string literal becomes the parameter's type (`String`, `Cow<str>`, ...)
            // through `Into`; other expressions must have the type already (so float and
            // integer literals keep their usual inference).
            let value = match expr {
                syn::Expr::Lit(syn::ExprLit {
                    lit: syn::Lit::Str(_),
                    ..
                }) => quote_spanned!(expr.span()=> ::core::convert::Into::<#ty>::into(#expr)),
                _ => quote!(#expr),
            };
            default_fns.push(quote_spanned! {expr.span()=>
                #[allow(non_snake_case)]
                fn #default_fn() -> #ty {
                    const _: () = #krate::__private::assert_serializable_default::<#ty>();
                    #value
                }
            });
            quote!(#[serde(default = #fn_path)])
        });
        fields.push(quote! { #doc #default #(#forwarded)* #ident: #ty });
    }
    (fields, default_fns)
}

/// The call of the original function with the parsed arguments: awaited under the
/// tool's timeout, or run on the blocking pool.
fn call_expression(tool: &ToolFn, fn_name: &syn::Ident) -> TokenStream {
    let krate = &tool.krate;
    let name = &tool.name;
    let field_names: Vec<_> = tool.params.params.iter().map(|p| &p.ident).collect();
    let context = tool.params.context.as_ref();
    if tool.is_async {
        let context_arg = context.map(|_| quote!(__ctx,));
        let timeout = match tool.args.timeout_millis {
            Some((millis, _)) => {
                quote!(::core::option::Option::Some(::std::time::Duration::from_millis(#millis)))
            }
            None => quote!(::core::option::Option::None),
        };
        quote! {
            #krate::__private::run(#name, #timeout, #fn_name::call(#context_arg #(#field_names),*)).await?
        }
    } else {
        let clone_context =
            context.map(|_| quote!(let __ctx = ::core::clone::Clone::clone(__ctx);));
        let context_ref = context.map(|_| quote!(&__ctx,));
        quote! {{
            #clone_context
            #krate::__private::run_blocking(#name, move || #fn_name::call(#context_ref #(#field_names),*)).await?
        }}
    }
}

/// The `impl` generics and context type of the `Tool` impl, and its `where` clause: a
/// tool written for `&ToolContext<C>` is a tool for `C`; one without a context (or with
/// `&ToolContext`) for any context (which blocking tools clone onto the blocking pool,
/// so it must be `Clone` there).
fn tool_generics(tool: &ToolFn) -> (TokenStream, TokenStream, Option<TokenStream>) {
    let context = tool.params.context.as_ref();
    match context.and_then(|c| c.inner.clone()) {
        Some(inner) => (quote!(), quote!(#inner), None),
        None => {
            let clone_bound = (context.is_some() && !tool.is_async)
                .then(|| quote!(where __C: ::core::clone::Clone));
            (
                quote!(<__C: ::core::marker::Send + ::core::marker::Sync + 'static>),
                quote!(__C),
                clone_bound,
            )
        }
    }
}

/// The original function, kept callable as `name::call`, and the doc attributes that
/// move to the tool struct.
fn callable(mut function: syn::ItemFn) -> (syn::ItemFn, Vec<syn::Attribute>) {
    params::strip_param_attributes(&mut function);
    let docs: Vec<_> = function
        .attrs
        .iter()
        .filter(|a| a.path().is_ident("doc"))
        .cloned()
        .collect();
    function.attrs.retain(|a| !a.path().is_ident("doc"));
    function.sig.ident = format_ident!("call", span = function.sig.ident.span());
    (function, docs)
}

/// `Tool::needs_approval`, unless calls never need approval.
fn approval_check(tool: &ToolFn, context_ty: &TokenStream) -> Option<TokenStream> {
    let krate = &tool.krate;
    let body = match &tool.args.needs_approval {
        NeedsApproval::Never => return None,
        NeedsApproval::Always => {
            quote!(::std::boxed::Box::pin(::core::future::ready(true)))
        }
        NeedsApproval::When(predicate) => {
            quote!(#krate::__private::approval_rule(#predicate, __ctx, arguments))
        }
    };
    Some(quote! {
        fn needs_approval<'a>(
            &'a self,
            __ctx: &'a #krate::agents::ToolContext<#context_ty>,
            arguments: &'a str,
        ) -> #krate::futures::future::BoxFuture<'a, bool> {
            #body
        }
    })
}

/// The tool struct, the arguments struct and the `Tool` impl.
fn generate(tool: &ToolFn, function: syn::ItemFn) -> TokenStream {
    let krate = &tool.krate;
    // serde and schemars take their crate's path as a string.
    let serde_crate = format!("{krate}::__private::serde");
    let schemars_crate = format!("{krate}::__private::schemars");
    let fn_name = function.sig.ident.clone();
    let vis = function.vis.clone();
    let name = &tool.name;
    let description = &tool.description;
    let strict = tool.args.strict;
    let (fields, default_fns) = argument_fields(tool);
    let field_names: Vec<_> = tool.params.params.iter().map(|p| &p.ident).collect();
    let deny_unknown = strict.then(|| quote!(#[serde(deny_unknown_fields)]));
    let run = call_expression(tool, &fn_name);
    let output = convert(
        &output_kind(&function.sig.output),
        quote!(__value),
        name,
        krate,
    );
    let (impl_generics, context_ty, clone_bound) = tool_generics(tool);
    let unused_context = tool
        .params
        .context
        .is_none()
        .then(|| quote!(let _ = __ctx;));
    let format_failure = tool.args.error_formatter.as_ref().map(|formatter| {
        quote! {
            fn format_failure(&self, failure: &#krate::agents::ToolFailure) -> ::core::option::Option<::std::string::String> {
                ::core::option::Option::Some(#formatter(failure))
            }
        }
    });
    let needs_approval = approval_check(tool, &context_ty);
    let (function, docs) = callable(function);
    let struct_doc = (docs.is_empty()).then(|| {
        let text = format!("The `{name}` tool.");
        quote!(#[doc = #text])
    });

    quote! {
        #(#docs)*
        #struct_doc
        #[allow(non_camel_case_types)]
        #[derive(Debug, Clone, Copy, Default)]
        #vis struct #fn_name;

        impl #fn_name {
            /// Calls the function as written, without going through the tool machinery.
            #function
        }

        const _: () = {
            #[derive(#krate::__private::serde::Deserialize, #krate::__private::schemars::JsonSchema)]
            #[serde(crate = #serde_crate)]
            #[schemars(crate = #schemars_crate)]
            #deny_unknown
            struct __Arguments {
                #(#fields,)*
            }

            #(#default_fns)*

            impl #fn_name {
                /// The tool as the model sees it: its name, description and JSON schema.
                #vis fn definition(&self) -> ::core::result::Result<&'static #krate::agents::ToolDefinition, #krate::agents::ToolSchemaError> {
                    static DEFINITION: #krate::__private::DefinitionCell = #krate::__private::DefinitionCell::new();
                    #krate::__private::definition::<__Arguments>(&DEFINITION, #name, #description, #strict)
                }
            }

            impl #impl_generics #krate::agents::Tool<#context_ty> for #fn_name #clone_bound {
                fn definition(&self) -> ::core::result::Result<&#krate::agents::ToolDefinition, #krate::agents::ToolSchemaError> {
                    #fn_name::definition(self)
                }

                fn invoke<'a>(
                    &'a self,
                    __ctx: &'a #krate::agents::ToolContext<#context_ty>,
                    arguments: &'a str,
                ) -> #krate::futures::future::BoxFuture<'a, ::core::result::Result<::std::string::String, #krate::agents::ToolFailure>> {
                    ::std::boxed::Box::pin(async move {
                        #unused_context
                        let __Arguments { #(#field_names),* } = #krate::__private::parse_arguments::<__Arguments>(#name, arguments)?;
                        let __value = #run;
                        #output
                    })
                }

                #format_failure

                #needs_approval
            }
        };
    }
}
