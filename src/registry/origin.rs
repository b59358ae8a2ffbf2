//! Which container registry holds an owner's images: `--registry`, else the one that goes with
//! the GitHub instance in `GITHUB_SERVER_URL`.
//!
//! github.com serves its images at ghcr.io; GitHub Enterprise Server at `containers.HOST` (its
//! container registry requires subdomain isolation); GHE.com (`SUB.ghe.com`) at
//! `containers.SUB.ghe.com`. Reading manifests from ghcr.io for a GHES owner would fail for every
//! image (and every container deletion would then be withheld), so the registry follows the
//! server the runner says it runs on. The choice is printed, with where it came from.

use reqwest::Url;

use super::RegistryError;

/// The registry of github.com.
pub const GHCR: &str = "https://ghcr.io";

/// The registry to read manifests from, and where that choice came from (for the log).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct RegistryChoice {
    pub url: String,
    pub source: String,
}

/// `--registry` when given; else derived from `server_url` (the value of `GITHUB_SERVER_URL`);
/// else ghcr.io.
pub fn resolve(
    flag: Option<&str>,
    server_url: Option<&str>,
) -> Result<RegistryChoice, RegistryError> {
    if let Some(flag) = flag.map(str::trim).filter(|f| !f.is_empty()) {
        return Ok(RegistryChoice {
            url: flag.to_string(),
            source: "--registry".to_string(),
        });
    }
    let Some(server) = server_url.map(str::trim).filter(|s| !s.is_empty()) else {
        return Ok(RegistryChoice {
            url: GHCR.to_string(),
            source: "the default; GITHUB_SERVER_URL is not set".to_string(),
        });
    };
    let url = Url::parse(server).map_err(|e| RegistryError::ServerNotAUrl {
        server: server.to_string(),
        reason: e.to_string(),
    })?;
    let host = match (url.scheme(), url.host_str()) {
        ("https" | "http", Some(host)) => host.to_ascii_lowercase(),
        _ => {
            return Err(RegistryError::ServerNotHttp {
                server: server.to_string(),
            })
        }
    };
    let source = format!("derived from GITHUB_SERVER_URL {server}");
    if host == "github.com" || host == "www.github.com" {
        return Ok(RegistryChoice {
            url: GHCR.to_string(),
            source,
        });
    }
    // GHES (https://HOST) and GHE.com (https://SUB.ghe.com) both serve it at containers.<host>.
    let port = url.port().map(|p| format!(":{p}")).unwrap_or_default();
    Ok(RegistryChoice {
        url: format!("{}://containers.{host}{port}", url.scheme()),
        source,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn url(flag: Option<&str>, server: Option<&str>) -> String {
        match resolve(flag, server) {
            Ok(c) => c.url,
            Err(e) => format!("ERR {e}"),
        }
    }

    #[test]
    fn github_com_uses_ghcr() {
        assert_eq!(url(None, Some("https://github.com")), "https://ghcr.io");
        assert_eq!(url(None, Some("https://github.com/")), "https://ghcr.io");
        assert_eq!(url(None, Some("https://GitHub.com")), "https://ghcr.io");
    }

    #[test]
    fn without_a_server_url_the_default_is_ghcr() {
        assert_eq!(url(None, None), "https://ghcr.io");
        assert_eq!(url(None, Some("  ")), "https://ghcr.io");
        let c = resolve(None, None).unwrap();
        assert!(c.source.contains("default"), "{}", c.source);
    }

    #[test]
    fn enterprise_server_uses_its_containers_subdomain() {
        assert_eq!(
            url(None, Some("https://github.example.com")),
            "https://containers.github.example.com"
        );
        assert_eq!(
            url(None, Some("https://ghes.internal:8443/")),
            "https://containers.ghes.internal:8443"
        );
        let c = resolve(None, Some("https://github.example.com")).unwrap();
        assert_eq!(
            c.source,
            "derived from GITHUB_SERVER_URL https://github.example.com"
        );
    }

    #[test]
    fn ghe_com_uses_containers_of_its_subdomain() {
        assert_eq!(
            url(None, Some("https://octocorp.ghe.com")),
            "https://containers.octocorp.ghe.com"
        );
    }

    #[test]
    fn the_flag_wins_over_the_server_url() {
        let c = resolve(
            Some("http://127.0.0.1:5000"),
            Some("https://github.example.com"),
        )
        .unwrap();
        assert_eq!(c.url, "http://127.0.0.1:5000");
        assert_eq!(c.source, "--registry");
    }

    #[test]
    fn a_bad_server_url_is_an_error_with_help() {
        let e = url(None, Some("not a url"));
        assert!(
            e.starts_with("ERR GITHUB_SERVER_URL `not a url` is not a URL"),
            "{e}"
        );
        assert!(e.contains("help: pass --registry"), "{e}");
        let e = url(None, Some("ftp://github.example.com"));
        assert!(e.contains("not an http(s) URL"), "{e}");
    }
}
