//! Running a turn's tool calls: every start hook first, then all calls concurrently,
//! each behind the agent's tool guardrails.

use std::sync::Arc;

use futures::future::join_all;
use tracing::Instrument;

use super::plan::ResolvedCall;
use super::result::{tool_tripwire, RunError};
use super::telemetry::tool_span;
use crate::agents::agent::Agent;
use crate::agents::guardrail::{check_tool_input, check_tool_output, ToolVerdict, Tripped};
use crate::agents::hooks::{RunHooks, Tripwire};
use crate::agents::model::FunctionCall;
use crate::agents::tool::{
    format_failure, ToolContext, ToolErrorFormatter, ToolFailure, ToolOutput,
};

/// How one call ended: its output (what the model reads), or what stopped the run.
pub(super) struct ToolRun {
    pub(super) call: FunctionCall,
    /// Its text (after the guardrails) and the content the model reads, if more.
    output: ToolOutput,
    end_hook: Result<(), Tripwire>,
    tripped: Option<RunError>,
    /// Why the tool produced no regular output (the output is then the failure as the
    /// model reads it).
    failure: Option<ToolFailure>,
}

impl ToolRun {
    /// The output and the failure it stands for, if any; or the guardrail tripwire or
    /// hook error that ends the run here.
    pub(super) fn into_output(
        self,
    ) -> Result<(FunctionCall, ToolOutput, Option<ToolFailure>), RunError> {
        if let Some(tripped) = self.tripped {
            return Err(tripped);
        }
        self.end_hook?;
        Ok((self.call, self.output, self.failure))
    }
}

/// Runs `calls` for `agent`, in call order once every call has finished. A start hook
/// that fails stops the run before any tool runs, as in the Python SDK.
pub(super) async fn run_tools<C: Clone + Send + Sync + 'static>(
    calls: Vec<ResolvedCall<C>>,
    agent: &Agent<C>,
    context: &C,
    hooks: &Arc<dyn RunHooks<C>>,
    formatter: Option<&ToolErrorFormatter>,
    capture_content: bool,
) -> Result<Vec<ToolRun>, RunError> {
    let contexts: Vec<ToolContext<C>> = calls
        .iter()
        .map(|c| {
            ToolContext::new(
                context.clone(),
                c.call.name.clone(),
                c.call.call_id.clone(),
                c.call.arguments.clone(),
            )
        })
        .collect();
    for (call, tool_context) in calls.iter().zip(&contexts) {
        hooks
            .on_tool_start(tool_context, agent, &call.definition)
            .await?;
    }
    let runs = calls.iter().zip(&contexts).map(|(call, tool_context)| {
        let span = tool_span(&call.call);
        if capture_content {
            span.record("gen_ai.tool.call.arguments", call.call.arguments.as_str());
        }
        run_one(call, tool_context, agent, hooks, formatter, capture_content).instrument(span)
    });
    Ok(join_all(runs).await)
}

async fn run_one<C: Clone + Send + Sync + 'static>(
    planned: &ResolvedCall<C>,
    tool_context: &ToolContext<C>,
    agent: &Agent<C>,
    hooks: &Arc<dyn RunHooks<C>>,
    formatter: Option<&ToolErrorFormatter>,
    capture_content: bool,
) -> ToolRun {
    let call = &planned.call;
    let outcome = |kind: &'static str| {
        let span = tracing::Span::current();
        span.record("outcome", kind);
        if kind != "ok" {
            span.record("otel.status_code", "ERROR");
        }
        crate::telemetry::metrics::tool_call(&call.name, kind);
    };
    let stopped = |output: String, tripped: Tripped| ToolRun {
        call: call.clone(),
        output: ToolOutput::text(output),
        end_hook: Ok(()),
        tripped: Some(tool_tripwire(tripped, &call.name)),
        failure: None,
    };
    let mut content = None;
    let mut failed = None;
    let output = match check_tool_input(agent.tool_input_guardrails(), tool_context).await {
        ToolVerdict::Allow => match planned
            .tool
            .invoke_content(tool_context, &call.arguments)
            .await
        {
            Ok(output) => {
                outcome("ok");
                content = output.content;
                output.text
            }
            Err(failure) => {
                outcome(failure_kind(&failure));
                let output =
                    format_failure(planned.tool.as_ref(), tool_context, &failure, formatter);
                failed = Some(failure);
                output
            }
        },
        ToolVerdict::Reject(message) => {
            outcome("rejected_by_guardrail");
            message
        }
        ToolVerdict::Trip(tripped) => {
            outcome("tripwire");
            return stopped(String::new(), tripped);
        }
    };
    let output =
        match check_tool_output(agent.tool_output_guardrails(), tool_context, &output).await {
            ToolVerdict::Allow => output,
            ToolVerdict::Reject(message) => {
                outcome("output_rejected_by_guardrail");
                // The model reads the guardrail's message, nothing of the tool's.
                content = None;
                message
            }
            ToolVerdict::Trip(tripped) => {
                outcome("tripwire");
                return stopped(output, tripped);
            }
        };
    if capture_content {
        tracing::Span::current().record("gen_ai.tool.call.result", output.as_str());
    }
    let end_hook = hooks
        .on_tool_end(tool_context, agent, &planned.definition, &output)
        .await;
    ToolRun {
        call: call.clone(),
        output: ToolOutput {
            text: output,
            content,
        },
        end_hook,
        tripped: None,
        failure: failed,
    }
}

/// The `outcome` of a failed call.
fn failure_kind(failure: &ToolFailure) -> &'static str {
    match failure {
        ToolFailure::InvalidArguments { .. } => "invalid_arguments",
        ToolFailure::Failed { .. } => "error",
        ToolFailure::Panicked { .. } => "panicked",
        ToolFailure::TimedOut { .. } => "timed_out",
        ToolFailure::NotApproved { .. } => "not_approved",
    }
}
