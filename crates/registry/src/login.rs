//! Owns `login` and `logout`: checking a user name and password against a registry's
//! `/v2/` endpoint (answering its bearer-token or basic challenge) and only then saving
//! them to the credentials file; removing them again. Never stores credentials the
//! registry refused, and never sends them over plain HTTP to a token service of a
//! registry reached over HTTPS.
//!
//! oci-client cannot do the check: for a basic challenge it accepts any credentials
//! without trying them, so this talks to the registry with reqwest directly.

use reqwest::header::WWW_AUTHENTICATE;
use reqwest::StatusCode;

use crate::auth::Credentials;
use crate::client::Client;
use crate::error::{from_reqwest, Error, Result};
use crate::reference::normalize_registry;
use crate::transport::{api_host, Transport};

const WRONG_PASSWORD: &str = "unauthorized: incorrect username or password";

impl Client {
    /// Checks `username`/`password` against `registry` (`docker.io` if empty) and, if
    /// the registry accepts them, stores them in the credentials file.
    pub fn login(&self, registry: &str, username: &str, password: &str) -> Result<()> {
        let registry = normalize_registry(registry);
        let host = api_host(&registry);
        self.block_on(async {
            let t = self.transport(&host, false).await?;
            check(&t, &registry, username, password).await
        })?;
        self.settings().auth_file.store(
            &registry,
            &Credentials {
                username: username.to_string(),
                password: password.to_string(),
            },
        )?;
        self.forget(&host);
        Ok(())
    }

    /// Removes the stored credentials for `registry`; `NotLoggedIn` if there were none.
    pub fn logout(&self, registry: &str) -> Result<()> {
        let registry = normalize_registry(registry);
        self.settings().auth_file.remove(&registry)?;
        self.forget(&api_host(&registry));
        Ok(())
    }
}

enum Challenge {
    Bearer {
        realm: String,
        service: Option<String>,
    },
    Basic,
}

async fn check(t: &Transport, registry: &str, user: &str, pass: &str) -> Result<()> {
    let failed = |reason: String| Error::LoginFailed {
        registry: registry.to_string(),
        reason,
    };
    let net = |e: reqwest::Error| from_reqwest(&e, &t.host, |s| failed(format!("HTTP {s}")));
    let url = format!("{}://{}/v2/", t.scheme, t.host);
    let res = t.http.get(&url).send().await.map_err(net)?;
    match res.status() {
        // A registry without authentication takes anyone; Docker saves the login anyway.
        StatusCode::OK => return Ok(()),
        StatusCode::UNAUTHORIZED => {}
        s => return Err(failed(format!("GET {url} answered {s}"))),
    }
    let header = res
        .headers()
        .get_all(WWW_AUTHENTICATE)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .collect::<Vec<_>>()
        .join(", ");
    let challenge = parse_challenge(&header)
        .ok_or_else(|| failed(format!("unsupported authentication challenge {header:?}")))?;
    let res = match challenge {
        Challenge::Basic => t.http.get(&url).basic_auth(user, Some(pass)).send().await,
        Challenge::Bearer { realm, service } => {
            if t.scheme == "https" && realm.starts_with("http://") {
                return Err(failed(format!(
                    "the registry's token service {realm} is plain HTTP; refusing to send the password there"
                )));
            }
            let mut query = vec![("account", user.to_string())];
            if let Some(s) = service {
                query.push(("service", s));
            }
            t.http
                .get(&realm)
                .query(&query)
                .basic_auth(user, Some(pass))
                .send()
                .await
        }
    }
    .map_err(net)?;
    match res.status() {
        s if s.is_success() => Ok(()),
        StatusCode::UNAUTHORIZED | StatusCode::FORBIDDEN => Err(failed(WRONG_PASSWORD.into())),
        s => Err(failed(format!("the registry answered {s}"))),
    }
}

/// The bearer challenge if the registry offers one (it is what Docker uses), else basic.
fn parse_challenge(header: &str) -> Option<Challenge> {
    let challenges = http_auth::parse_challenges(header).ok()?;
    let mut basic = false;
    for c in &challenges {
        if c.scheme.eq_ignore_ascii_case("bearer") {
            let param = |name: &str| {
                c.params
                    .iter()
                    .find(|(k, _)| k.eq_ignore_ascii_case(name))
                    .map(|(_, v)| v.to_unescaped())
            };
            if let Some(realm) = param("realm") {
                return Some(Challenge::Bearer {
                    realm,
                    service: param("service"),
                });
            }
        } else if c.scheme.eq_ignore_ascii_case("basic") {
            basic = true;
        }
    }
    basic.then_some(Challenge::Basic)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn challenges() {
        match parse_challenge(
            r#"Bearer realm="https://auth.docker.io/token",service="registry.docker.io""#,
        ) {
            Some(Challenge::Bearer { realm, service }) => {
                assert_eq!(realm, "https://auth.docker.io/token");
                assert_eq!(service.as_deref(), Some("registry.docker.io"));
            }
            _ => panic!("bearer not found"),
        }
        assert!(matches!(
            parse_challenge(r#"Basic realm="test""#),
            Some(Challenge::Basic)
        ));
        assert!(matches!(
            parse_challenge(r#"Basic realm="x", Bearer realm="https://t""#),
            Some(Challenge::Bearer { .. })
        ));
        assert!(parse_challenge("Negotiate").is_none());
        assert!(parse_challenge("").is_none());
    }
}
