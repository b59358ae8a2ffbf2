//! The manifest cache: manifests on disk, keyed by digest.
//!
//! Manifests are immutable by digest, so a manifest read once never needs reading again, from
//! any registry. Layout: `<dir>/manifests/sha256/<hex>`, the exact bytes. Every read is verified
//! against the digest (a damaged entry is removed and read again from the registry). Writes go to
//! a temporary file in the same directory and are renamed into place, so two runs sharing the
//! directory never see half a file. The cache is bounded: after a run, the least recently used
//! entries (by modification time, refreshed on every hit) are removed beyond `max_entries` or
//! `max_bytes`.

use std::io::Write;
use std::path::{Path, PathBuf};
use std::time::{Duration, SystemTime};

/// The default bound on entries (a manifest is typically 0.5-5 KiB).
pub const DEFAULT_MAX_ENTRIES: usize = 100_000;
/// The default bound on bytes.
pub const DEFAULT_MAX_BYTES: u64 = 256 * 1024 * 1024;
/// Temporary files older than this were left by a run that died; eviction removes them.
const STALE_TEMP: Duration = Duration::from_secs(3600);
const TEMP_PREFIX: &str = ".tmp-";

/// A manifest cache on disk, or a disabled one that stores nothing.
#[derive(Clone, Debug)]
pub struct ManifestCache {
    dir: Option<PathBuf>,
    max_entries: usize,
    max_bytes: u64,
}

/// What [`ManifestCache::evict`] removed.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Eviction {
    pub entries: usize,
    pub removed: usize,
    pub bytes: u64,
}

impl ManifestCache {
    /// The cache directory by default: the user's cache directory + `retention`.
    pub fn default_dir() -> Option<PathBuf> {
        dirs::cache_dir().map(|d| d.join("retention"))
    }

    /// Open (creating it) a cache in `dir`.
    pub fn open(dir: &Path) -> std::io::Result<ManifestCache> {
        std::fs::create_dir_all(dir.join("manifests").join("sha256"))?;
        Ok(ManifestCache {
            dir: Some(dir.to_path_buf()),
            max_entries: DEFAULT_MAX_ENTRIES,
            max_bytes: DEFAULT_MAX_BYTES,
        })
    }

    /// The cache for `--cache-dir` (or its default). When it cannot be created the run goes on
    /// without a cache, with a warning: a cache only saves reads.
    pub fn resolve(cache_dir: Option<&Path>) -> ManifestCache {
        let Some(dir) = cache_dir
            .map(Path::to_path_buf)
            .or_else(ManifestCache::default_dir)
        else {
            tracing::warn!("no cache directory is known (set --cache-dir or RETENTION_CACHE_DIR); manifests are not cached");
            return ManifestCache::disabled();
        };
        match ManifestCache::open(&dir) {
            Ok(c) => c,
            Err(e) => {
                tracing::warn!(
                    "cannot use the manifest cache {}: {e}; manifests are not cached",
                    dir.display()
                );
                ManifestCache::disabled()
            }
        }
    }

    /// A cache that stores nothing.
    pub fn disabled() -> ManifestCache {
        ManifestCache {
            dir: None,
            max_entries: 0,
            max_bytes: 0,
        }
    }

    /// Set the bounds.
    pub fn with_limits(mut self, max_entries: usize, max_bytes: u64) -> ManifestCache {
        self.max_entries = max_entries;
        self.max_bytes = max_bytes;
        self
    }

    /// The directory, unless disabled.
    pub fn dir(&self) -> Option<&Path> {
        self.dir.as_deref()
    }

    fn shard(&self) -> Option<PathBuf> {
        self.dir
            .as_ref()
            .map(|d| d.join("manifests").join("sha256"))
    }

    fn path(&self, digest: &str) -> Option<PathBuf> {
        if !crate::digest::is_sha256(digest) {
            return None;
        }
        let hex = digest.strip_prefix("sha256:")?;
        self.shard().map(|s| s.join(hex))
    }

    /// The cached manifest of `digest`, verified. A damaged entry is removed (and `None`).
    pub fn get(&self, digest: &str) -> Option<String> {
        let path = self.path(digest)?;
        let bytes = std::fs::read(&path).ok()?;
        if let Err(e) = crate::digest::verify(digest, &bytes) {
            tracing::warn!(
                "manifest cache: removing damaged entry {}: {e}",
                path.display()
            );
            let _ = std::fs::remove_file(&path);
            return None;
        }
        let text = String::from_utf8(bytes).ok()?;
        // Refresh the entry's age for least-recently-used eviction; failure only costs accuracy.
        if let Ok(f) = std::fs::File::options().write(true).open(&path) {
            let _ = f.set_modified(SystemTime::now());
        }
        Some(text)
    }

    /// Store a manifest (already verified by the caller; verified again here).
    pub fn put(&self, digest: &str, text: &str) -> std::io::Result<()> {
        let (Some(path), Some(shard)) = (self.path(digest), self.shard()) else {
            return Ok(());
        };
        if let Err(e) = crate::digest::verify(digest, text.as_bytes()) {
            return Err(std::io::Error::new(std::io::ErrorKind::InvalidData, e));
        }
        std::fs::create_dir_all(&shard)?;
        let mut tmp = tempfile::Builder::new()
            .prefix(TEMP_PREFIX)
            .tempfile_in(&shard)?;
        tmp.write_all(text.as_bytes())?;
        tmp.flush()?;
        // Rename into place: atomic, and a concurrent writer of the same digest writes the same
        // bytes, so whichever rename wins is right.
        tmp.persist(&path).map_err(|e| e.error)?;
        Ok(())
    }

    /// Remove the least recently used entries beyond the bounds, and stale temporary files.
    pub fn evict(&self) -> std::io::Result<Eviction> {
        let Some(shard) = self.shard() else {
            return Ok(Eviction::default());
        };
        let now = SystemTime::now();
        let mut entries: Vec<(SystemTime, u64, PathBuf)> = Vec::new();
        for item in std::fs::read_dir(&shard)? {
            let Ok(item) = item else { continue };
            let name = item.file_name();
            let Ok(meta) = item.metadata() else { continue };
            if !meta.is_file() {
                continue;
            }
            let mtime = meta.modified().unwrap_or(SystemTime::UNIX_EPOCH);
            if name.to_string_lossy().starts_with(TEMP_PREFIX) {
                if now.duration_since(mtime).unwrap_or_default() > STALE_TEMP {
                    let _ = std::fs::remove_file(item.path());
                }
                continue;
            }
            entries.push((mtime, meta.len(), item.path()));
        }
        let mut total: u64 = entries.iter().map(|e| e.1).sum();
        let mut count = entries.len();
        let mut out = Eviction::default();
        if count > self.max_entries || total > self.max_bytes {
            // Oldest first; the path breaks ties so that the order is stable.
            entries.sort_by(|a, b| a.0.cmp(&b.0).then_with(|| a.2.cmp(&b.2)));
            for (_, len, path) in &entries {
                if count <= self.max_entries && total <= self.max_bytes {
                    break;
                }
                match std::fs::remove_file(path) {
                    Ok(()) => {}
                    // A concurrent run removed it first.
                    Err(e) if e.kind() == std::io::ErrorKind::NotFound => {}
                    Err(e) => return Err(e),
                }
                count -= 1;
                total = total.saturating_sub(*len);
                out.removed += 1;
            }
        }
        out.entries = count;
        out.bytes = total;
        Ok(out)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use sha2::{Digest, Sha256};

    fn digest(text: &str) -> String {
        format!("sha256:{}", hex::encode(Sha256::digest(text.as_bytes())))
    }

    #[test]
    fn put_get_and_damage() {
        let dir = tempfile::tempdir().unwrap();
        let cache = ManifestCache::open(dir.path()).unwrap();
        let text = r#"{"schemaVersion":2}"#;
        let d = digest(text);
        assert_eq!(cache.get(&d), None);
        cache.put(&d, text).unwrap();
        assert_eq!(cache.get(&d).as_deref(), Some(text));
        // A damaged entry is detected and removed.
        let path = dir.path().join("manifests/sha256").join(&d[7..]);
        std::fs::write(&path, "tampered").unwrap();
        assert_eq!(cache.get(&d), None);
        assert!(!path.exists());
        // Wrong bytes for a digest are refused on write.
        assert!(cache.put(&d, "other").is_err());
        // Digests that are not sha256 hex are never turned into paths.
        assert_eq!(cache.get("sha256:../../etc/passwd"), None);
    }

    #[test]
    fn disabled_cache_stores_nothing() {
        let cache = ManifestCache::disabled();
        let d = digest("{}");
        cache.put(&d, "{}").unwrap();
        assert_eq!(cache.get(&d), None);
        assert_eq!(cache.evict().unwrap(), Eviction::default());
    }
}
