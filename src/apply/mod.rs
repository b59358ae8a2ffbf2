//! Carrying out a plan: deletions with a journal (placeholder while being built).
