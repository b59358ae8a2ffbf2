//! Renderings of a plan: `text` for a terminal, `markdown` for a pull request or job summary,
//! `json` (schema 1) for machines and `apply --plan`.

pub mod markdown;
pub mod reasons;
mod sections;
pub mod text;

#[cfg(test)]
mod tests;

use std::io::IsTerminal;
use std::path::Path;

use crate::cli::Format;
use crate::plan::Plan;

/// Render a plan in the given format. `color` applies to text only.
pub fn render(plan: &Plan, format: Format, color: bool) -> String {
    match format {
        Format::Json => json(plan),
        Format::Text => text::render(plan, color),
        Format::Markdown => markdown::render(plan),
    }
}

/// The plan as JSON (schema 1), pretty-printed, with a final newline.
pub fn json(plan: &Plan) -> String {
    let mut s =
        serde_json::to_string_pretty(plan).unwrap_or_else(|e| format!("{{\"error\":\"{e}\"}}"));
    s.push('\n');
    s
}

/// Colour when writing to a terminal and NO_COLOR is not set.
pub fn color_for(output: Option<&Path>) -> bool {
    output.is_none()
        && std::io::stdout().is_terminal()
        && std::env::var_os("NO_COLOR").is_none_or(|v| v.is_empty())
}
