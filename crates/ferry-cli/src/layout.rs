//! How wide and how colourful `ferry`'s human output is: the one place
//! that decides, for every table and every free line it prints.
//!
//! - On a terminal, tables take its width (comfy-table's dynamic
//!   arrangement wraps long cells) and free lines are cut to it with an
//!   ellipsis.
//! - Anywhere else (a pipe, a file, CI), lines are whole: scripts that
//!   `grep` the output see every character.
//! - Colour only on a terminal, and never when `NO_COLOR` is set to
//!   anything but the empty string (<https://no-color.org/>: "when present
//!   and not an empty string, prevents the addition of ANSI color").

use std::ffi::OsStr;
use std::io::IsTerminal;

use comfy_table::{presets, Cell, Color, ContentArrangement, Table};
use ferry_core::status::{ConditionStatus, ConditionType};

/// What a line or a cell means, for its colour.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Tone {
    /// Plain text.
    Plain,
    /// All is well (Ready True).
    Good,
    /// Not settled yet (Unknown, Progressing True).
    Pending,
    /// Something failed (Degraded True, Ready False, a failed task).
    Bad,
}

impl Tone {
    /// The tone of a condition's status: green when it says the app is
    /// fine, red when it says it is not, yellow while it is not known or
    /// a rollout moves.
    pub fn of_condition(type_: ConditionType, status: &ConditionStatus) -> Tone {
        match (type_, status) {
            (_, ConditionStatus::Unknown) => Tone::Pending,
            (ConditionType::Ready, ConditionStatus::True) => Tone::Good,
            (ConditionType::Ready, ConditionStatus::False) => Tone::Bad,
            (ConditionType::Degraded, ConditionStatus::True) => Tone::Bad,
            (ConditionType::Degraded, ConditionStatus::False) => Tone::Good,
            (ConditionType::Progressing, ConditionStatus::True) => Tone::Pending,
            (ConditionType::Progressing, ConditionStatus::False) => Tone::Plain,
        }
    }

    fn table_colour(self) -> Option<Color> {
        match self {
            Tone::Plain => None,
            Tone::Good => Some(Color::Green),
            Tone::Pending => Some(Color::Yellow),
            Tone::Bad => Some(Color::Red),
        }
    }

    /// The SGR code of the tone's colour (ECMA-48: 31 red, 32 green, 33
    /// yellow).
    fn ansi(self) -> Option<&'static str> {
        match self {
            Tone::Plain => None,
            Tone::Good => Some("32"),
            Tone::Pending => Some("33"),
            Tone::Bad => Some("31"),
        }
    }
}

/// How output to one stream is laid out.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Layout {
    /// The terminal's width in columns; `None`: not a terminal, lines are
    /// whole.
    pub width: Option<u16>,
    /// Whether to colour.
    pub colour: bool,
}

impl Layout {
    /// The layout of stdout, as it is now.
    pub fn stdout() -> Layout {
        let terminal = std::io::stdout().is_terminal();
        // comfy-table asks the terminal for its size when stdout is one.
        let width = if terminal { Table::new().width() } else { None };
        Layout::decide(terminal, width, std::env::var_os("NO_COLOR").as_deref())
    }

    /// The layout of stderr (failure output): whole lines, coloured as
    /// stdout would be were it stderr's terminal.
    pub fn stderr() -> Layout {
        let terminal = std::io::stderr().is_terminal();
        Layout {
            width: None,
            ..Layout::decide(terminal, None, std::env::var_os("NO_COLOR").as_deref())
        }
    }

    /// The decision itself: `width` only counts on a terminal; colour on
    /// a terminal unless `no_color` is set and not empty.
    pub fn decide(terminal: bool, width: Option<u16>, no_color: Option<&OsStr>) -> Layout {
        let no_color = no_color.is_some_and(|value| !value.is_empty());
        Layout {
            width: width.filter(|_| terminal),
            colour: terminal && !no_color,
        }
    }

    /// A table with `header` (none when empty), borderless, that fits
    /// [`Layout::width`] (long cells wrap) or, without one, is as wide as
    /// its content.
    pub fn table(&self, header: &[&str]) -> Table {
        let mut table = Table::new();
        table.load_style(presets::NOTHING);
        match self.width {
            Some(width) => {
                table
                    .set_content_arrangement(ContentArrangement::Dynamic)
                    .set_width(width);
            }
            None => {
                table.set_content_arrangement(ContentArrangement::Disabled);
            }
        }
        if self.colour {
            // comfy-table styles only when it sees a terminal itself;
            // this layout has decided already.
            table.enforce_styling();
        }
        if !header.is_empty() {
            table.set_header(header.iter().copied());
        }
        table
    }

    /// A table cell in `tone`'s colour (when colouring).
    pub fn cell(&self, text: impl Into<String>, tone: Tone) -> Cell {
        let cell = Cell::new(text.into());
        match tone.table_colour() {
            Some(colour) if self.colour => cell.fg(colour),
            _ => cell,
        }
    }

    /// A free line as printed: cut to the width with an ellipsis on a
    /// terminal, whole elsewhere; then coloured.
    pub fn line(&self, text: &str, tone: Tone) -> String {
        self.line_ending(text, "", tone)
    }

    /// [`Layout::line`] of `text` followed by `suffix`, which is kept
    /// whole when `text` is cut (a count that says how often a cut
    /// message was said).
    pub fn line_ending(&self, text: &str, suffix: &str, tone: Tone) -> String {
        let fitted = match self.width {
            Some(width) => {
                let room = usize::from(width).saturating_sub(suffix.chars().count());
                format!("{}{suffix}", shorten(text, room))
            }
            None => format!("{text}{suffix}"),
        };
        self.paint(&fitted, tone)
    }

    /// `text` in `tone`'s colour, when colouring.
    pub fn paint(&self, text: &str, tone: Tone) -> String {
        match tone.ansi() {
            Some(code) if self.colour => format!("\x1b[{code}m{text}\x1b[0m"),
            _ => text.to_owned(),
        }
    }
}

/// A line cut to `max` characters, with an ellipsis when cut.
pub fn shorten(text: &str, max: usize) -> String {
    if text.chars().count() <= max {
        return text.to_owned();
    }
    let mut cut: String = text.chars().take(max.saturating_sub(1)).collect();
    cut.push('…');
    cut
}

/// An app's own text (a log line) made safe to print: control characters
/// (terminal escape sequences, carriage returns) become spaces, so a log
/// line cannot move the cursor or recolour the terminal.
pub fn printable(text: &str) -> String {
    text.chars()
        .map(|c| if c.is_control() { ' ' } else { c })
        .collect()
}

#[cfg(test)]
#[path = "layout_tests.rs"]
pub(crate) mod tests;
