use chatkit_agents::agents::{function_tool, Tool, ToolContext};

#[derive(serde::Deserialize)]
struct Amount {
    amount: f64,
}

async fn is_large<C>(_ctx: &ToolContext<C>, args: Amount) -> bool {
    args.amount > 100.0
}

async fn for_admins(ctx: &ToolContext<String>, _args: serde_json::Value) -> bool {
    ctx.context() != "admin"
}

/// Pay.
#[function_tool(needs_approval = is_large)]
async fn pay(invoice: String, amount: f64) -> String {
    format!("{invoice} {amount}")
}

/// Delete.
#[function_tool(needs_approval)]
fn delete(path: String) -> String {
    path
}

/// Reset, for a concrete context.
#[function_tool(needs_approval = for_admins)]
async fn reset(_ctx: &ToolContext<String>) -> String {
    String::new()
}

/// Never waits.
#[function_tool(needs_approval = false)]
async fn read() -> String {
    String::new()
}

fn main() {
    let rt = tokio::runtime::Builder::new_current_thread().build().unwrap();
    rt.block_on(async {
        let ctx = ToolContext::new((), "pay", "call_1", "");
        assert!(!Tool::<()>::needs_approval(&pay, &ctx, r#"{"invoice": "a", "amount": 5}"#).await);
        assert!(Tool::<()>::needs_approval(&pay, &ctx, r#"{"invoice": "a", "amount": 500}"#).await);
        assert!(Tool::<()>::needs_approval(&delete, &ctx, "{}").await);
        assert!(!Tool::<()>::needs_approval(&read, &ctx, "{}").await);
        let admin = ToolContext::new("admin".to_owned(), "reset", "call_2", "");
        assert!(!reset.needs_approval(&admin, "{}").await);
        let guest = ToolContext::new("guest".to_owned(), "reset", "call_3", "");
        assert!(reset.needs_approval(&guest, "{}").await);
    });
}
