//! Model providers: the backends a [`Model`](crate::agents::Model) can run on.

#[cfg(feature = "openai")]
pub(crate) mod openai;
