//! Token sets and helper shapes used by the typed widget builders.

use serde::{Serialize, Serializer};
use serde_json::{Map, Value};

use crate::types::{ActionConfig, IconName};

string_enum! {
    /// Cross-axis alignment.
    pub enum Alignment { Start = "start", Center = "center", End = "end", Baseline = "baseline", Stretch = "stretch" }
}
string_enum! {
    /// Main-axis distribution.
    pub enum Justification {
        Start = "start", Center = "center", End = "end", Between = "between",
        Around = "around", Evenly = "evenly", Stretch = "stretch",
    }
}
string_enum! {
    /// Corner radius.
    pub enum Radius {
        Xs2 = "2xs", Xs = "xs", Sm = "sm", Md = "md", Lg = "lg", Xl = "xl", Xl2 = "2xl",
        Xl3 = "3xl", Xl4 = "4xl", Full = "full", Percent100 = "100%", None = "none",
    }
}
string_enum! {
    /// Size of `Text` and `Label`.
    pub enum TextSize { Xs = "xs", Sm = "sm", Md = "md", Lg = "lg", Xl = "xl" }
}
string_enum! {
    /// Size of `Title`.
    pub enum TitleSize {
        Sm = "sm", Md = "md", Lg = "lg", Xl = "xl", Xl2 = "2xl", Xl3 = "3xl", Xl4 = "4xl", Xl5 = "5xl",
    }
}
string_enum! {
    /// Size of `Caption`.
    pub enum CaptionSize { Sm = "sm", Md = "md", Lg = "lg" }
}
string_enum! {
    /// Size of `Icon`.
    pub enum IconSize {
        Xs = "xs", Sm = "sm", Md = "md", Lg = "lg", Xl = "xl", Xl2 = "2xl", Xl3 = "3xl",
    }
}
string_enum! {
    /// Text alignment.
    pub enum TextAlign { Start = "start", Center = "center", End = "end" }
}
string_enum! {
    /// Font weight.
    pub enum FontWeight { Normal = "normal", Medium = "medium", Semibold = "semibold", Bold = "bold" }
}
string_enum! {
    /// Style of a control.
    pub enum ControlVariant { Solid = "solid", Soft = "soft", Outline = "outline", Ghost = "ghost" }
}
string_enum! {
    /// Size of a control.
    pub enum ControlSize {
        Xs3 = "3xs", Xs2 = "2xs", Xs = "xs", Sm = "sm", Md = "md", Lg = "lg", Xl = "xl",
        Xl2 = "2xl", Xl3 = "3xl",
    }
}
string_enum! {
    /// Small, medium, large.
    pub enum SmallMediumLarge { Sm = "sm", Md = "md", Lg = "lg" }
}
string_enum! {
    /// Size of a `Card`.
    pub enum CardSize { Sm = "sm", Md = "md", Lg = "lg", Full = "full" }
}
string_enum! {
    /// Alignment of a table cell's content.
    pub enum TableCellAlign { Start = "start", Center = "center", End = "end" }
}
string_enum! {
    /// Width class of a table column.
    pub enum TableColSize { Xs = "xs", Sm = "sm", Md = "md", Lg = "lg", Xl = "xl" }
}
string_enum! {
    /// Colour scheme.
    pub enum Theme { Light = "light", Dark = "dark" }
}
string_enum! {
    /// Flex wrapping.
    pub enum Wrap { NoWrap = "nowrap", Wrap = "wrap", WrapReverse = "wrap-reverse" }
}
string_enum! {
    /// Row or column.
    pub enum Direction { Row = "row", Col = "col" }
}
string_enum! {
    /// Colour of a `Badge`.
    pub enum BadgeColor {
        Secondary = "secondary", Success = "success", Danger = "danger", Warning = "warning",
        Info = "info", Discovery = "discovery",
    }
}
string_enum! {
    /// Style of a `Badge`.
    pub enum BadgeVariant { Solid = "solid", Soft = "soft", Outline = "outline" }
}
string_enum! {
    /// Style of a `Button`.
    pub enum ButtonStyle { Primary = "primary", Secondary = "secondary" }
}
string_enum! {
    /// Icon size in a `Button`.
    pub enum ButtonIconSize { Sm = "sm", Md = "md", Lg = "lg", Xl = "xl", Xl2 = "2xl" }
}
string_enum! {
    /// Colour of a `Button`.
    pub enum ButtonColor {
        Primary = "primary", Secondary = "secondary", Info = "info", Discovery = "discovery",
        Success = "success", Caution = "caution", Warning = "warning", Danger = "danger",
    }
}
string_enum! {
    /// How an `Image` fills its box.
    pub enum ImageFit { Cover = "cover", Contain = "contain", Fill = "fill", ScaleDown = "scale-down", None = "none" }
}
string_enum! {
    /// Where an `Image` sits in its box.
    pub enum ImagePosition {
        TopLeft = "top left", Top = "top", TopRight = "top right", Left = "left", Center = "center",
        Right = "right", BottomLeft = "bottom left", Bottom = "bottom", BottomRight = "bottom right",
    }
}
string_enum! {
    /// Input type of an `Input`.
    pub enum InputType {
        Number = "number", Email = "email", Text = "text", Password = "password", Tel = "tel", Url = "url",
    }
}
string_enum! {
    /// Style of an `Input` or `Textarea`.
    pub enum InputVariant { Soft = "soft", Outline = "outline" }
}
string_enum! {
    /// Inner padding of an `Input` or `Textarea`.
    pub enum GutterSize { Xs2 = "2xs", Xs = "xs", Sm = "sm", Md = "md", Lg = "lg", Xl = "xl" }
}
string_enum! {
    /// Side a `DatePicker` opens on.
    pub enum Side { Top = "top", Bottom = "bottom", Left = "left", Right = "right" }
}
string_enum! {
    /// Alignment of a `DatePicker` popup.
    pub enum PopupAlign { Start = "start", Center = "center", End = "end" }
}
string_enum! {
    /// Style of a border.
    pub enum BorderStyle {
        Solid = "solid", Dashed = "dashed", Dotted = "dotted", Double = "double",
        Groove = "groove", Ridge = "ridge", Inset = "inset", Outset = "outset",
    }
}
string_enum! {
    /// Curve of a chart series.
    pub enum CurveType {
        Basis = "basis", BasisClosed = "basisClosed", BasisOpen = "basisOpen", BumpX = "bumpX",
        BumpY = "bumpY", Bump = "bump", Linear = "linear", LinearClosed = "linearClosed",
        Natural = "natural", MonotoneX = "monotoneX", MonotoneY = "monotoneY", Monotone = "monotone",
        Step = "step", StepBefore = "stepBefore", StepAfter = "stepAfter",
    }
}

/// A length or count: a number (`4`, `1.5`) or a CSS-like string (`"50%"`, `"auto"`).
#[derive(Debug, Clone, PartialEq)]
pub enum Dimension {
    /// An integer.
    Int(i64),
    /// A fraction (non-finite values are left out of the output).
    Float(f64),
    /// A string.
    Str(String),
}

impl Serialize for Dimension {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        match self {
            Dimension::Int(i) => s.serialize_i64(*i),
            Dimension::Float(f) if f.is_finite() => s.serialize_f64(*f),
            Dimension::Float(_) => s.serialize_none(),
            Dimension::Str(v) => s.serialize_str(v),
        }
    }
}

macro_rules! dimension_from_int {
    ($($t:ty),*) => { $( impl From<$t> for Dimension { fn from(v: $t) -> Self { Dimension::Int(v.into()) } } )* };
}
dimension_from_int!(i8, i16, i32, i64, u8, u16, u32);

impl From<f64> for Dimension {
    fn from(v: f64) -> Self {
        Dimension::Float(v)
    }
}
impl From<&str> for Dimension {
    fn from(v: &str) -> Self {
        Dimension::Str(v.to_owned())
    }
}
impl From<String> for Dimension {
    fn from(v: String) -> Self {
        Dimension::Str(v)
    }
}

/// A colour per theme.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct ThemeColor {
    /// In dark mode.
    pub dark: String,
    /// In light mode.
    pub light: String,
}

/// A colour: a token or CSS colour (`"secondary"`, `"#f00"`), or one per theme.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(untagged)]
pub enum Color {
    /// A token or CSS colour.
    Named(String),
    /// One per theme.
    Themed(ThemeColor),
}

impl From<&str> for Color {
    fn from(v: &str) -> Self {
        Color::Named(v.to_owned())
    }
}
impl From<String> for Color {
    fn from(v: String) -> Self {
        Color::Named(v)
    }
}
impl From<ThemeColor> for Color {
    fn from(v: ThemeColor) -> Self {
        Color::Themed(v)
    }
}

/// Spacing per side; unset sides are left out.
#[derive(Debug, Clone, PartialEq, Default, Serialize)]
pub struct Spacing {
    /// Top.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub top: Option<Dimension>,
    /// Right.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub right: Option<Dimension>,
    /// Bottom.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub bottom: Option<Dimension>,
    /// Left.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub left: Option<Dimension>,
    /// Left and right.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub x: Option<Dimension>,
    /// Top and bottom.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub y: Option<Dimension>,
}

/// Padding or margin: one value for every side, or [`Spacing`] per side.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(untagged)]
pub enum SpacingValue {
    /// Every side.
    All(Dimension),
    /// Per side.
    Sides(Spacing),
}

impl<T: Into<Dimension>> From<T> for SpacingValue {
    fn from(v: T) -> Self {
        SpacingValue::All(v.into())
    }
}
impl From<Spacing> for SpacingValue {
    fn from(v: Spacing) -> Self {
        SpacingValue::Sides(v)
    }
}

/// One border.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Border {
    /// Width in pixels.
    pub size: u32,
    /// Colour.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub color: Option<Color>,
    /// Style.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub style: Option<BorderStyle>,
}

impl Border {
    /// A border of the given width.
    pub fn new(size: u32) -> Self {
        Border {
            size,
            color: None,
            style: None,
        }
    }
    /// Sets the colour.
    pub fn color(mut self, color: impl Into<Color>) -> Self {
        self.color = Some(color.into());
        self
    }
    /// Sets the style.
    pub fn style(mut self, style: BorderStyle) -> Self {
        self.style = Some(style);
        self
    }
}

/// A border side: a width, or a full [`Border`].
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(untagged)]
pub enum BorderSide {
    /// Width in pixels.
    Width(u32),
    /// A full border.
    Border(Border),
}

/// Borders per side.
#[derive(Debug, Clone, PartialEq, Default, Serialize)]
pub struct Borders {
    /// Top.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub top: Option<BorderSide>,
    /// Right.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub right: Option<BorderSide>,
    /// Bottom.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub bottom: Option<BorderSide>,
    /// Left.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub left: Option<BorderSide>,
    /// Left and right.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub x: Option<BorderSide>,
    /// Top and bottom.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub y: Option<BorderSide>,
}

/// A box border: a width for every side, one [`Border`], or [`Borders`] per side.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(untagged)]
pub enum BorderValue {
    /// Width in pixels on every side.
    Width(u32),
    /// One border on every side.
    Border(Border),
    /// Per side.
    Sides(Box<Borders>),
}

impl From<u32> for BorderValue {
    fn from(v: u32) -> Self {
        BorderValue::Width(v)
    }
}
impl From<Border> for BorderValue {
    fn from(v: Border) -> Self {
        BorderValue::Border(v)
    }
}
impl From<Borders> for BorderValue {
    fn from(v: Borders) -> Self {
        BorderValue::Sides(Box::new(v))
    }
}

/// The status line shown on a card or list: with a favicon, or with an icon.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(untagged)]
pub enum WidgetStatus {
    /// Text with a site favicon.
    WithFavicon {
        /// The text.
        text: String,
        /// Favicon URL.
        #[serde(skip_serializing_if = "Option::is_none")]
        favicon: Option<String>,
        /// Whether the favicon is framed.
        #[serde(skip_serializing_if = "Option::is_none")]
        frame: Option<bool>,
    },
    /// Text with an icon.
    WithIcon {
        /// The text.
        text: String,
        /// The icon.
        #[serde(skip_serializing_if = "Option::is_none")]
        icon: Option<IconName>,
    },
}

impl WidgetStatus {
    /// Text with an icon.
    pub fn icon(text: impl Into<String>, icon: impl Into<IconName>) -> Self {
        WidgetStatus::WithIcon {
            text: text.into(),
            icon: Some(icon.into()),
        }
    }
    /// Text with a favicon.
    pub fn favicon(text: impl Into<String>, favicon: impl Into<String>) -> Self {
        WidgetStatus::WithFavicon {
            text: text.into(),
            favicon: Some(favicon.into()),
            frame: None,
        }
    }
}

/// A confirm or cancel button of a card.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct CardAction {
    /// The button label.
    pub label: String,
    /// What it does.
    pub action: ActionConfig,
}

impl CardAction {
    /// A card button.
    pub fn new(label: impl Into<String>, action: ActionConfig) -> Self {
        CardAction {
            label: label.into(),
            action,
        }
    }
}

/// Makes `Text` editable in place.
#[derive(Debug, Clone, PartialEq, Default, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct EditableProps {
    /// Form field name.
    pub name: String,
    /// Focus on mount.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub auto_focus: Option<bool>,
    /// Select the text on focus.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub auto_select: Option<bool>,
    /// The `autocomplete` attribute.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub auto_complete: Option<String>,
    /// Allow password-manager extensions.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub allow_autofill_extensions: Option<bool>,
    /// Validation pattern.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub pattern: Option<String>,
    /// Placeholder.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub placeholder: Option<String>,
    /// Required.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub required: Option<bool>,
}

/// The `editable` prop of `Text`: `false`, or how to edit.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(untagged)]
pub enum Editable {
    /// `false`.
    Off(bool),
    /// Editable with these props.
    On(EditableProps),
}

impl From<EditableProps> for Editable {
    fn from(v: EditableProps) -> Self {
        Editable::On(v)
    }
}

/// An option of a `Select`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct SelectOption {
    /// The value submitted.
    pub value: String,
    /// The label shown.
    pub label: String,
    /// Disabled.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub disabled: Option<bool>,
    /// Help text.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub description: Option<String>,
}

impl SelectOption {
    /// An option.
    pub fn new(value: impl Into<String>, label: impl Into<String>) -> Self {
        SelectOption {
            value: value.into(),
            label: label.into(),
            disabled: None,
            description: None,
        }
    }
}

/// An option of a `RadioGroup`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct RadioOption {
    /// The label shown.
    pub label: String,
    /// The value submitted.
    pub value: String,
    /// Disabled.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub disabled: Option<bool>,
}

impl RadioOption {
    /// An option.
    pub fn new(label: impl Into<String>, value: impl Into<String>) -> Self {
        RadioOption {
            label: label.into(),
            value: value.into(),
            disabled: None,
        }
    }
}

/// The limit of a `ListView`: a count, or `"auto"`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ListLimit {
    /// Show this many items.
    Count(u32),
    /// Let the client decide.
    Auto,
}

impl Serialize for ListLimit {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        match self {
            ListLimit::Count(n) => s.serialize_u32(*n),
            ListLimit::Auto => s.serialize_str("auto"),
        }
    }
}

impl From<u32> for ListLimit {
    fn from(v: u32) -> Self {
        ListLimit::Count(v)
    }
}

/// The x axis of a `Chart`: a data key, or a configuration.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(untagged)]
pub enum XAxis {
    /// The data key.
    Key(String),
    /// A configuration.
    Config(XAxisConfig),
}

impl From<&str> for XAxis {
    fn from(v: &str) -> Self {
        XAxis::Key(v.to_owned())
    }
}
impl From<XAxisConfig> for XAxis {
    fn from(v: XAxisConfig) -> Self {
        XAxis::Config(v)
    }
}

/// Configuration of a chart's x axis.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct XAxisConfig {
    /// The data key.
    pub data_key: String,
    /// Hide the axis.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub hide: Option<bool>,
    /// Labels per value.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub labels: Option<indexmap::IndexMap<String, String>>,
}

/// One series of a `Chart`.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(tag = "type", rename_all = "lowercase")]
pub enum Series {
    /// Bars.
    Bar {
        /// Legend label.
        #[serde(skip_serializing_if = "Option::is_none")]
        label: Option<String>,
        /// The data key.
        #[serde(rename = "dataKey")]
        data_key: String,
        /// Stack id.
        #[serde(skip_serializing_if = "Option::is_none")]
        stack: Option<String>,
        /// Colour.
        #[serde(skip_serializing_if = "Option::is_none")]
        color: Option<Color>,
    },
    /// A filled area.
    Area {
        /// Legend label.
        #[serde(skip_serializing_if = "Option::is_none")]
        label: Option<String>,
        /// The data key.
        #[serde(rename = "dataKey")]
        data_key: String,
        /// Stack id.
        #[serde(skip_serializing_if = "Option::is_none")]
        stack: Option<String>,
        /// Colour.
        #[serde(skip_serializing_if = "Option::is_none")]
        color: Option<Color>,
        /// Curve.
        #[serde(rename = "curveType", skip_serializing_if = "Option::is_none")]
        curve_type: Option<CurveType>,
    },
    /// A line.
    Line {
        /// Legend label.
        #[serde(skip_serializing_if = "Option::is_none")]
        label: Option<String>,
        /// The data key.
        #[serde(rename = "dataKey")]
        data_key: String,
        /// Colour.
        #[serde(skip_serializing_if = "Option::is_none")]
        color: Option<Color>,
        /// Curve.
        #[serde(rename = "curveType", skip_serializing_if = "Option::is_none")]
        curve_type: Option<CurveType>,
    },
}

impl Series {
    /// A bar series for `data_key`.
    pub fn bar(data_key: impl Into<String>) -> Self {
        Series::Bar {
            label: None,
            data_key: data_key.into(),
            stack: None,
            color: None,
        }
    }
    /// An area series for `data_key`.
    pub fn area(data_key: impl Into<String>) -> Self {
        Series::Area {
            label: None,
            data_key: data_key.into(),
            stack: None,
            color: None,
            curve_type: None,
        }
    }
    /// A line series for `data_key`.
    pub fn line(data_key: impl Into<String>) -> Self {
        Series::Line {
            label: None,
            data_key: data_key.into(),
            color: None,
            curve_type: None,
        }
    }
    /// Sets the legend label.
    pub fn label(mut self, text: impl Into<String>) -> Self {
        match &mut self {
            Series::Bar { label, .. } | Series::Area { label, .. } | Series::Line { label, .. } => {
                *label = Some(text.into())
            }
        }
        self
    }
    /// Sets the colour.
    pub fn color(mut self, value: impl Into<Color>) -> Self {
        match &mut self {
            Series::Bar { color, .. } | Series::Area { color, .. } | Series::Line { color, .. } => {
                *color = Some(value.into())
            }
        }
        self
    }
    /// Sets the curve (ignored by bar series, which have none).
    pub fn curve(mut self, value: CurveType) -> Self {
        if let Series::Area { curve_type, .. } | Series::Line { curve_type, .. } = &mut self {
            *curve_type = Some(value);
        }
        self
    }
}

/// One data point of a chart: keys to strings or numbers.
pub type ChartDatum = Map<String, Value>;
