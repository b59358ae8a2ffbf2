//! `retention restore --journal FILE`: restore what a journal says was deleted and put back the
//! tags it says were removed ([`crate::apply::restore`], which owns the loop and what it
//! reports). This reads the journal, checks that it names no registry but this run's, and makes
//! the clients.

use super::online;
use super::Outcome;
use crate::apply::journal::{self, Journal};
use crate::apply::restore::{self, Registries, Work};
use crate::cli::{RestoreArgs, Settings};

pub fn run(args: &RestoreArgs, settings: &Settings) -> Outcome {
    let entries = journal::read(&args.journal)?;
    let work = Work::of(&entries);
    if work.is_empty() {
        crate::printer::status(
            "nothing to restore: the journal records no deletion or tag removal that was not restored since",
        );
        println!("restored=0 failed=0");
        return Ok(());
    }
    let choice = if work.tags.is_empty() {
        None
    } else {
        // Before anything is restored: a journal is an input file (an artifact, say), and the
        // token goes only to this run's registry, never to one a journal names.
        let choice = settings.registry()?;
        restore::check_recorded(choice, &work.tags)?;
        Some(choice)
    };
    let out = Journal::open(&args.journal)?;
    let runtime = online::runtime()?;
    runtime.block_on(async {
        let client = settings.github_client()?;
        let mut registries = Registries::new(
            choice,
            || online::registry_client(settings),
            |url| settings.registry_client_at(url),
            || settings.cache(),
        );
        let tally = restore::run(&work, &out, &client, &mut registries).await?;
        tally.report();
        println!("{}", tally.counts());
        tally.outcome()
    })
}
