//! Typed builders for every strict ChatKit component.
//!
//! Each builder is checked by the compiler (required props in `new`, enums for token
//! sets) and converts losslessly into the JSON tree with `.into()`:
//!
//! ```
//! use chatkit_agents::types::ActionConfig;
//! use chatkit_agents::widgets::{self as w, WidgetRoot};
//!
//! let card: WidgetRoot = w::Card::new()
//!     .size(w::CardSize::Sm)
//!     .child(w::Title::new("Order #42").size(w::TitleSize::Lg))
//!     .child(
//!         w::Row::new()
//!             .gap(2)
//!             .child(w::Badge::new("paid").color(w::BadgeColor::Success))
//!             .child(w::Spacer::new())
//!             .child(w::Button::new().label("Open").on_click_action(ActionConfig::new("open_order"))),
//!     )
//!     .into();
//! assert_eq!(card.root_type(), "Card");
//! ```
//!
//! Props a builder does not model can still be added on the tree:
//! `WidgetComponent::from(text).with("newProp", value)`.

use serde::Serialize;
use serde_json::Value;

use super::values::*;
use crate::types::widget::{drop_nulls, WidgetComponent, WidgetRoot};
use crate::types::{ActionConfig, IconName};

/// Serializes a typed builder into the tree. Builders only hold well-formed children and
/// string-keyed maps, so this cannot fail.
fn from_typed<T: Serialize>(typed: &T) -> WidgetComponent {
    let mut value = serde_json::to_value(typed).unwrap_or(Value::Null);
    drop_nulls(&mut value);
    #[allow(clippy::expect_used)]
    WidgetComponent::from_value(value)
        .expect("typed widget builders serialize to well-formed components")
}

macro_rules! component {
    (
        $(#[$meta:meta])*
        $name:ident = $type_name:literal {
            new($($(#[$rmeta:meta])* $req:ident : $rty:ty),* $(,)?)
            init($($init:ident = $init_value:expr),* $(,)?)
            $( $(#[$ometa:meta])* $opt:ident : $oty:ty ),* $(,)?
        }
    ) => {
        $(#[$meta])*
        ///
        /// Convert it into a [`WidgetComponent`] (or a root) with `.into()`.
        #[derive(Debug, Clone, PartialEq, Serialize)]
        #[serde(rename_all = "camelCase")]
        pub struct $name {
            #[serde(skip_serializing_if = "Option::is_none")]
            key: Option<String>,
            #[serde(skip_serializing_if = "Option::is_none")]
            id: Option<String>,
            #[serde(rename = "type")]
            component_type: &'static str,
            $( $(#[$rmeta])* pub $req: $rty, )*
            $(
                $(#[$ometa])*
                #[serde(skip_serializing_if = "Option::is_none")]
                pub $opt: Option<$oty>,
            )*
        }

        impl $name {
            /// A new component with its required props.
            #[allow(clippy::new_without_default)]
            pub fn new($($req: impl Into<$rty>),*) -> Self {
                #[allow(unused_mut)]
                let mut this = $name {
                    key: None,
                    id: None,
                    component_type: $type_name,
                    $( $req: $req.into(), )*
                    $( $opt: None, )*
                };
                $( this.$init = Some($init_value); )*
                this
            }

            /// Sets the React-style list key.
            pub fn key(mut self, key: impl Into<String>) -> Self {
                self.key = Some(key.into());
                self
            }

            /// Sets the id that addresses this node in updates (needed to stream text).
            pub fn id(mut self, id: impl Into<String>) -> Self {
                self.id = Some(id.into());
                self
            }

            $(
                $(#[$ometa])*
                pub fn $opt(mut self, value: impl Into<$oty>) -> Self {
                    self.$opt = Some(value.into());
                    self
                }
            )*
        }

        impl From<$name> for WidgetComponent {
            fn from(c: $name) -> WidgetComponent {
                from_typed(&c)
            }
        }
    };
}

/// Adds `child` (append one) to a builder whose `children` is a list.
macro_rules! child_list {
    ($($name:ident: $child:ty),* $(,)?) => {$(
        impl $name {
            /// Appends a child.
            pub fn child(mut self, child: impl Into<$child>) -> Self {
                self.children.get_or_insert_with(Vec::new).push(child.into());
                self
            }

            /// Appends several children.
            pub fn extend<I>(mut self, children: I) -> Self
            where
                I: IntoIterator,
                I::Item: Into<$child>,
            {
                self.children.get_or_insert_with(Vec::new).extend(children.into_iter().map(Into::into));
                self
            }
        }
    )*};
}

/// Components that are widget roots.
macro_rules! root_component {
    ($($name:ident),*) => {$(
        impl From<$name> for WidgetRoot {
            fn from(c: $name) -> WidgetRoot {
                WidgetRoot::new(from_typed(&c)).unwrap_or_else(|_| unreachable!("root builders have a root type"))
            }
        }
    )*};
}

component! {
    /// A card: the usual widget root.
    Card = "Card" {
        new()
        init(children = Vec::new())
        /// Render the card as a form (controls submit together).
        as_form: bool,
        /// The content.
        children: Vec<WidgetComponent>,
        /// Background colour.
        background: Color,
        /// Border (ChatKit 1.7).
        border: BorderValue,
        /// Width.
        size: CardSize,
        /// Inner padding.
        padding: SpacingValue,
        /// Status line.
        status: WidgetStatus,
        /// Start collapsed.
        collapsed: bool,
        /// Confirm button.
        confirm: CardAction,
        /// Cancel button.
        cancel: CardAction,
        /// Colour scheme.
        theme: Theme,
    }
}

component! {
    /// A list of rows: a widget root.
    ListView = "ListView" {
        new()
        init(children = Vec::new())
        /// The rows.
        children: Vec<ListViewItem>,
        /// How many rows to show before "show more".
        limit: ListLimit,
        /// Status line.
        status: WidgetStatus,
        /// Colour scheme.
        theme: Theme,
    }
}

component! {
    /// The dynamic root used for entity previews.
    Basic = "Basic" {
        new()
        init()
        /// The content.
        children: Vec<WidgetComponent>,
        /// Gap between children.
        gap: Dimension,
        /// Inner padding.
        padding: SpacingValue,
        /// Layout direction.
        direction: Direction,
        /// Colour scheme.
        theme: Theme,
    }
}

component! {
    /// One row of a `ListView`.
    ListViewItem = "ListViewItem" {
        new()
        init(children = Vec::new())
        /// The content.
        children: Vec<WidgetComponent>,
        /// Fired when the row is clicked.
        on_click_action: ActionConfig,
        /// Gap between children.
        gap: Dimension,
        /// Cross-axis alignment.
        align: Alignment,
    }
}

component! {
    /// Body text. Give it an `id` to stream its value.
    Text = "Text" {
        new(
            /// The text.
            value: String,
        )
        init()
        /// Still being streamed.
        streaming: bool,
        /// Italic.
        italic: bool,
        /// Struck through.
        line_through: bool,
        /// Colour.
        color: Color,
        /// Weight.
        weight: FontWeight,
        /// Width.
        width: Dimension,
        /// Size.
        size: TextSize,
        /// Alignment.
        text_align: TextAlign,
        /// Truncate with an ellipsis.
        truncate: bool,
        /// Minimum lines.
        min_lines: u32,
        /// Maximum lines.
        max_lines: u32,
        /// Editable in place.
        editable: Editable,
    }
}

component! {
    /// A title.
    Title = "Title" {
        new(
            /// The text.
            value: String,
        )
        init()
        /// Colour.
        color: Color,
        /// Weight.
        weight: FontWeight,
        /// Size.
        size: TitleSize,
        /// Alignment.
        text_align: TextAlign,
        /// Truncate with an ellipsis.
        truncate: bool,
        /// Maximum lines.
        max_lines: u32,
    }
}

component! {
    /// Small secondary text.
    Caption = "Caption" {
        new(
            /// The text.
            value: String,
        )
        init()
        /// Colour.
        color: Color,
        /// Weight.
        weight: FontWeight,
        /// Size.
        size: CaptionSize,
        /// Alignment.
        text_align: TextAlign,
        /// Truncate with an ellipsis.
        truncate: bool,
        /// Maximum lines.
        max_lines: u32,
    }
}

component! {
    /// Markdown text. Give it an `id` to stream its value.
    Markdown = "Markdown" {
        new(
            /// The Markdown source.
            value: String,
        )
        init()
        /// Still being streamed.
        streaming: bool,
    }
}

component! {
    /// A small label.
    Badge = "Badge" {
        new(
            /// The text.
            label: String,
        )
        init()
        /// Colour.
        color: BadgeColor,
        /// Style.
        variant: BadgeVariant,
        /// Size.
        size: SmallMediumLarge,
        /// Rounded ends.
        pill: bool,
    }
}

/// Defines a flex container with the shared box props plus its own.
macro_rules! box_component {
    ($(#[$meta:meta])* $name:ident = $type_name:literal { $($extra:tt)* }) => {
        component! {
            $(#[$meta])*
            $name = $type_name {
                new()
                init()
                /// The content.
                children: Vec<WidgetComponent>,
                /// Cross-axis alignment.
                align: Alignment,
                /// Main-axis distribution.
                justify: Justification,
                /// Wrapping.
                wrap: Wrap,
                /// Flex factor or basis.
                flex: Dimension,
                /// Gap between children.
                gap: Dimension,
                /// Height.
                height: Dimension,
                /// Width.
                width: Dimension,
                /// Width and height.
                size: Dimension,
                /// Minimum height.
                min_height: Dimension,
                /// Minimum width.
                min_width: Dimension,
                /// Minimum width and height.
                min_size: Dimension,
                /// Maximum height.
                max_height: Dimension,
                /// Maximum width.
                max_width: Dimension,
                /// Maximum width and height.
                max_size: Dimension,
                /// Inner padding.
                padding: SpacingValue,
                /// Outer margin.
                margin: SpacingValue,
                /// Border.
                border: BorderValue,
                /// Corner radius.
                radius: Radius,
                /// Background colour.
                background: Color,
                /// Aspect ratio.
                aspect_ratio: Dimension,
                $($extra)*
            }
        }
    };
}

box_component! {
    /// A flex box.
    Box = "Box" {
        /// Layout direction.
        direction: Direction,
    }
}

box_component! {
    /// A horizontal flex box.
    Row = "Row" {}
}

box_component! {
    /// A vertical flex box.
    Col = "Col" {}
}

box_component! {
    /// A form: its controls' values are sent with `on_submit_action`.
    Form = "Form" {
        /// Fired on submit; the payload carries the field values.
        on_submit_action: ActionConfig,
        /// Layout direction.
        direction: Direction,
    }
}

component! {
    /// A horizontal rule.
    Divider = "Divider" {
        new()
        init()
        /// Colour.
        color: Color,
        /// Thickness.
        size: Dimension,
        /// Space around.
        spacing: Dimension,
        /// Extend to the container's edges.
        flush: bool,
    }
}

component! {
    /// An icon.
    Icon = "Icon" {
        new(
            /// Which icon.
            name: IconName,
        )
        init()
        /// Colour.
        color: Color,
        /// Size.
        size: IconSize,
    }
}

component! {
    /// An image.
    Image = "Image" {
        new(
            /// URL.
            src: String,
        )
        init()
        /// Alternative text.
        alt: String,
        /// How it fills its box.
        fit: ImageFit,
        /// Where it sits in its box.
        position: ImagePosition,
        /// Corner radius.
        radius: Radius,
        /// Draw a frame.
        frame: bool,
        /// Extend to the container's edges.
        flush: bool,
        /// Height.
        height: Dimension,
        /// Width.
        width: Dimension,
        /// Width and height.
        size: Dimension,
        /// Minimum height.
        min_height: Dimension,
        /// Minimum width.
        min_width: Dimension,
        /// Minimum width and height.
        min_size: Dimension,
        /// Maximum height.
        max_height: Dimension,
        /// Maximum width.
        max_width: Dimension,
        /// Maximum width and height.
        max_size: Dimension,
        /// Outer margin.
        margin: SpacingValue,
        /// Background colour.
        background: Color,
        /// Aspect ratio.
        aspect_ratio: Dimension,
        /// Flex factor or basis.
        flex: Dimension,
    }
}

component! {
    /// A button.
    Button = "Button" {
        new()
        init()
        /// Submits the enclosing form.
        submit: bool,
        /// Label.
        label: String,
        /// Fired on click.
        on_click_action: ActionConfig,
        /// Icon before the label.
        icon_start: IconName,
        /// Icon after the label.
        icon_end: IconName,
        /// Style.
        style: ButtonStyle,
        /// Icon size.
        icon_size: ButtonIconSize,
        /// Colour.
        color: ButtonColor,
        /// Variant.
        variant: ControlVariant,
        /// Size.
        size: ControlSize,
        /// Rounded ends.
        pill: bool,
        /// Square (icon only).
        uniform: bool,
        /// Full width.
        block: bool,
        /// Disabled.
        disabled: bool,
    }
}

component! {
    /// Flexible empty space.
    Spacer = "Spacer" {
        new()
        init()
        /// Minimum size.
        min_size: Dimension,
    }
}

component! {
    /// A drop-down.
    Select = "Select" {
        new(
            /// Form field name.
            name: String,
            /// The options.
            options: Vec<SelectOption>,
        )
        init()
        /// Fired when the value changes.
        on_change_action: ActionConfig,
        /// Placeholder.
        placeholder: String,
        /// Initial value.
        default_value: String,
        /// Variant.
        variant: ControlVariant,
        /// Size.
        size: ControlSize,
        /// Rounded ends.
        pill: bool,
        /// Full width.
        block: bool,
        /// Offer a clear button.
        clearable: bool,
        /// Disabled.
        disabled: bool,
        /// Searchable.
        searchable: bool,
    }
}

component! {
    /// A date picker. Dates are ISO 8601 strings.
    DatePicker = "DatePicker" {
        new(
            /// Form field name.
            name: String,
        )
        init()
        /// Fired when the value changes.
        on_change_action: ActionConfig,
        /// Placeholder.
        placeholder: String,
        /// Initial value.
        default_value: String,
        /// Earliest date.
        min: String,
        /// Latest date.
        max: String,
        /// Variant.
        variant: ControlVariant,
        /// Size.
        size: ControlSize,
        /// Side the popup opens on.
        side: Side,
        /// Popup alignment.
        align: PopupAlign,
        /// Rounded ends.
        pill: bool,
        /// Full width.
        block: bool,
        /// Offer a clear button.
        clearable: bool,
        /// Disabled.
        disabled: bool,
    }
}

component! {
    /// A checkbox.
    Checkbox = "Checkbox" {
        new(
            /// Form field name.
            name: String,
        )
        init()
        /// Label.
        label: String,
        /// Initially checked.
        default_checked: bool,
        /// Fired when toggled.
        on_change_action: ActionConfig,
        /// Disabled.
        disabled: bool,
        /// Required.
        required: bool,
    }
}

component! {
    /// A text field.
    Input = "Input" {
        new(
            /// Form field name.
            name: String,
        )
        init()
        /// Input type.
        input_type: InputType,
        /// Initial value.
        default_value: String,
        /// Required.
        required: bool,
        /// Validation pattern.
        pattern: String,
        /// Placeholder.
        placeholder: String,
        /// Allow password-manager extensions.
        allow_autofill_extensions: bool,
        /// Select the text on focus.
        auto_select: bool,
        /// Focus on mount.
        auto_focus: bool,
        /// Disabled.
        disabled: bool,
        /// Variant.
        variant: InputVariant,
        /// Size.
        size: ControlSize,
        /// Inner padding.
        gutter_size: GutterSize,
        /// Rounded ends.
        pill: bool,
    }
}

component! {
    /// A label for a form field.
    Label = "Label" {
        new(
            /// The text.
            value: String,
            /// The field it labels.
            field_name: String,
        )
        init()
        /// Size.
        size: TextSize,
        /// Weight.
        weight: FontWeight,
        /// Alignment.
        text_align: TextAlign,
        /// Colour.
        color: Color,
    }
}

component! {
    /// Radio buttons.
    RadioGroup = "RadioGroup" {
        new(
            /// Form field name.
            name: String,
        )
        init()
        /// The options.
        options: Vec<RadioOption>,
        /// Accessible label.
        aria_label: String,
        /// Fired when the value changes.
        on_change_action: ActionConfig,
        /// Initial value.
        default_value: String,
        /// Layout direction.
        direction: Direction,
        /// Disabled.
        disabled: bool,
        /// Required.
        required: bool,
    }
}

component! {
    /// A multi-line text field.
    Textarea = "Textarea" {
        new(
            /// Form field name.
            name: String,
        )
        init()
        /// Initial value.
        default_value: String,
        /// Required.
        required: bool,
        /// Validation pattern.
        pattern: String,
        /// Placeholder.
        placeholder: String,
        /// Select the text on focus.
        auto_select: bool,
        /// Focus on mount.
        auto_focus: bool,
        /// Disabled.
        disabled: bool,
        /// Variant.
        variant: InputVariant,
        /// Size.
        size: ControlSize,
        /// Inner padding.
        gutter_size: GutterSize,
        /// Rows shown.
        rows: u32,
        /// Grow with the content.
        auto_resize: bool,
        /// Maximum rows when growing.
        max_rows: u32,
        /// Allow password-manager extensions.
        allow_autofill_extensions: bool,
    }
}

component! {
    /// Animates the change when its single child is replaced.
    Transition = "Transition" {
        new(
            /// The single child.
            children: WidgetComponent,
        )
        init()
    }
}

component! {
    /// A table (ChatKit 1.7): rows of cells.
    ///
    /// ```
    /// use chatkit_agents::widgets::{self as w, WidgetRoot};
    /// let table = w::Table::new()
    ///     .child(w::TableRow::new().header(true)
    ///         .child(w::TableCell::new().child(w::Text::new("Item")))
    ///         .child(w::TableCell::new().align(w::TableCellAlign::End).child(w::Text::new("Price"))))
    ///     .child(w::TableRow::new()
    ///         .child(w::TableCell::new().child(w::Text::new("Tea")))
    ///         .child(w::TableCell::new().align(w::TableCellAlign::End).child(w::Text::new("€3"))));
    /// let card: WidgetRoot = w::Card::new().child(table).into();
    /// assert_eq!(card.to_value()["children"][0]["children"][0]["type"], "Table.Row");
    /// ```
    Table = "Table" {
        new()
        init(children = Vec::new())
        /// The rows.
        children: Vec<TableRow>,
    }
}

component! {
    /// A row of a [`Table`].
    TableRow = "Table.Row" {
        new()
        init(children = Vec::new())
        /// The cells.
        children: Vec<TableCell>,
        /// A header row.
        header: bool,
    }
}

component! {
    /// A cell of a [`TableRow`].
    TableCell = "Table.Cell" {
        new()
        init(children = Vec::new())
        /// The content.
        children: Vec<WidgetComponent>,
        /// Width.
        width: Dimension,
        /// Inner padding, per side (a cell takes no single number).
        padding: Spacing,
        /// Columns it spans.
        col_span: i64,
        /// Rows it spans.
        row_span: i64,
        /// Horizontal alignment.
        align: TableCellAlign,
        /// Vertical alignment.
        v_align: TableCellAlign,
        /// Width class of its column.
        col_size: TableColSize,
    }
}

component! {
    /// A chart.
    Chart = "Chart" {
        new(
            /// The data points.
            data: Vec<ChartDatum>,
            /// The series.
            series: Vec<Series>,
            /// The x axis.
            x_axis: XAxis,
        )
        init()
        /// Show the y axis.
        show_y_axis: bool,
        /// Show the legend.
        show_legend: bool,
        /// Show tooltips.
        show_tooltip: bool,
        /// Gap between bars of a group.
        bar_gap: i64,
        /// Gap between groups of bars.
        bar_category_gap: i64,
        /// Flex factor or basis.
        flex: Dimension,
        /// Height.
        height: Dimension,
        /// Width.
        width: Dimension,
        /// Width and height.
        size: Dimension,
        /// Minimum height.
        min_height: Dimension,
        /// Minimum width.
        min_width: Dimension,
        /// Minimum width and height.
        min_size: Dimension,
        /// Maximum height.
        max_height: Dimension,
        /// Maximum width.
        max_width: Dimension,
        /// Maximum width and height.
        max_size: Dimension,
        /// Aspect ratio.
        aspect_ratio: Dimension,
    }
}

child_list! {
    Card: WidgetComponent,
    ListView: ListViewItem,
    Basic: WidgetComponent,
    ListViewItem: WidgetComponent,
    Box: WidgetComponent,
    Row: WidgetComponent,
    Col: WidgetComponent,
    Form: WidgetComponent,
    Table: TableRow,
    TableRow: TableCell,
    TableCell: WidgetComponent,
}

root_component!(Card, ListView, Basic);
