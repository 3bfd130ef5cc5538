//! Item kinds and the default id scheme (`<prefix>_<8 hex chars>`).

string_enum! {
    /// What an id is generated for; decides the id's prefix.
    pub enum StoreItemType {
        /// A thread (`thr_`).
        Thread = "thread",
        /// A message or widget item (`msg_`).
        Message = "message",
        /// A tool call (`tc_`).
        ToolCall = "tool_call",
        /// A task (`tsk_`).
        Task = "task",
        /// A workflow (`wf_`).
        Workflow = "workflow",
        /// An attachment (`atc_`).
        Attachment = "attachment",
        /// SDK hidden context (`shcx_`).
        SdkHiddenContext = "sdk_hidden_context",
    }
}

impl StoreItemType {
    /// The id prefix for this kind.
    pub const fn prefix(self) -> &'static str {
        match self {
            StoreItemType::Thread => "thr",
            StoreItemType::Message => "msg",
            StoreItemType::ToolCall => "tc",
            StoreItemType::Task => "tsk",
            StoreItemType::Workflow => "wf",
            StoreItemType::Attachment => "atc",
            StoreItemType::SdkHiddenContext => "shcx",
        }
    }
}

/// A new id for `kind`: its prefix and the first 8 hex characters of a random UUID,
/// as the reference makes them (`msg_1a2b3c4d`).
pub fn default_generate_id(kind: StoreItemType) -> String {
    let uuid = uuid::Uuid::new_v4().simple().to_string();
    format!("{}_{}", kind.prefix(), &uuid[..8])
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ids_have_the_reference_shape() {
        for kind in StoreItemType::ALL {
            let id = default_generate_id(*kind);
            let hex = id.strip_prefix(&format!("{}_", kind.prefix())).unwrap();
            assert_eq!(hex.len(), 8, "{id}");
            assert!(
                hex.chars()
                    .all(|c| c.is_ascii_digit() || ('a'..='f').contains(&c)),
                "{id}"
            );
        }
        assert_ne!(
            default_generate_id(StoreItemType::Message),
            default_generate_id(StoreItemType::Message)
        );
    }
}
