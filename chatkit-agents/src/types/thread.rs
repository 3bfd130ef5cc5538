//! Threads, their status, and pages of results.

use std::ops::{Deref, DerefMut};

use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};

use super::items::ThreadItem;
use super::timestamp::Timestamp;

/// Whether a thread accepts new messages.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(tag = "type")]
pub enum ThreadStatus {
    /// Open (the default).
    #[default]
    #[serde(rename = "active")]
    Active,
    /// Temporarily closed to input.
    #[serde(rename = "locked")]
    Locked {
        /// Shown to the user.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        reason: Option<String>,
    },
    /// Closed for good.
    #[serde(rename = "closed")]
    Closed {
        /// Shown to the user.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        reason: Option<String>,
    },
}

/// A thread without its items: what stores keep and `threads.list` returns.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ThreadMetadata {
    /// Title shown in the thread list.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub title: Option<String>,
    /// Thread id (`thr_...`).
    pub id: String,
    /// Creation time.
    pub created_at: Timestamp,
    /// Whether the thread accepts input.
    #[serde(default)]
    pub status: ThreadStatus,
    /// Hosts images may be loaded from.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub allowed_image_domains: Option<Vec<String>>,
    /// Server-side data about the thread. Responses to clients always carry `{}` here.
    #[serde(default)]
    pub metadata: Map<String, Value>,
}

impl ThreadMetadata {
    /// A new active thread without title or metadata.
    pub fn new(id: impl Into<String>, created_at: Timestamp) -> Self {
        ThreadMetadata {
            title: None,
            id: id.into(),
            created_at,
            status: ThreadStatus::Active,
            allowed_image_domains: None,
            metadata: Map::new(),
        }
    }
}

/// A thread with a page of its items. Derefs to its [`ThreadMetadata`].
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Thread {
    /// Everything but the items.
    #[serde(flatten)]
    pub meta: ThreadMetadata,
    /// A page of items.
    pub items: Page<ThreadItem>,
}

impl Deref for Thread {
    type Target = ThreadMetadata;
    fn deref(&self) -> &ThreadMetadata {
        &self.meta
    }
}

impl DerefMut for Thread {
    fn deref_mut(&mut self) -> &mut ThreadMetadata {
        &mut self.meta
    }
}

/// A page of results with a cursor.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(bound(deserialize = "T: Deserialize<'de>"))]
pub struct Page<T> {
    /// The results.
    #[serde(default = "Vec::new")]
    pub data: Vec<T>,
    /// Whether more results follow.
    #[serde(default)]
    pub has_more: bool,
    /// The cursor to pass as `after` for the next page.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub after: Option<String>,
}

impl<T> Default for Page<T> {
    fn default() -> Self {
        Page {
            data: Vec::new(),
            has_more: false,
            after: None,
        }
    }
}
