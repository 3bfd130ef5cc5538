//! The stand-in for a streamed text field while a template is checked for linear
//! streaming ([`crate::widgets::WidgetSource::template`]).
//!
//! A template qualifies when it only ever writes the field with `tojson`: then the
//! rendered widget holds the field's text verbatim in one place and nothing else in it
//! depends on the text, so appending to the field appends to that one value. The check
//! renders the template once with a [`StreamedField`] in the field's place. `tojson`
//! writes it as its sentinel string; any other use goes through one of its [`Object`]
//! methods (printing, `~`, filters taking text, truth, length, indexing, attributes,
//! methods, calls), each of which marks the render as not linear.

use std::fmt;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::Arc;

use minijinja::value::{Enumerator, Object, ObjectRepr};
use minijinja::{Error, ErrorKind, State, Value};

/// A streamed field's stand-in during the linearity check.
#[derive(Debug)]
pub(crate) struct StreamedField {
    sentinel: String,
    written: AtomicUsize,
    other_use: AtomicBool,
}

impl StreamedField {
    /// A stand-in whose `tojson` is `"<sentinel>"`. The sentinel must need no escaping.
    pub(crate) fn new(sentinel: String) -> Arc<Self> {
        debug_assert!(sentinel
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'_'));
        Arc::new(StreamedField {
            sentinel,
            written: AtomicUsize::new(0),
            other_use: AtomicBool::new(false),
        })
    }

    /// The sentinel string.
    pub(crate) fn sentinel(&self) -> &str {
        &self.sentinel
    }

    /// How often `tojson` wrote the field, or `None` when the template used it in any
    /// other way.
    pub(crate) fn writes(&self) -> Option<usize> {
        (!self.other_use.load(Ordering::Relaxed)).then(|| self.written.load(Ordering::Relaxed))
    }

    /// Called by `tojson`: appends the sentinel as a JSON string.
    pub(crate) fn write_json(&self, out: &mut String) {
        self.written.fetch_add(1, Ordering::Relaxed);
        out.push('"');
        out.push_str(&self.sentinel);
        out.push('"');
    }

    fn used(&self) {
        self.other_use.store(true, Ordering::Relaxed);
    }
}

impl Object for StreamedField {
    fn repr(self: &Arc<Self>) -> ObjectRepr {
        ObjectRepr::Plain
    }

    fn get_value(self: &Arc<Self>, _key: &Value) -> Option<Value> {
        self.used();
        None
    }

    fn enumerate(self: &Arc<Self>) -> Enumerator {
        self.used();
        Enumerator::NonEnumerable
    }

    fn enumerator_len(self: &Arc<Self>) -> Option<usize> {
        self.used();
        None
    }

    fn is_true(self: &Arc<Self>) -> bool {
        self.used();
        true
    }

    fn call(self: &Arc<Self>, _state: &mut State<'_, '_>, _args: &[Value]) -> Result<Value, Error> {
        self.used();
        Err(Error::new(
            ErrorKind::InvalidOperation,
            "the streamed field is text",
        ))
    }

    fn call_method(
        self: &Arc<Self>,
        _state: &mut State<'_, '_>,
        _method: &str,
        _args: &[Value],
    ) -> Result<Value, Error> {
        self.used();
        Err(Error::new(
            ErrorKind::InvalidOperation,
            "the streamed field is text",
        ))
    }

    fn render(self: &Arc<Self>, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        self.used();
        f.write_str(&self.sentinel)
    }
}
