//! Every line the program writes to standard error for a person to read: errors, warnings,
//! notes and the status lines of a run (what was listed, the summary, progress without a bar).
//!
//! One place decides what is printed and how: `--quiet` keeps errors and warnings and drops the
//! rest ([`set_quiet`], once, at the start of a command); a line printed while a progress bar or
//! spinner is on screen goes above it instead of breaking it ([`show_bar`]). Standard output is
//! not here: it carries the command's result (the plan, the counts), which `--quiet` never hides.
//!
//! Labels are the printer's: callers pass the text, `warning` adds `warning: `. A [`Failure`]
//! prints with its own label ([`failure`]).

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Mutex;

use crate::outcome::Failure;

/// `--quiet`: only errors and warnings.
static QUIET: AtomicBool = AtomicBool::new(false);

/// The progress bar or spinner on screen, if any: lines go above it.
static BAR: Mutex<Option<indicatif::ProgressBar>> = Mutex::new(None);

/// Print only errors and warnings from now on (`--quiet`).
pub fn set_quiet(quiet: bool) {
    QUIET.store(quiet, Ordering::Relaxed);
}

/// Whether `--quiet` was given: a progress bar is not shown either.
pub fn quiet() -> bool {
    QUIET.load(Ordering::Relaxed)
}

/// Lines printed from now on go above `bar` until [`hide_bar`].
pub fn show_bar(bar: &indicatif::ProgressBar) {
    *crate::sync::lock(&BAR) = Some(bar.clone());
}

/// The bar is gone: lines go to standard error again.
pub fn hide_bar() {
    *crate::sync::lock(&BAR) = None;
}

/// Write `text` (one or more lines) to standard error, above the bar if one is shown.
fn emit(text: &str) {
    match &*crate::sync::lock(&BAR) {
        Some(bar) => bar.println(text),
        None => eprintln!("{text}"),
    }
}

/// `error: TEXT`, always printed.
pub fn error(text: &str) {
    emit(&format!("error: {text}"));
}

/// `warning: TEXT`, always printed.
pub fn warning(text: &str) {
    emit(&format!("warning: {text}"));
}

/// `note: TEXT`; not with `--quiet`.
pub fn note(text: &str) {
    if !quiet() {
        emit(&format!("note: {text}"));
    }
}

/// A status line, as it is (`summary: …`, `journal: …`, a listing's counts); not with `--quiet`.
pub fn status(text: &str) {
    if !quiet() {
        emit(text);
    }
}

/// A failure, with its label; nothing when it was already printed.
pub fn failure(f: &Failure) {
    if !f.is_silent() {
        emit(&f.to_string());
    }
}

/// A line as it is that belongs to an error or a warning (a policy's located problems, the list
/// a failure points to, a finding): always printed, `--quiet` or not.
pub fn detail(text: &str) {
    emit(text);
}
