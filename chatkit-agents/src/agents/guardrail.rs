//! Input and output guardrails, as the Python Agents SDK runs them.
//!
//! - An [`InputGuardrail`] checks the run's input. Only the agent a run starts with runs
//!   its input guardrails, on the first turn. By default a guardrail runs alongside the
//!   first model call, so it adds no latency; [`InputGuardrail::blocking`] runs it before
//!   the call instead, so a tripped guardrail costs no model call. Either way no tool
//!   runs and no handoff happens before every input guardrail has passed.
//! - An [`OutputGuardrail`] checks the final output of the agent that produced it.
//!
//! - A [`ToolInputGuardrail`] checks each tool call before the tool runs, and a
//!   [`ToolOutputGuardrail`] each tool output before the model reads it. Either may let
//!   it through, replace what the model reads with a message of its own (the tool then
//!   does not run, or its output is dropped), or stop the run.
//!
//! A tripped guardrail ends the run with [`RunError::InputGuardrailTripwire`],
//! [`RunError::OutputGuardrailTripwire`] or [`RunError::ToolGuardrailTripwire`];
//! `stream_agent_response` then removes every item the run produced from the thread, as
//! the reference does.
//!
//! [`RunError::InputGuardrailTripwire`]: super::RunError::InputGuardrailTripwire
//! [`RunError::OutputGuardrailTripwire`]: super::RunError::OutputGuardrailTripwire
//! [`RunError::ToolGuardrailTripwire`]: super::RunError::ToolGuardrailTripwire

use std::future::Future;
use std::sync::Arc;

use futures::future::BoxFuture;
use futures::stream::{FuturesUnordered, StreamExt};
use futures::FutureExt;
use serde_json::Value;

use super::tool::ToolContext;

/// What a guardrail decided: whether its tripwire fired, and anything worth reporting
/// (it travels in the run error).
#[derive(Debug, Clone, PartialEq)]
pub struct GuardrailOutput {
    /// `true` stops the run.
    pub tripwire_triggered: bool,
    /// Details for whoever handles the error (a classifier's verdict, a reason...).
    pub output_info: Value,
}

impl GuardrailOutput {
    /// The check passed.
    pub fn pass() -> Self {
        GuardrailOutput {
            tripwire_triggered: false,
            output_info: Value::Null,
        }
    }

    /// The check failed: stop the run, reporting `info`.
    pub fn trip(info: impl Into<Value>) -> Self {
        GuardrailOutput {
            tripwire_triggered: true,
            output_info: info.into(),
        }
    }
}

type Check<C, T> = Arc<dyn Fn(C, T) -> BoxFuture<'static, GuardrailOutput> + Send + Sync>;

fn boxed_check<C, T, F, Fut>(check: F) -> Check<C, T>
where
    F: Fn(C, T) -> Fut + Send + Sync + 'static,
    Fut: Future<Output = GuardrailOutput> + Send + 'static,
{
    Arc::new(move |context, value| check(context, value).boxed())
}

/// A check of a run's input (the Responses input items the first model call gets).
///
/// The check gets the run context and the input, and decides. A check that cannot
/// decide (a classifier that is down) chooses for itself whether to fail open
/// ([`GuardrailOutput::pass`]) or closed ([`GuardrailOutput::trip`]).
///
/// ```
/// use std::sync::Arc;
/// use chatkit_agents::agents::{Agent, GuardrailOutput, InputGuardrail};
/// use chatkit_agents::testing::ScriptedModel;
///
/// let no_homework = InputGuardrail::new("no_homework", |_ctx: (), input: Vec<serde_json::Value>| async move {
///     let text = serde_json::to_string(&input).unwrap_or_default();
///     if text.contains("homework") {
///         GuardrailOutput::trip(serde_json::json!({"reason": "homework"}))
///     } else {
///         GuardrailOutput::pass()
///     }
/// });
/// let agent = Agent::new("Tutor", Arc::new(ScriptedModel::new(vec![]))).input_guardrail(no_homework);
/// assert_eq!(agent.input_guardrails()[0].name(), "no_homework");
/// ```
pub struct InputGuardrail<C> {
    name: String,
    run_in_parallel: bool,
    check: Check<C, Vec<Value>>,
}

impl<C> Clone for InputGuardrail<C> {
    fn clone(&self) -> Self {
        InputGuardrail {
            name: self.name.clone(),
            run_in_parallel: self.run_in_parallel,
            check: self.check.clone(),
        }
    }
}

impl<C> std::fmt::Debug for InputGuardrail<C> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("InputGuardrail")
            .field("name", &self.name)
            .field("run_in_parallel", &self.run_in_parallel)
            .finish_non_exhaustive()
    }
}

impl<C> InputGuardrail<C> {
    /// A guardrail named `name` (the name is reported when it trips) that runs
    /// alongside the first model call.
    pub fn new<F, Fut>(name: impl Into<String>, check: F) -> Self
    where
        F: Fn(C, Vec<Value>) -> Fut + Send + Sync + 'static,
        Fut: Future<Output = GuardrailOutput> + Send + 'static,
    {
        InputGuardrail {
            name: name.into(),
            run_in_parallel: true,
            check: boxed_check(check),
        }
    }

    /// Runs the check before the first model call instead of alongside it (the Python
    /// SDK's `run_in_parallel=False`).
    pub fn blocking(mut self) -> Self {
        self.run_in_parallel = false;
        self
    }

    /// The guardrail's name.
    pub fn name(&self) -> &str {
        &self.name
    }

    /// Whether it runs alongside the first model call.
    pub fn runs_in_parallel(&self) -> bool {
        self.run_in_parallel
    }
}

/// A check of an agent's final output (the text of its last message, or the tool
/// output that ended the run). See [`InputGuardrail`] for how checks decide.
///
/// ```
/// use std::sync::Arc;
/// use chatkit_agents::agents::{Agent, GuardrailOutput, OutputGuardrail};
/// use chatkit_agents::testing::ScriptedModel;
///
/// let no_secrets = OutputGuardrail::new("no_secrets", |_ctx: (), output: String| async move {
///     if output.contains("sk-") { GuardrailOutput::trip("an API key") } else { GuardrailOutput::pass() }
/// });
/// let agent = Agent::new("Helper", Arc::new(ScriptedModel::new(vec![]))).output_guardrail(no_secrets);
/// assert_eq!(agent.output_guardrails().len(), 1);
/// ```
pub struct OutputGuardrail<C> {
    name: String,
    check: Check<C, String>,
}

impl<C> Clone for OutputGuardrail<C> {
    fn clone(&self) -> Self {
        OutputGuardrail {
            name: self.name.clone(),
            check: self.check.clone(),
        }
    }
}

impl<C> std::fmt::Debug for OutputGuardrail<C> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("OutputGuardrail")
            .field("name", &self.name)
            .finish_non_exhaustive()
    }
}

impl<C> OutputGuardrail<C> {
    /// A guardrail named `name` (the name is reported when it trips).
    pub fn new<F, Fut>(name: impl Into<String>, check: F) -> Self
    where
        F: Fn(C, String) -> Fut + Send + Sync + 'static,
        Fut: Future<Output = GuardrailOutput> + Send + 'static,
    {
        OutputGuardrail {
            name: name.into(),
            check: boxed_check(check),
        }
    }

    /// The guardrail's name.
    pub fn name(&self) -> &str {
        &self.name
    }
}

/// A guardrail whose tripwire fired: its name and output info.
pub(crate) type Tripped = (String, Value);

/// Runs `guardrails` on `input` concurrently; the first to trip (in completion order)
/// ends the check, and the others are dropped, as the Python SDK cancels them.
pub(crate) fn check_input<C: Clone>(
    guardrails: &[&InputGuardrail<C>],
    context: &C,
    input: &[Value],
) -> BoxFuture<'static, Option<Tripped>> {
    first_tripped(
        guardrails
            .iter()
            .map(|g| {
                let check = (g.check)(context.clone(), input.to_vec());
                (g.name.clone(), check)
            })
            .collect(),
    )
}

/// [`check_input`] for output guardrails.
pub(crate) fn check_output<C: Clone>(
    guardrails: &[OutputGuardrail<C>],
    context: &C,
    output: &str,
) -> BoxFuture<'static, Option<Tripped>> {
    first_tripped(
        guardrails
            .iter()
            .map(|g| {
                let check = (g.check)(context.clone(), output.to_owned());
                (g.name.clone(), check)
            })
            .collect(),
    )
}

fn first_tripped(
    checks: Vec<(String, BoxFuture<'static, GuardrailOutput>)>,
) -> BoxFuture<'static, Option<Tripped>> {
    async move {
        let mut pending: FuturesUnordered<_> = checks
            .into_iter()
            .map(|(name, check)| check.map(move |output| (name, output)))
            .collect();
        while let Some((name, output)) = pending.next().await {
            if output.tripwire_triggered {
                return Some((name, output.output_info));
            }
        }
        None
    }
    .boxed()
}

/// What a tool guardrail decided (the Python SDK's `ToolGuardrailFunctionOutput`).
#[derive(Debug, Clone, PartialEq)]
pub enum ToolGuardrailOutput {
    /// Let the call (or the output) through.
    Allow,
    /// Do not run the tool (or drop its output); the model reads `message` as the tool's
    /// output instead, and the run goes on.
    RejectContent {
        /// What the model reads.
        message: String,
    },
    /// Stop the run, reporting `output_info`.
    RaiseException {
        /// Details for whoever handles the error.
        output_info: Value,
    },
}

impl ToolGuardrailOutput {
    /// [`ToolGuardrailOutput::RejectContent`].
    pub fn reject_content(message: impl Into<String>) -> Self {
        ToolGuardrailOutput::RejectContent {
            message: message.into(),
        }
    }

    /// [`ToolGuardrailOutput::RaiseException`].
    pub fn raise_exception(output_info: impl Into<Value>) -> Self {
        ToolGuardrailOutput::RaiseException {
            output_info: output_info.into(),
        }
    }
}

type ToolCheck<C, T> =
    Arc<dyn Fn(ToolContext<C>, T) -> BoxFuture<'static, ToolGuardrailOutput> + Send + Sync>;

/// A check of every tool call of an agent, before the tool runs. It gets the call's
/// context (tool name, call id, raw arguments) and decides; check
/// [`ToolContext::tool_name`] to guard only some tools. (The Python SDK attaches tool
/// guardrails to each function tool; here they belong to the agent.)
///
/// ```
/// use std::sync::Arc;
/// use chatkit_agents::agents::{Agent, ToolContext, ToolGuardrailOutput, ToolInputGuardrail};
/// use chatkit_agents::testing::ScriptedModel;
///
/// let no_wire_transfers = ToolInputGuardrail::new("no_wire_transfers", |call: ToolContext<()>| async move {
///     if call.tool_name() == "transfer" && call.arguments().contains("\"wire\"") {
///         ToolGuardrailOutput::reject_content("Wire transfers need a human; tell the user.")
///     } else {
///         ToolGuardrailOutput::Allow
///     }
/// });
/// let agent = Agent::new("Bank", Arc::new(ScriptedModel::new(vec![]))).tool_input_guardrail(no_wire_transfers);
/// assert_eq!(agent.tool_input_guardrails().len(), 1);
/// ```
pub struct ToolInputGuardrail<C> {
    name: String,
    check: ToolCheck<C, ()>,
}

/// A check of every tool output of an agent, before the model reads it; see
/// [`ToolInputGuardrail`].
pub struct ToolOutputGuardrail<C> {
    name: String,
    check: ToolCheck<C, String>,
}

macro_rules! tool_guardrail_common {
    ($name:ident) => {
        impl<C> Clone for $name<C> {
            fn clone(&self) -> Self {
                $name {
                    name: self.name.clone(),
                    check: self.check.clone(),
                }
            }
        }

        impl<C> std::fmt::Debug for $name<C> {
            fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                f.debug_struct(stringify!($name))
                    .field("name", &self.name)
                    .finish_non_exhaustive()
            }
        }

        impl<C> $name<C> {
            /// The guardrail's name.
            pub fn name(&self) -> &str {
                &self.name
            }
        }
    };
}

tool_guardrail_common!(ToolInputGuardrail);
tool_guardrail_common!(ToolOutputGuardrail);

impl<C> ToolInputGuardrail<C> {
    /// A guardrail named `name` (reported when it stops the run).
    pub fn new<F, Fut>(name: impl Into<String>, check: F) -> Self
    where
        F: Fn(ToolContext<C>) -> Fut + Send + Sync + 'static,
        Fut: Future<Output = ToolGuardrailOutput> + Send + 'static,
    {
        ToolInputGuardrail {
            name: name.into(),
            check: Arc::new(move |call, ()| check(call).boxed()),
        }
    }
}

impl<C> ToolOutputGuardrail<C> {
    /// A guardrail named `name` (reported when it stops the run); the check gets the
    /// call's context and the tool's output.
    pub fn new<F, Fut>(name: impl Into<String>, check: F) -> Self
    where
        F: Fn(ToolContext<C>, String) -> Fut + Send + Sync + 'static,
        Fut: Future<Output = ToolGuardrailOutput> + Send + 'static,
    {
        ToolOutputGuardrail {
            name: name.into(),
            check: Arc::new(move |call, output| check(call, output).boxed()),
        }
    }
}

/// The verdict of an agent's tool guardrails on one call or output: the first that does
/// not allow it, in the order they were added (each runs only if the ones before it
/// allowed).
pub(crate) enum ToolVerdict {
    Allow,
    Reject(String),
    Trip(Tripped),
}

pub(crate) async fn check_tool_input<C: Clone>(
    guardrails: &[ToolInputGuardrail<C>],
    call: &ToolContext<C>,
) -> ToolVerdict {
    let checks = guardrails.iter().map(|g| (g.name.as_str(), &g.check));
    first_objection(checks, call, ()).await
}

pub(crate) async fn check_tool_output<C: Clone>(
    guardrails: &[ToolOutputGuardrail<C>],
    call: &ToolContext<C>,
    output: &str,
) -> ToolVerdict {
    let checks = guardrails.iter().map(|g| (g.name.as_str(), &g.check));
    first_objection(checks, call, output.to_owned()).await
}

/// Runs `checks` in order on `call` and `value`; the first that does not allow it
/// decides.
async fn first_objection<'a, C: Clone + 'a, T: Clone + 'a>(
    checks: impl Iterator<Item = (&'a str, &'a ToolCheck<C, T>)>,
    call: &ToolContext<C>,
    value: T,
) -> ToolVerdict {
    for (name, check) in checks {
        match check(call.clone(), value.clone()).await {
            ToolGuardrailOutput::Allow => {}
            ToolGuardrailOutput::RejectContent { message } => return ToolVerdict::Reject(message),
            ToolGuardrailOutput::RaiseException { output_info } => {
                return ToolVerdict::Trip((name.to_owned(), output_info))
            }
        }
    }
    ToolVerdict::Allow
}
