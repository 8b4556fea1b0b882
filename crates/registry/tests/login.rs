//! login, logout and authenticated pull/push against a real registry that demands
//! htpasswd basic auth (user `u`, password `p`) on 127.0.0.1.

#![allow(clippy::unwrap_used, clippy::expect_used)]

mod support;

use std::fs;

use base64::Engine as _;
use registry::{Error, Platform, RegistryConfig};
use support::*;

#[test]
fn login_checks_the_password_before_storing_it() {
    let reg = Registry::start_with_auth();
    let tmp = tempfile::tempdir().unwrap();
    let auth_file = tmp.path().join("auth.json");
    let client = client_in(tmp.path(), &RegistryConfig::default(), None);

    let err = client.login(&reg.addr(), "u", "wrong").unwrap_err();
    assert!(matches!(err, Error::LoginFailed { .. }), "{err:?}");
    assert_eq!(
        err.to_string(),
        format!(
            "login to {} failed: unauthorized: incorrect username or password",
            reg.addr()
        )
    );
    assert!(!auth_file.exists(), "refused credentials were stored");

    client.login(&reg.addr(), "u", "p").unwrap();
    let saved: serde_json::Value = serde_json::from_slice(&fs::read(&auth_file).unwrap()).unwrap();
    assert_eq!(
        saved["auths"][reg.addr()]["auth"],
        base64::engine::general_purpose::STANDARD.encode("u:p")
    );
}

#[test]
fn pull_and_push_need_the_login() {
    let reg = Registry::start_with_auth();
    let tmp = tempfile::tempdir().unwrap();
    let client = client_in(tmp.path(), &RegistryConfig::default(), None);
    let image = reg.image("team/app:1");
    let img = TestImage::new("amd64", 20_000, 11);

    let err = client.resolve(&image, &Platform::host()).unwrap_err();
    assert!(matches!(err, Error::PullDenied { .. }), "{err:?}");
    assert_eq!(
        err.to_string(),
        format!(
            "pull access denied for {}/team/app, repository does not exist or may require 'berth login'",
            reg.addr()
        )
    );
    let blob = tmp.path().join("config");
    fs::write(&blob, &img.config).unwrap();
    let err = client
        .push_blob_file(
            &image,
            &blob,
            &img.config_desc.digest,
            img.config_desc.size,
            &|_| {},
        )
        .unwrap_err();
    assert!(matches!(err, Error::PushDenied { .. }), "{err:?}");

    client.login(&reg.addr(), "u", "p").unwrap();
    let digest = img.push(&client, &image, tmp.path());
    let r = client.resolve(&image, &Platform::host()).unwrap();
    assert_eq!(r.manifest_digest, digest);
    let dest = tmp.path().join("layer");
    client
        .fetch_blob(&image, &r.layers[0], &dest, &|_| {})
        .unwrap();
    assert_eq!(fs::read(&dest).unwrap(), img.layer);

    // A new client finds the stored credentials, and so does skopeo.
    let other = client_in(tmp.path(), &RegistryConfig::default(), None);
    assert_eq!(
        other
            .resolve(&image, &Platform::host())
            .unwrap()
            .manifest_digest,
        digest
    );
    let out = skopeo(&[
        "inspect",
        "--tls-verify=false",
        "--authfile",
        tmp.path().join("auth.json").to_str().unwrap(),
        &format!("docker://{}/team/app:1", reg.addr()),
    ]);
    assert!(out.contains(&digest), "{out}");
}

#[test]
fn logout_removes_the_login() {
    let reg = Registry::start_with_auth();
    let tmp = tempfile::tempdir().unwrap();
    let client = client_in(tmp.path(), &RegistryConfig::default(), None);
    let image = reg.image("team/app:1");
    client.login(&reg.addr(), "u", "p").unwrap();
    TestImage::new("amd64", 100, 12).push(&client, &image, tmp.path());

    client.logout(&reg.addr()).unwrap();
    let err = client.resolve(&image, &Platform::host()).unwrap_err();
    assert!(matches!(err, Error::PullDenied { .. }), "{err:?}");
    assert_eq!(
        client.logout(&reg.addr()).unwrap_err().to_string(),
        format!("not logged in to {}", reg.addr())
    );
}

#[test]
fn login_to_an_open_registry_is_accepted() {
    let reg = Registry::start();
    let tmp = tempfile::tempdir().unwrap();
    let client = client_in(tmp.path(), &RegistryConfig::default(), None);
    client
        .login(&format!("http://{}/", reg.addr()), "any", "thing")
        .unwrap();
    let saved = fs::read_to_string(tmp.path().join("auth.json")).unwrap();
    assert!(saved.contains(&format!("\"{}\"", reg.addr())), "{saved}");
}

/// A registry with a token service, like Docker Hub: `/v2/` challenges with Bearer,
/// `/token` trades `u`:`p` for a token, and manifests need that token.
fn token_registry() -> Fake {
    let port = std::sync::Arc::new(std::sync::OnceLock::<u16>::new());
    let p2 = port.clone();
    let img = TestImage::new("amd64", 10, 13);
    let manifest = img.manifest.clone();
    let fake = Fake::start_with_v2(move |req, _| {
        let realm = format!("http://127.0.0.1:{}/token", p2.get().copied().unwrap_or(0));
        let challenge = format!(r#"Bearer realm="{realm}",service="fake""#);
        let auth = req
            .headers
            .get("authorization")
            .cloned()
            .unwrap_or_default();
        if req.path.starts_with("/token") {
            let good = format!(
                "Basic {}",
                base64::engine::general_purpose::STANDARD.encode("u:p")
            );
            return if auth == good {
                Reply::new(200, r#"{"token":"tok3n"}"#)
            } else {
                Reply::new(401, r#"{"details":"incorrect username or password"}"#)
            };
        }
        if auth != "Bearer tok3n" {
            return Reply::new(
                401,
                r#"{"errors":[{"code":"UNAUTHORIZED","message":"authentication required"}]}"#,
            )
            .header("WWW-Authenticate", &challenge);
        }
        if req.path == "/v2/" {
            Reply::new(200, "{}")
        } else {
            Reply::new(200, manifest.clone())
        }
    });
    port.set(fake.port).unwrap();
    fake
}

#[test]
fn bearer_token_registries_work_for_login_and_pull() {
    let fake = token_registry();
    let tmp = tempfile::tempdir().unwrap();
    let client = client_in(tmp.path(), &RegistryConfig::default(), None);
    let image = fake.image("x/y:1");
    let registry = format!("127.0.0.1:{}", fake.port);

    let err = client.resolve(&image, &Platform::host()).unwrap_err();
    assert!(matches!(err, Error::PullDenied { .. }), "{err:?}");
    let err = client.login(&registry, "u", "nope").unwrap_err();
    assert!(
        err.to_string()
            .ends_with("unauthorized: incorrect username or password"),
        "{err}"
    );
    client.login(&registry, "u", "p").unwrap();
    // Like Docker, the login asks the token service for no scope, naming the account.
    let logins: Vec<_> = fake
        .requests("/token")
        .into_iter()
        .filter(|r| r.headers.contains_key("authorization"))
        .collect();
    assert_eq!(logins.len(), 2, "{logins:?}");
    assert!(
        logins
            .iter()
            .all(|r| r.path.contains("account=u") && !r.path.contains("scope")),
        "{logins:?}"
    );

    let r = client.resolve(&image, &Platform::host()).unwrap();
    assert_eq!(
        r.manifest_digest,
        sha256(&TestImage::new("amd64", 10, 13).manifest)
    );
}
