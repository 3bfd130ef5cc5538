//! Turning a caught panic into a message, for the places that catch panics at a
//! boundary (a tool's body, the template engine) and report them as typed errors.

/// The message of a caught panic (`panic!` payloads are `&str` or `String`).
pub(crate) fn panic_message(panic: &(dyn std::any::Any + Send)) -> String {
    panic
        .downcast_ref::<&str>()
        .map(|s| (*s).to_owned())
        .or_else(|| panic.downcast_ref::<String>().cloned())
        .unwrap_or_else(|| "unknown panic".to_owned())
}
