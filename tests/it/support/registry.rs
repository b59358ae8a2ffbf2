//! A real OCI registry for tests: the CNCF distribution registry (`docker-registry`, Debian
//! package `docker-registry`) started as a plain process on a free loopback port, with a
//! temporary storage directory and config file, optionally behind htpasswd auth. Killed on drop.
//!
//! Also: pushing real content through the distribution API (blob upload POST/PUT, manifest PUT),
//! deleting manifests by digest, and counting manifest GETs in the registry's access log.
//!
//! When the binary is missing the tests that need it are skipped with a message, except when
//! `CI=true`: there they fail, so that CI never passes without having run them.
#![allow(dead_code)]

use std::io::Read;
use std::net::TcpListener;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use sha2::{Digest, Sha256};

/// The registry binary (override with `RETENTION_TEST_REGISTRY_BIN`).
pub fn registry_bin() -> PathBuf {
    std::env::var_os("RETENTION_TEST_REGISTRY_BIN")
        .map(PathBuf::from)
        .unwrap_or_else(|| PathBuf::from("/usr/bin/docker-registry"))
}

/// A running registry process.
pub struct Registry {
    child: Child,
    dir: tempfile::TempDir,
    pub port: u16,
    /// `user:password` when started with htpasswd auth.
    pub basic: Option<(String, String)>,
}

pub const OCI_INDEX: &str = "application/vnd.oci.image.index.v1+json";
pub const OCI_MANIFEST: &str = "application/vnd.oci.image.manifest.v1+json";
pub const OCI_CONFIG: &str = "application/vnd.oci.image.config.v1+json";
pub const OCI_LAYER: &str = "application/vnd.oci.image.layer.v1.tar+gzip";
pub const OCI_EMPTY: &str = "application/vnd.oci.empty.v1+json";
pub const DOCKER_LIST: &str = "application/vnd.docker.distribution.manifest.list.v2+json";
pub const DOCKER_MANIFEST: &str = "application/vnd.docker.distribution.manifest.v2+json";

impl Registry {
    /// Start an open registry, or `None` (skip) when the binary is missing outside CI.
    pub fn start() -> Option<Registry> {
        Registry::start_with(None)
    }

    /// Start a registry that requires `user`/`password` (htpasswd, bcrypt).
    pub fn start_htpasswd(user: &str, password: &str) -> Option<Registry> {
        Registry::start_with(Some((user.to_string(), password.to_string())))
    }

    fn start_with(basic: Option<(String, String)>) -> Option<Registry> {
        let bin = registry_bin();
        if !bin.exists() {
            let msg = format!(
                "{} is missing: install it with `apt-get install -y docker-registry`",
                bin.display()
            );
            if std::env::var("CI").is_ok_and(|v| v == "true" || v == "1") {
                panic!("{msg} (CI=true: registry tests may not be skipped)");
            }
            eprintln!("SKIPPED: {msg}");
            return None;
        }
        let mut last_err = String::new();
        for _ in 0..5 {
            match Registry::try_start(&bin, basic.clone()) {
                Ok(r) => return Some(r),
                Err(e) => last_err = e,
            }
        }
        panic!("cannot start {}: {last_err}", bin.display());
    }

    fn try_start(bin: &Path, basic: Option<(String, String)>) -> Result<Registry, String> {
        let dir = tempfile::tempdir().map_err(|e| e.to_string())?;
        let port = free_port();
        let storage = dir.path().join("storage");
        std::fs::create_dir_all(&storage).map_err(|e| e.to_string())?;
        let mut config = format!(
            "version: 0.1\n\
             log:\n  level: info\n  formatter: text\n  accesslog:\n    disabled: false\n\
             storage:\n  filesystem:\n    rootdirectory: {}\n  delete:\n    enabled: true\n  \
             maintenance:\n    uploadpurging:\n      enabled: false\n\
             http:\n  addr: 127.0.0.1:{port}\n  secret: retention-test-secret\n",
            storage.display()
        );
        if let Some((user, password)) = &basic {
            let hash = bcrypt::hash(password, 4).map_err(|e| e.to_string())?;
            let htpasswd = dir.path().join("htpasswd");
            std::fs::write(&htpasswd, format!("{user}:{hash}\n")).map_err(|e| e.to_string())?;
            config.push_str(&format!(
                "auth:\n  htpasswd:\n    realm: retention-test\n    path: {}\n",
                htpasswd.display()
            ));
        }
        let config_path = dir.path().join("config.yml");
        std::fs::write(&config_path, config).map_err(|e| e.to_string())?;
        let log =
            std::fs::File::create(dir.path().join("registry.log")).map_err(|e| e.to_string())?;
        let log2 = log.try_clone().map_err(|e| e.to_string())?;
        let child = Command::new(bin)
            .arg("serve")
            .arg(&config_path)
            .stdin(Stdio::null())
            .stdout(Stdio::from(log))
            .stderr(Stdio::from(log2))
            .spawn()
            .map_err(|e| format!("spawn: {e}"))?;
        let mut reg = Registry {
            child,
            dir,
            port,
            basic,
        };
        reg.wait_ready()?;
        Ok(reg)
    }

    /// Wait until `/v2/` answers (200, or 401 with auth).
    fn wait_ready(&mut self) -> Result<(), String> {
        let deadline = Instant::now() + Duration::from_secs(20);
        let url = format!("{}/v2/", self.url());
        while Instant::now() < deadline {
            if let Ok(Some(status)) = self.child.try_wait() {
                return Err(format!("exited with {status}: {}", self.log()));
            }
            if let Ok(mut stream) = std::net::TcpStream::connect(("127.0.0.1", self.port)) {
                use std::io::Write;
                let _ = stream.set_read_timeout(Some(Duration::from_secs(2)));
                let req = format!("GET /v2/ HTTP/1.0\r\nHost: 127.0.0.1:{}\r\n\r\n", self.port);
                if stream.write_all(req.as_bytes()).is_ok() {
                    let mut buf = [0u8; 64];
                    if let Ok(n) = stream.read(&mut buf) {
                        let head = String::from_utf8_lossy(&buf[..n]);
                        if head.contains(" 200 ") || head.contains(" 401 ") {
                            return Ok(());
                        }
                    }
                }
            }
            std::thread::sleep(Duration::from_millis(50));
        }
        Err(format!("{url} did not answer within 20 s: {}", self.log()))
    }

    /// `http://127.0.0.1:PORT`.
    pub fn url(&self) -> String {
        format!("http://127.0.0.1:{}", self.port)
    }

    /// The registry's log (stdout and stderr, access log included).
    pub fn log(&self) -> String {
        std::fs::read_to_string(self.dir.path().join("registry.log")).unwrap_or_default()
    }

    /// Manifest GETs by digest the registry served (200), from its access log.
    pub fn manifest_gets(&self) -> usize {
        self.log()
            .lines()
            .filter(|l| {
                l.contains("\"GET /v2/")
                    && l.contains("/manifests/sha256:")
                    && l.contains("\" 200 ")
            })
            .count()
    }

    /// A client that pushes to and deletes from this registry.
    pub fn pusher(&self) -> Pusher {
        Pusher {
            http: reqwest::Client::new(),
            base: self.url(),
            basic: self.basic.clone(),
        }
    }
}

impl Drop for Registry {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .map(|a| a.port())
        .expect("a free loopback port")
}

/// `sha256:<hex>` of bytes.
pub fn sha256(bytes: &[u8]) -> String {
    format!("sha256:{}", hex::encode(Sha256::digest(bytes)))
}

/// A pushed manifest: its digest, exact bytes and media type.
#[derive(Clone, Debug)]
pub struct Pushed {
    pub digest: String,
    pub bytes: String,
    pub media_type: String,
}

impl Pushed {
    /// A descriptor of this manifest, for an index.
    pub fn descriptor(&self) -> serde_json::Value {
        serde_json::json!({
            "mediaType": self.media_type,
            "digest": self.digest,
            "size": self.bytes.len(),
        })
    }

    /// `sha256-<hex>`: the cosign / referrers tag prefix for this digest.
    pub fn tag_prefix(&self) -> String {
        self.digest.replacen(':', "-", 1)
    }
}

/// Pushes blobs and manifests through the distribution API, and deletes manifests.
pub struct Pusher {
    http: reqwest::Client,
    base: String,
    basic: Option<(String, String)>,
}

impl Pusher {
    fn auth(&self, req: reqwest::RequestBuilder) -> reqwest::RequestBuilder {
        match &self.basic {
            Some((u, p)) => req.basic_auth(u, Some(p)),
            None => req,
        }
    }

    /// Upload a blob (monolithic: POST, then PUT with the digest); returns its descriptor.
    pub async fn blob(&self, repo: &str, media_type: &str, bytes: &[u8]) -> serde_json::Value {
        let digest = sha256(bytes);
        let start = self
            .auth(
                self.http
                    .post(format!("{}/v2/{repo}/blobs/uploads/", self.base)),
            )
            .send()
            .await
            .expect("blob upload POST");
        assert_eq!(
            start.status(),
            202,
            "blob upload POST: {:?}",
            start.text().await
        );
        let location = start
            .headers()
            .get("location")
            .and_then(|v| v.to_str().ok())
            .expect("Location")
            .to_string();
        let location = if location.starts_with("http") {
            location
        } else {
            format!("{}{location}", self.base)
        };
        let sep = if location.contains('?') { '&' } else { '?' };
        let put = self
            .auth(self.http.put(format!("{location}{sep}digest={digest}")))
            .header("content-type", "application/octet-stream")
            .body(bytes.to_vec())
            .send()
            .await
            .expect("blob upload PUT");
        assert_eq!(put.status(), 201, "blob upload PUT: {:?}", put.text().await);
        serde_json::json!({"mediaType": media_type, "digest": digest, "size": bytes.len()})
    }

    /// PUT a manifest under `reference` (a tag, or its digest when untagged).
    pub async fn manifest(
        &self,
        repo: &str,
        media_type: &str,
        value: &serde_json::Value,
        tag: Option<&str>,
    ) -> Pushed {
        let bytes = serde_json::to_string_pretty(value).expect("json");
        let digest = sha256(bytes.as_bytes());
        let reference = tag.map_or(digest.clone(), str::to_string);
        let r = self
            .auth(
                self.http
                    .put(format!("{}/v2/{repo}/manifests/{reference}", self.base)),
            )
            .header("content-type", media_type)
            .body(bytes.clone())
            .send()
            .await
            .expect("manifest PUT");
        let status = r.status();
        let header = r
            .headers()
            .get("docker-content-digest")
            .and_then(|v| v.to_str().ok())
            .map(str::to_string);
        assert_eq!(
            status,
            201,
            "manifest PUT {repo}:{reference}: {:?}",
            r.text().await
        );
        assert_eq!(header.as_deref(), Some(digest.as_str()), "registry digest");
        Pushed {
            digest,
            bytes,
            media_type: media_type.to_string(),
        }
    }

    /// DELETE a manifest by digest; the status code.
    pub async fn delete(&self, repo: &str, digest: &str) -> u16 {
        self.auth(
            self.http
                .delete(format!("{}/v2/{repo}/manifests/{digest}", self.base)),
        )
        .send()
        .await
        .expect("manifest DELETE")
        .status()
        .as_u16()
    }

    /// GET a manifest by digest or tag with all four Accept types: status and body.
    pub async fn get(&self, repo: &str, reference: &str) -> (u16, String) {
        let r = self
            .auth(
                self.http
                    .get(format!("{}/v2/{repo}/manifests/{reference}", self.base)),
            )
            .header(
                "accept",
                format!("{OCI_INDEX}, {OCI_MANIFEST}, {DOCKER_LIST}, {DOCKER_MANIFEST}"),
            )
            .send()
            .await
            .expect("manifest GET");
        let status = r.status().as_u16();
        (status, r.text().await.unwrap_or_default())
    }

    /// A single-platform OCI image: a real config blob and a layer blob, then the manifest.
    pub async fn image(&self, repo: &str, arch: &str, seed: &str, tag: Option<&str>) -> Pushed {
        let layer = format!("layer of {seed} for {arch}").into_bytes();
        let layer_desc = self.blob(repo, OCI_LAYER, &layer).await;
        let config = serde_json::json!({
            "architecture": arch, "os": "linux",
            "config": {"Env": [format!("SEED={seed}")]},
            "rootfs": {"type": "layers", "diff_ids": [sha256(&layer)]},
        });
        let config_desc = self
            .blob(
                repo,
                OCI_CONFIG,
                serde_json::to_string(&config).expect("json").as_bytes(),
            )
            .await;
        let m = serde_json::json!({
            "schemaVersion": 2, "mediaType": OCI_MANIFEST,
            "config": config_desc, "layers": [layer_desc],
        });
        self.manifest(repo, OCI_MANIFEST, &m, tag).await
    }

    /// A buildx-style attestation manifest (in-toto layer) for `subject`.
    pub async fn attestation(&self, repo: &str, subject: &Pushed) -> Pushed {
        let statement = format!(
            r#"{{"_type":"https://in-toto.io/Statement/v0.1","subject":[{{"digest":"{}"}}]}}"#,
            subject.digest
        );
        let layer = self
            .blob(repo, "application/vnd.in-toto+json", statement.as_bytes())
            .await;
        let config = self.blob(repo, OCI_CONFIG, br#"{"architecture":"unknown","os":"unknown","rootfs":{"type":"layers","diff_ids":[]}}"#).await;
        let m = serde_json::json!({
            "schemaVersion": 2, "mediaType": OCI_MANIFEST, "config": config, "layers": [layer],
        });
        self.manifest(repo, OCI_MANIFEST, &m, None).await
    }

    /// A multi-platform OCI index of `children` (`(manifest, arch)`) and attestations
    /// (`(attestation, the image it attests)`).
    pub async fn index(
        &self,
        repo: &str,
        children: &[(&Pushed, &str)],
        attestations: &[(&Pushed, &Pushed)],
        tag: Option<&str>,
    ) -> Pushed {
        let mut manifests: Vec<serde_json::Value> = children
            .iter()
            .map(|(p, arch)| {
                let mut d = p.descriptor();
                if p.media_type != OCI_INDEX {
                    d["platform"] = serde_json::json!({"architecture": arch, "os": "linux"});
                }
                d
            })
            .collect();
        for (att, of) in attestations {
            let mut d = att.descriptor();
            d["platform"] = serde_json::json!({"architecture": "unknown", "os": "unknown"});
            d["annotations"] = serde_json::json!({
                "vnd.docker.reference.type": "attestation-manifest",
                "vnd.docker.reference.digest": of.digest,
            });
            manifests.push(d);
        }
        let m =
            serde_json::json!({"schemaVersion": 2, "mediaType": OCI_INDEX, "manifests": manifests});
        self.manifest(repo, OCI_INDEX, &m, tag).await
    }

    /// A cosign-style signature of `subject`, tagged `sha256-<hex>.sig`.
    pub async fn cosign_signature(&self, repo: &str, subject: &Pushed) -> Pushed {
        let payload = format!(
            r#"{{"critical":{{"identity":{{"docker-reference":"{repo}"}},"image":{{"docker-manifest-digest":"{}"}},"type":"cosign container image signature"}},"optional":null}}"#,
            subject.digest
        );
        let mut layer = self
            .blob(
                repo,
                "application/vnd.dev.cosign.simplesigning.v1+json",
                payload.as_bytes(),
            )
            .await;
        layer["annotations"] =
            serde_json::json!({"dev.cosignproject.cosign/signature": "MEUCIQDfakesignature"});
        let config = self
            .blob(repo, OCI_CONFIG, br#"{"architecture":"","os":"","config":{},"rootfs":{"type":"layers","diff_ids":[]}}"#)
            .await;
        let m = serde_json::json!({
            "schemaVersion": 2, "mediaType": OCI_MANIFEST, "config": config, "layers": [layer],
        });
        let tag = format!("{}.sig", subject.tag_prefix());
        self.manifest(repo, OCI_MANIFEST, &m, Some(&tag)).await
    }

    /// An OCI 1.1 referrer (an SBOM artifact) with `subject`, untagged, plus the referrers
    /// fallback index tagged `sha256-<subject hex>` listing it. Returns (referrer, index).
    pub async fn referrer_with_fallback(&self, repo: &str, subject: &Pushed) -> (Pushed, Pushed) {
        let empty = self.blob(repo, OCI_EMPTY, b"{}").await;
        let sbom = format!(
            r#"{{"spdxVersion":"SPDX-2.3","name":"{}"}}"#,
            subject.digest
        );
        let layer = self
            .blob(repo, "application/spdx+json", sbom.as_bytes())
            .await;
        let m = serde_json::json!({
            "schemaVersion": 2, "mediaType": OCI_MANIFEST,
            "artifactType": "application/spdx+json",
            "config": empty, "layers": [layer],
            "subject": subject.descriptor(),
        });
        let referrer = self.manifest(repo, OCI_MANIFEST, &m, None).await;
        let mut d = referrer.descriptor();
        d["artifactType"] = serde_json::json!("application/spdx+json");
        let idx = serde_json::json!({"schemaVersion": 2, "mediaType": OCI_INDEX, "manifests": [d]});
        let index = self
            .manifest(repo, OCI_INDEX, &idx, Some(&subject.tag_prefix()))
            .await;
        (referrer, index)
    }
}
