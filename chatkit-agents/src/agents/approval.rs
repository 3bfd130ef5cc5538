//! Approval rules: which tool calls wait for a person before they run.
//!
//! A tool says so through [`Tool::needs_approval`]: `#[function_tool(needs_approval)]`
//! for every call, `#[function_tool(needs_approval = predicate)]` for some, and
//! [`RequireApproval`] around any other tool (an agent as a tool, a hand-written or an
//! MCP tool). The runner asks before each call; a call that needs approval interrupts
//! the run (see [`RunState`](super::RunState)).

use std::future::Future;
use std::sync::Arc;

use futures::future::BoxFuture;
use serde::de::DeserializeOwned;

use super::schema::ToolSchemaError;
use super::tool::{Tool, ToolContext, ToolDefinition, ToolFailure};

/// What the model reads for a call a person rejected without saying why (the Python
/// Agents SDK's `DEFAULT_APPROVAL_REJECTION_MESSAGE`).
pub const DEFAULT_APPROVAL_REJECTION_MESSAGE: &str = "Tool execution was not approved.";

type Predicate<C> =
    Arc<dyn for<'a> Fn(&'a ToolContext<C>, &'a str) -> BoxFuture<'a, bool> + Send + Sync>;

/// A tool whose calls need approval: always, or when a predicate over the call's
/// arguments says so. Everything else (definition, invocation, failure formatting) is
/// the wrapped tool's.
///
/// ```
/// use std::sync::Arc;
/// use chatkit_agents::agents::{function_tool, Agent, RequireApproval};
/// use chatkit_agents::testing::ScriptedModel;
///
/// /// Pay an invoice.
/// #[function_tool]
/// async fn pay(invoice: String, amount: f64) -> String {
///     format!("paid {invoice}")
/// }
///
/// #[derive(serde::Deserialize)]
/// struct Amount {
///     amount: f64,
/// }
///
/// let model = Arc::new(ScriptedModel::new(vec![]));
/// let translator: Agent<()> = Agent::new("Translator", model.clone());
/// let agent: Agent<()> = Agent::new("Accounts", model)
///     // Payments above 100 wait for a person.
///     .tool(RequireApproval::when(pay, |_ctx, args: Amount| async move { args.amount > 100.0 }))
///     // Every call of this one does.
///     .tool(RequireApproval::always(translator.as_tool("translate", "Translate text.")));
/// # assert_eq!(agent.tools().len(), 2);
/// ```
pub struct RequireApproval<C> {
    tool: Arc<dyn Tool<C>>,
    predicate: Option<Predicate<C>>,
}

impl<C: Clone + Send + Sync + 'static> RequireApproval<C> {
    /// `tool`, every call of which needs approval.
    pub fn always(tool: impl Tool<C> + 'static) -> Self {
        RequireApproval {
            tool: Arc::new(tool),
            predicate: None,
        }
    }

    /// `tool`, whose calls need approval when `predicate` says so. The predicate gets the
    /// call's context and its arguments parsed as a `T` of your choosing (a struct of the
    /// fields it looks at, or `serde_json::Value`). Arguments that do not parse as a `T`
    /// need approval: the rule cannot tell, so a person decides.
    pub fn when<T, F, Fut>(tool: impl Tool<C> + 'static, predicate: F) -> Self
    where
        T: DeserializeOwned,
        F: Fn(ToolContext<C>, T) -> Fut + Send + Sync + 'static,
        Fut: Future<Output = bool> + Send + 'static,
    {
        let predicate: Predicate<C> = Arc::new(move |ctx, arguments| {
            approval_rule(
                |ctx, parsed: T| predicate(ctx.clone(), parsed),
                ctx,
                arguments,
            )
        });
        RequireApproval {
            tool: Arc::new(tool),
            predicate: Some(predicate),
        }
    }
}

/// `predicate` over the arguments parsed as its `T` (an empty string counts as `{}`, as
/// for tools); arguments that do not parse need approval: the rule cannot tell, so a
/// person decides. What `RequireApproval::when` and `#[function_tool(needs_approval =
/// predicate)]` ask.
pub fn approval_rule<'a, C, T, F, Fut>(
    predicate: F,
    ctx: &'a ToolContext<C>,
    arguments: &'a str,
) -> BoxFuture<'a, bool>
where
    T: DeserializeOwned,
    F: FnOnce(&'a ToolContext<C>, T) -> Fut,
    Fut: Future<Output = bool> + Send + 'a,
{
    let arguments = if arguments.trim().is_empty() {
        "{}"
    } else {
        arguments
    };
    match serde_json::from_str::<T>(arguments) {
        Ok(parsed) => Box::pin(predicate(ctx, parsed)),
        Err(_) => Box::pin(std::future::ready(true)),
    }
}

impl<C: Send + Sync + 'static> Tool<C> for RequireApproval<C> {
    fn definition(&self) -> Result<&ToolDefinition, ToolSchemaError> {
        self.tool.definition()
    }

    fn invoke<'a>(
        &'a self,
        ctx: &'a ToolContext<C>,
        arguments: &'a str,
    ) -> BoxFuture<'a, Result<String, ToolFailure>> {
        self.tool.invoke(ctx, arguments)
    }

    fn format_failure(&self, failure: &ToolFailure) -> Option<String> {
        self.tool.format_failure(failure)
    }

    fn needs_approval<'a>(
        &'a self,
        ctx: &'a ToolContext<C>,
        arguments: &'a str,
    ) -> BoxFuture<'a, bool> {
        match &self.predicate {
            None => Box::pin(std::future::ready(true)),
            Some(predicate) => predicate(ctx, arguments),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    struct Echo(ToolDefinition);

    impl Tool<()> for Echo {
        fn definition(&self) -> Result<&ToolDefinition, ToolSchemaError> {
            Ok(&self.0)
        }
        fn invoke<'a>(
            &'a self,
            _ctx: &'a ToolContext<()>,
            arguments: &'a str,
        ) -> BoxFuture<'a, Result<String, ToolFailure>> {
            Box::pin(async move { Ok(arguments.to_owned()) })
        }
    }

    fn echo() -> Echo {
        Echo(ToolDefinition {
            name: "echo".into(),
            description: String::new(),
            parameters: serde_json::json!({"type": "object"}),
            strict: false,
        })
    }

    #[derive(serde::Deserialize)]
    struct Amount {
        amount: f64,
    }

    #[tokio::test]
    async fn rules_decide_per_call() {
        let ctx = ToolContext::new((), "echo", "call_1", "");
        assert!(!echo().needs_approval(&ctx, "{}").await);
        assert!(
            RequireApproval::always(echo())
                .needs_approval(&ctx, "{}")
                .await
        );
        let rule = RequireApproval::when(echo(), |_ctx, a: Amount| async move { a.amount > 100.0 });
        assert!(!rule.needs_approval(&ctx, r#"{"amount": 5}"#).await);
        assert!(rule.needs_approval(&ctx, r#"{"amount": 500}"#).await);
        // The rule cannot tell: a person decides.
        assert!(rule.needs_approval(&ctx, "not json").await);
        assert!(rule.needs_approval(&ctx, r#"{"other": 1}"#).await);
        // Everything else is the wrapped tool's.
        assert_eq!(rule.definition().unwrap().name, "echo");
        assert_eq!(rule.invoke(&ctx, "x").await.unwrap(), "x");
    }
}
