//! Model providers: the backends a [`Model`](crate::agents::model::Model) can run on.

#[cfg(feature = "openai")]
pub mod openai;
