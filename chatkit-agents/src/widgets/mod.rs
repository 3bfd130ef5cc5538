//! Widgets: typed builders for every strict component ([`Card`], [`Text`], [`Button`], ...),
//! `.widget` templates ([`WidgetTemplate`]), [`diff_widget`] and [`stream_widget`], over the
//! widget tree ([`WidgetRoot`], [`WidgetComponent`]), which lives in the wire layer
//! ([`crate::types::widget`]) because items and events carry it.
//!
//! The tree is an insertion-ordered JSON object per component, so widgets from templates
//! and component types this crate does not know round-trip untouched. The builders sit
//! on top and convert into the tree with `.into()`. Unlike the reference's deprecated
//! typed classes, the conversion loses nothing, and parsing JSON into the tree never
//! drops or adds props (the reference's strict parse adds action defaults; this crate
//! keeps actions exactly as written).
//!
//! A template build keeps its output as canonical JSON text and parses the tree only
//! when something reads it: most builds are only sent and stored. [`diff_widget`] finds
//! the usual streaming step of two such builds in their text, and [`stream_widget`]
//! reuses what it found for the next state. For a widget whose text grows with a model's
//! answer, [`WidgetSource::template`] builds the template once and streams the field's
//! deltas directly, in time linear in the answer (rebuilding per delta costs the whole
//! widget per delta).
//!
//! `Box` shadows `std::boxed::Box` if glob-imported; prefer `use chatkit_agents::widgets as w;`.

mod components;
mod diff;
mod jinja;
mod stream;
mod template;
mod template_stream;
mod values;

pub use crate::types::widget::{WidgetComponent, WidgetError, WidgetRoot, ROOT_TYPES};
pub use components::{
    Badge, Basic, Box, Button, Caption, Card, Chart, Checkbox, Col, DatePicker, Divider, Form,
    Icon, Image, Input, Label, ListView, ListViewItem, Markdown, RadioGroup, Row, Select, Spacer,
    Table, TableCell, TableRow, Text, Textarea, Title, Transition,
};
pub use diff::{diff_widget, DiffError};
pub use stream::{
    accumulate_text, stream_widget, StreamingTextBase, WidgetSource, WidgetStreamError,
};
pub use template::{TemplateError, WidgetTemplate, DEFAULT_FUEL, DEFAULT_MAX_OUTPUT_BYTES};
pub use template_stream::{TemplateInput, TemplateStream};
pub use values::*;
