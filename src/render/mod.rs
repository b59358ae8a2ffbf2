//! Renderings of a plan: `text` for a terminal, `markdown` for a pull request or job summary,
//! `json` (schema 1) for machines and `apply --plan`.

pub mod diff;
pub mod group;
pub mod markdown;
pub mod text;

#[cfg(test)]
mod tests;

use std::io::IsTerminal;
use std::path::Path;

use crate::cli::Format;
use crate::diff::DiffDocument;
use crate::plan::Plan;

/// How to render, beyond the format.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Options {
    /// ANSI colour (text only).
    pub color: bool,
    /// List the parts of each image (platform manifests, attestations…) as rows of their own,
    /// not only counted.
    pub verbose: bool,
}

/// Render a plan in the given format. `color` applies to text only.
pub fn render(plan: &Plan, format: Format, color: bool) -> String {
    render_with(
        plan,
        format,
        Options {
            color,
            ..Options::default()
        },
    )
}

/// Render a plan in the given format with the given options.
pub fn render_with(plan: &Plan, format: Format, options: Options) -> String {
    match format {
        Format::Json => json(plan),
        Format::Text => text::render(plan, options),
        Format::Markdown => markdown::render_with(plan, options),
    }
}

/// Render a policy diff (`plan --base`): JSON is the new plan with its `diff` object.
pub fn render_diff(doc: &DiffDocument, format: Format, options: Options) -> String {
    match format {
        Format::Json => {
            let mut s = serde_json::to_string_pretty(doc)
                .unwrap_or_else(|e| format!("{{\"error\":\"{e}\"}}"));
            s.push('\n');
            s
        }
        Format::Text => diff::text(doc, options),
        Format::Markdown => diff::markdown(doc, options),
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
