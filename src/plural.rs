//! Counts in words: `count(1, "package", "packages")` is "1 package", never "1 packages".
//!
//! Every message that counts something says it through here, so that a run with one package,
//! one tag or one failed deletion reads as a person would write it.

/// `n` and the word for it: "1 tag", "2 tags", "0 tags".
pub fn count(n: impl TryInto<u64>, one: &str, many: &str) -> String {
    let n: u64 = n.try_into().unwrap_or(u64::MAX);
    format!("{n} {}", word(n, one, many))
}

/// The word alone, for when the number is written elsewhere.
pub fn word<'a>(n: impl TryInto<u64>, one: &'a str, many: &'a str) -> &'a str {
    if n.try_into().is_ok_and(|n: u64| n == 1) {
        one
    } else {
        many
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn one_is_singular_and_every_other_count_plural() {
        assert_eq!(count(1usize, "tag", "tags"), "1 tag");
        assert_eq!(count(0u64, "tag", "tags"), "0 tags");
        assert_eq!(count(2u32, "version", "versions"), "2 versions");
        assert_eq!(word(1u8, "is", "are"), "is");
        assert_eq!(word(7usize, "is", "are"), "are");
    }
}
