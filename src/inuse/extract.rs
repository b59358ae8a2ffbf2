//! Finding image references in a text: `REGISTRY/OWNER/PACKAGE[:TAG][@sha256:DIGEST]` of one
//! registry, anywhere (YAML, JSON, HCL, a Dockerfile's `FROM`, env files, `kubectl` output), with
//! the line each is on.
//!
//! One regex over the bytes (so a file that is not UTF-8 is still read), anchored on the
//! registry's host (the regex crate searches for that literal first, which keeps a scan of many
//! files fast). A reference is recognised only where the host starts a word (`evil-ghcr.io/…` and
//! `x.ghcr.io/…` are other registries). A reference followed by a template (`api:${TAG}`,
//! `api:{{ .Values.tag }}`) names no image yet and is left out. A bare name (neither tag nor
//! digest) takes the tag written beside it in its YAML mapping ([`super::split`]), or stays
//! unresolved: it is never taken for `:latest`.

use regex::bytes::Regex;

use super::{Location, Reference};

/// The regex of one registry's references; build it once per scan.
#[derive(Clone, Debug)]
pub struct Extractor {
    regex: Regex,
}

/// A path component of an OCI repository name.
const COMPONENT: &str = r"[a-z0-9]+(?:(?:[._]|__|-+)[a-z0-9]+)*";

impl Extractor {
    /// The extractor of references to `registry`: a URL (`https://ghcr.io`,
    /// `http://127.0.0.1:5000`) or a host with an optional port. Fails only when the host is
    /// too long for a regex.
    pub fn new(registry: &str) -> Result<Extractor, regex::Error> {
        let host = registry_host(registry);
        let pattern = format!(
            r"(?i){host}/([a-z0-9](?:[a-z0-9-]*[a-z0-9])?)/({COMPONENT}(?:/{COMPONENT})*)(?::([a-z0-9_][a-z0-9_.-]{{0,127}}))?(?:@(sha256:[0-9a-f]{{64}}))?",
            host = regex::escape(&host),
        );
        Ok(Extractor {
            regex: Regex::new(&pattern)?,
        })
    }

    /// Every reference in `text`, in order, located in `file`.
    pub fn extract(&self, file: &str, text: &[u8]) -> Vec<Reference> {
        let mut out = Vec::new();
        let (mut line, mut counted) = (1usize, 0usize);
        for caps in self.regex.captures_iter(text) {
            let Some(whole) = caps.get(0) else { continue };
            let (start, end) = (whole.start(), whole.end());
            // The host must start a word: not `x.ghcr.io`, `evil-ghcr.io`, `aghcr.io`.
            if start > 0 && is_name_byte(text[start - 1]) {
                continue;
            }
            // A template after the reference: no image is named yet.
            if let Some(&next) = text.get(end) {
                if matches!(next, b':' | b'@' | b'$' | b'{' | b'<' | b'%') {
                    continue;
                }
            }
            line += count_newlines(&text[counted..start]);
            counted = start;
            let text_of = |i: usize| {
                caps.get(i)
                    .map(|m| String::from_utf8_lossy(m.as_bytes()).into_owned())
            };
            let (Some(owner), Some(package)) = (text_of(1), text_of(2)) else {
                continue;
            };
            let mut tag = text_of(3).map(|t| t.trim_end_matches(['.', '-']).to_string());
            let digest = text_of(4).map(|d| d.to_ascii_lowercase());
            if tag.as_deref() == Some("") {
                tag = None;
            }
            // A bare name is not taken for `:latest`: see [`super::split`].
            let unresolved = (tag.is_none() && digest.is_none())
                .then(|| "neither a tag nor a digest".to_string());
            out.push(Reference {
                owner: owner.to_ascii_lowercase(),
                package: package.to_ascii_lowercase(),
                tag,
                digest,
                unresolved,
                text: String::from_utf8_lossy(whole.as_bytes()).into_owned(),
                at: Location {
                    file: file.to_string(),
                    line,
                },
            });
        }
        super::split::resolve(text, &mut out);
        out
    }
}

/// Every reference to `registry` in `text` (see [`Extractor`]; build one for many texts).
pub fn extract(registry: &str, file: &str, text: &[u8]) -> Result<Vec<Reference>, regex::Error> {
    Ok(Extractor::new(registry)?.extract(file, text))
}

/// The host (and port) of a registry URL, lower case: `https://GHCR.io/` -> `ghcr.io`.
pub fn registry_host(registry: &str) -> String {
    let s = registry.trim();
    let s = s
        .strip_prefix("https://")
        .or_else(|| s.strip_prefix("http://"))
        .unwrap_or(s);
    s.split('/').next().unwrap_or(s).to_ascii_lowercase()
}

/// A byte that may be part of a host name before the registry's: then the registry's host is
/// only the end of another one.
fn is_name_byte(b: u8) -> bool {
    b.is_ascii_alphanumeric() || matches!(b, b'.' | b'-' | b'_')
}

fn count_newlines(bytes: &[u8]) -> usize {
    bytes.iter().filter(|&&b| b == b'\n').count()
}
