//! `retention journal show [VERSION]`: read a journal back as what was done to each version,
//! when, and why ([`crate::apply::journal::history`]), so that "why was version 123 deleted?" is
//! answered after the plan file is gone.
//!
//! A command of its own rather than `restore --list`: it only reads (no token, no network, no
//! lock: it can be run while an `apply` writes the journal), and `restore` is the command that
//! undoes, which a question should not have to go near.

use super::{Failure, Outcome};
use crate::apply::journal::{self, history};
use crate::cli::{JournalCommand, JournalShowArgs};

pub fn run(command: &JournalCommand) -> Outcome {
    match command {
        JournalCommand::Show(args) => show(args),
    }
}

fn show(args: &JournalShowArgs) -> Outcome {
    let lines = journal::read_explained(&args.journal).map_err(|e| {
        let f = Failure::from(e);
        if !args.journal.exists() {
            return f.with_more("  help: `apply` writes its journal where --journal says (default retention-journal.jsonl in the directory it ran in); a workflow's apply uploads it as the artifact `retention-journal`");
        }
        f
    })?;
    let source = args.journal.display().to_string();
    match history::render(&lines, args.version.as_deref(), &source) {
        Some(text) => super::write_output(None, &text),
        None => Err(Failure::usage(format!(
            "the journal {source} names no version `{}`\n  help: give a version id or a version's name (a digest) that `apply` deleted or untagged; `retention journal show --journal {source}` lists them all",
            crate::render::printable(args.version.as_deref().unwrap_or_default())
        ))),
    }
}
