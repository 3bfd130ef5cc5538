//! Compile-time behaviour of `#[function_tool]`: what compiles, and the exact errors
//! (with spans) for what does not. Refresh the `.stderr` files after an intended change
//! with `TRYBUILD=overwrite cargo test -p chatkit-agents-macros --test ui`.

#[test]
fn ui() {
    let cases = trybuild::TestCases::new();
    cases.pass("tests/ui/pass/*.rs");
    cases.compile_fail("tests/ui/fail/*.rs");
}
