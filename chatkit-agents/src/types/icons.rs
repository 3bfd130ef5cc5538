//! [`IconName`]: the icon strings ChatKit accepts.

use std::fmt;
use std::str::FromStr;

use serde::{Deserialize, Deserializer, Serialize, Serializer};

string_enum! {
    /// One of the 64 built-in ChatKit icons.
    pub enum BuiltinIcon {
        Agent = "agent",
        Analytics = "analytics",
        Atom = "atom",
        Batch = "batch",
        Bolt = "bolt",
        BookOpen = "book-open",
        BookClosed = "book-closed",
        BookClock = "book-clock",
        Bug = "bug",
        Calendar = "calendar",
        Chart = "chart",
        Check = "check",
        CheckCircle = "check-circle",
        CheckCircleFilled = "check-circle-filled",
        ChevronLeft = "chevron-left",
        ChevronRight = "chevron-right",
        CircleQuestion = "circle-question",
        Clock = "clock",
        Compass = "compass",
        Confetti = "confetti",
        Cube = "cube",
        Desktop = "desktop",
        Document = "document",
        Dot = "dot",
        DotsHorizontal = "dots-horizontal",
        DotsVertical = "dots-vertical",
        EmptyCircle = "empty-circle",
        ExternalLink = "external-link",
        Globe = "globe",
        Keys = "keys",
        Lab = "lab",
        Images = "images",
        Info = "info",
        Lifesaver = "lifesaver",
        Lightbulb = "lightbulb",
        Mail = "mail",
        MapPin = "map-pin",
        Maps = "maps",
        Mobile = "mobile",
        Name = "name",
        Notebook = "notebook",
        NotebookPencil = "notebook-pencil",
        PageBlank = "page-blank",
        Phone = "phone",
        Play = "play",
        Plus = "plus",
        Profile = "profile",
        ProfileCard = "profile-card",
        Reload = "reload",
        Star = "star",
        StarFilled = "star-filled",
        Search = "search",
        Sparkle = "sparkle",
        SparkleDouble = "sparkle-double",
        SquareCode = "square-code",
        SquareImage = "square-image",
        SquareText = "square-text",
        Suitcase = "suitcase",
        SettingsSlider = "settings-slider",
        User = "user",
        Wreath = "wreath",
        Write = "write",
        WriteAlt = "write-alt",
        WriteAlt2 = "write-alt2",
    }
}

/// An icon: a [`BuiltinIcon`], or any name with a `vendor:` or `lucide:` prefix.
///
/// Anything else is rejected, as the reference rejects it (so the docs' own `"upload"` is
/// an error).
///
/// ```
/// use chatkit_agents::types::{BuiltinIcon, IconName};
/// let icon: IconName = "lucide:rocket".parse().unwrap();
/// assert_eq!(icon.to_string(), "lucide:rocket");
/// assert_eq!(IconName::from(BuiltinIcon::Bolt).to_string(), "bolt");
/// assert!("upload".parse::<IconName>().is_err());
/// ```
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum IconName {
    /// A built-in icon.
    Builtin(BuiltinIcon),
    /// `vendor:<name>`; holds the part after the prefix.
    Vendor(String),
    /// `lucide:<name>`; holds the part after the prefix.
    Lucide(String),
}

/// A string that is not an accepted icon name.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("unknown icon {0:?}: expected one of the 64 ChatKit icon names (e.g. \"bolt\", \"search\") or a name starting with \"vendor:\" or \"lucide:\"")]
pub struct IconNameError(String);

impl FromStr for IconName {
    type Err = IconNameError;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        if let Some(rest) = s.strip_prefix("vendor:") {
            Ok(IconName::Vendor(rest.to_owned()))
        } else if let Some(rest) = s.strip_prefix("lucide:") {
            Ok(IconName::Lucide(rest.to_owned()))
        } else {
            s.parse::<BuiltinIcon>()
                .map(IconName::Builtin)
                .map_err(|_| IconNameError(s.to_owned()))
        }
    }
}

impl fmt::Display for IconName {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            IconName::Builtin(b) => f.write_str(b.as_str()),
            IconName::Vendor(n) => write!(f, "vendor:{n}"),
            IconName::Lucide(n) => write!(f, "lucide:{n}"),
        }
    }
}

impl From<BuiltinIcon> for IconName {
    fn from(b: BuiltinIcon) -> Self {
        IconName::Builtin(b)
    }
}

impl Serialize for IconName {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        match self {
            IconName::Builtin(b) => s.serialize_str(b.as_str()),
            other => s.collect_str(other),
        }
    }
}

impl<'de> Deserialize<'de> for IconName {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let s = std::borrow::Cow::<'de, str>::deserialize(d)?;
        s.parse().map_err(serde::de::Error::custom)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn there_are_64_builtins_and_they_round_trip() {
        assert_eq!(BuiltinIcon::ALL.len(), 64);
        for name in BuiltinIcon::NAMES {
            let icon: IconName = serde_json::from_value(serde_json::json!(name)).unwrap();
            assert_eq!(
                serde_json::to_value(&icon).unwrap(),
                serde_json::json!(name)
            );
        }
    }

    #[test]
    fn prefixed_names_are_accepted() {
        for s in ["vendor:acme", "lucide:rocket", "vendor:"] {
            assert_eq!(s.parse::<IconName>().unwrap().to_string(), s);
        }
    }

    #[test]
    fn unknown_names_are_rejected() {
        for s in ["upload", "code", "Bolt", "", "lucide"] {
            let err = serde_json::from_value::<IconName>(serde_json::json!(s)).unwrap_err();
            assert!(err.to_string().contains("unknown icon"), "{err}");
        }
        assert!(serde_json::from_str::<IconName>("5").is_err());
    }
}
