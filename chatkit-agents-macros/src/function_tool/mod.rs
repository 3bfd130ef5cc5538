//! `#[function_tool]`: parsing (`args`, `docs`), classification (`params`, and the
//! signature checks in `expand`) and code generation (`expand`), each in its own file.
//! Classification collects every error before any code is generated, so a function
//! with several mistakes reports them all at once (as serde_derive does).

mod args;
mod docs;
mod expand;
mod params;

use proc_macro2::TokenStream;
use quote::quote;

/// Expands the attribute. On errors, emits the function (without the parameter
/// attributes only this macro understands) plus every error, so IDEs keep working.
pub(crate) fn expand(args: TokenStream, item: TokenStream) -> TokenStream {
    let mut function: syn::ItemFn = match syn::parse2(item.clone()) {
        Ok(function) => function,
        Err(_) => {
            let error = syn::Error::new_spanned(
                &item,
                "#[function_tool] can only be applied to a function",
            );
            return error.into_compile_error();
        }
    };
    match expand::expand(args, function.clone()) {
        Ok(tokens) => tokens,
        Err(error) => {
            params::strip_param_attributes(&mut function);
            let error = error.into_compile_error();
            quote!(#function #error)
        }
    }
}
