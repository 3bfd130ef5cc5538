//! Code generation: the tool struct, the arguments struct and the `Tool` impl.

use proc_macro2::TokenStream;
use quote::{format_ident, quote, quote_spanned};
use syn::spanned::Spanned;

use super::args::{valid_tool_name, ToolArgs};
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

fn convert(kind: &Output, value: TokenStream, name: &str) -> TokenStream {
    match kind {
        Output::Text => quote!(::chatkit_agents::__private::text_output(#value)),
        Output::Json => quote!(::chatkit_agents::__private::json_output(#name, &#value)),
        Output::Result(ok) => {
            let ok = convert(ok, quote!(__value), name);
            quote! {
                match #value {
                    ::core::result::Result::Ok(__value) => #ok,
                    ::core::result::Result::Err(__error) => ::core::result::Result::Err(::chatkit_agents::__private::failed(#name, __error)),
                }
            }
        }
    }
}

pub(crate) fn expand(args: ToolArgs, mut function: syn::ItemFn) -> syn::Result<TokenStream> {
    let fn_name = function.sig.ident.clone();
    let name = match &args.name {
        Some(name) => name.value(),
        None => {
            let name = fn_name.to_string();
            let name = name.strip_prefix("r#").unwrap_or(&name).to_owned();
            if !valid_tool_name(&name) {
                return Err(syn::Error::new_spanned(&fn_name, "this function's name is not a valid tool name; set one with #[function_tool(name = \"...\")]"));
            }
            name
        }
    };
    if !function.sig.generics.params.is_empty() {
        return Err(syn::Error::new_spanned(
            &function.sig.generics,
            "tool functions cannot be generic: the schema needs concrete types",
        ));
    }
    if let Some(variadic) = &function.sig.variadic {
        return Err(syn::Error::new_spanned(
            variadic,
            "tool functions cannot be variadic",
        ));
    }
    let is_async = function.sig.asyncness.is_some();
    if let (false, Some((_, span))) = (is_async, args.timeout_millis) {
        return Err(syn::Error::new(
            span,
            "`timeout` needs an async function (a blocking function cannot be stopped)",
        ));
    }
    let classified = params::classify(&function, args.strict)?;

    let (description, argument_docs) = docs::parse(&docs::doc_lines(&function.attrs));
    let description = args
        .description
        .as_ref()
        .map_or(description, syn::LitStr::value);
    let strict = args.strict;

    // The arguments struct.
    let mut fields = Vec::new();
    let mut default_fns = Vec::new();
    for param in &classified.params {
        let ident = &param.ident;
        let ty = &param.ty;
        let doc = argument_docs
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
                    const _: () = ::chatkit_agents::__private::assert_serializable_default::<#ty>();
                    #value
                }
            });
            quote!(#[serde(default = #fn_path)])
        });
        fields.push(quote! { #doc #default #(#forwarded)* #ident: #ty });
    }
    let field_names: Vec<_> = classified.params.iter().map(|p| &p.ident).collect();
    let deny_unknown = strict.then(|| quote!(#[serde(deny_unknown_fields)]));

    // The call of the original function.
    let context_arg = classified.context.as_ref().map(|_| quote!(__ctx,));
    let timeout = match args.timeout_millis {
        Some((millis, _)) => {
            quote!(::core::option::Option::Some(::std::time::Duration::from_millis(#millis)))
        }
        None => quote!(::core::option::Option::None),
    };
    let run = if is_async {
        quote! {
            ::chatkit_agents::__private::run(#name, #timeout, #fn_name::call(#context_arg #(#field_names),*)).await?
        }
    } else {
        let clone_context = classified
            .context
            .as_ref()
            .map(|_| quote!(let __ctx = ::core::clone::Clone::clone(__ctx);));
        let context_ref = classified.context.as_ref().map(|_| quote!(&__ctx,));
        quote! {{
            #clone_context
            ::chatkit_agents::__private::run_blocking(#name, move || #fn_name::call(#context_ref #(#field_names),*)).await?
        }}
    };
    let output = convert(&output_kind(&function.sig.output), quote!(__value), &name);

    let (impl_generics, context_ty) =
        match classified.context.as_ref().and_then(|c| c.inner.clone()) {
            Some(inner) => (quote!(), quote!(#inner)),
            None => (
                quote!(<__C: ::core::marker::Send + ::core::marker::Sync + 'static>),
                quote!(__C),
            ),
        };
    // Blocking tools clone the context onto the blocking pool, so a generic one must be Clone.
    let clone_bound = (classified.context.is_some()
        && !is_async
        && classified
            .context
            .as_ref()
            .is_some_and(|c| c.inner.is_none()))
    .then(|| quote!(where __C: ::core::clone::Clone));
    let unused_context = classified.context.is_none().then(|| quote!(let _ = __ctx;));
    let format_failure = args.error_formatter.as_ref().map(|formatter| {
        quote! {
            fn format_failure(&self, failure: &::chatkit_agents::agents::ToolFailure) -> ::core::option::Option<::std::string::String> {
                ::core::option::Option::Some(#formatter(failure))
            }
        }
    });

    // The original function, kept callable as `name::call`.
    params::strip_param_attributes(&mut function);
    let docs: Vec<_> = function
        .attrs
        .iter()
        .filter(|a| a.path().is_ident("doc"))
        .cloned()
        .collect();
    function.attrs.retain(|a| !a.path().is_ident("doc"));
    let vis = function.vis.clone();
    function.sig.ident = format_ident!("call", span = fn_name.span());
    let struct_doc = (docs.is_empty()).then(|| {
        let text = format!("The `{name}` tool.");
        quote!(#[doc = #text])
    });

    Ok(quote! {
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
            #[derive(::chatkit_agents::__private::serde::Deserialize, ::chatkit_agents::__private::schemars::JsonSchema)]
            #[serde(crate = "::chatkit_agents::__private::serde")]
            #[schemars(crate = "::chatkit_agents::__private::schemars")]
            #deny_unknown
            struct __Arguments {
                #(#fields,)*
            }

            #(#default_fns)*

            impl #impl_generics ::chatkit_agents::agents::Tool<#context_ty> for #fn_name #clone_bound {
                fn definition(&self) -> ::core::result::Result<&::chatkit_agents::agents::ToolDefinition, ::chatkit_agents::agents::ToolSchemaError> {
                    static DEFINITION: ::chatkit_agents::__private::DefinitionCell = ::chatkit_agents::__private::DefinitionCell::new();
                    ::chatkit_agents::__private::definition::<__Arguments>(&DEFINITION, #name, #description, #strict)
                }

                fn invoke<'a>(
                    &'a self,
                    __ctx: &'a ::chatkit_agents::agents::ToolContext<#context_ty>,
                    arguments: &'a str,
                ) -> ::chatkit_agents::futures::future::BoxFuture<'a, ::core::result::Result<::std::string::String, ::chatkit_agents::agents::ToolFailure>> {
                    ::std::boxed::Box::pin(async move {
                        #unused_context
                        let __Arguments { #(#field_names),* } = ::chatkit_agents::__private::parse_arguments::<__Arguments>(#name, arguments)?;
                        let __value = #run;
                        #output
                    })
                }

                #format_failure
            }
        };
    })
}
