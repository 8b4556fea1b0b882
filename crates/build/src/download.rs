//! Downloads ADD's `http(s)://` sources into a scratch directory, as Docker does: the
//! file is named after the URL's last path component, gets mode 0600 and the
//! `Last-Modified` time, and is checked against `--checksum` before anything uses it.
//! Owns the HTTP request, the digest check and the date parsing; never unpacks what it
//! downloads and never writes outside the directory it is given.

use std::fs::{self, File};
use std::io::Write;
use std::os::unix::fs::PermissionsExt;
use std::path::Path;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use sha2::{Digest as _, Sha256, Sha384, Sha512};

const CONNECT_TIMEOUT: Duration = Duration::from_secs(30);
/// Longest silence in the middle of a response before the download is abandoned.
const READ_TIMEOUT: Duration = Duration::from_secs(60);

/// A `--checksum=ALGO:HEX` value.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Checksum {
    algorithm: &'static str,
    hex: String,
}

impl Checksum {
    pub fn parse(text: &str) -> Result<Checksum, String> {
        let bad = || {
            format!("--checksum={text}: give a digest like sha256:<64 hex digits> (sha384 and sha512 work too)")
        };
        let (algo, hex) = text.split_once(':').ok_or_else(bad)?;
        let (algorithm, len) = match algo {
            "sha256" => ("sha256", 64),
            "sha384" => ("sha384", 96),
            "sha512" => ("sha512", 128),
            _ => return Err(bad()),
        };
        if hex.len() != len || !hex.bytes().all(|b| b.is_ascii_hexdigit()) {
            return Err(bad());
        }
        Ok(Checksum {
            algorithm,
            hex: hex.to_ascii_lowercase(),
        })
    }

    fn hasher(&self) -> Box<dyn sha2::digest::DynDigest> {
        match self.algorithm {
            "sha384" => Box::new(Sha384::new()),
            "sha512" => Box::new(Sha512::new()),
            _ => Box::new(Sha256::new()),
        }
    }
}

/// The name Docker gives a download: the last non-empty component of the URL's path.
pub fn file_name(url: &str) -> Option<String> {
    let after_scheme = url.split_once("://").map_or(url, |(_, r)| r);
    let path = after_scheme.split_once('/').map_or("", |(_, p)| p);
    let path = path.split(['?', '#']).next().unwrap_or("");
    path.rsplit('/')
        .find(|c| !c.is_empty() && *c != "." && *c != "..")
        .map(str::to_string)
}

/// Downloads `url` to `dir/name`. Errors are for the person who wrote the Dockerfile.
pub fn fetch(url: &str, dir: &Path, name: &str, checksum: Option<&Checksum>) -> Result<(), String> {
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .map_err(|e| format!("starting the HTTP client: {e}"))?;
    let path = dir.join(name);
    let modified = runtime.block_on(get(url, &path, checksum))?;
    let f = File::options()
        .write(true)
        .open(&path)
        .map_err(|e| format!("{}: {e}", path.display()))?;
    if let Some(t) = modified {
        f.set_modified(t)
            .map_err(|e| format!("setting the time of {}: {e}", path.display()))?;
    }
    fs::set_permissions(&path, fs::Permissions::from_mode(0o600))
        .map_err(|e| format!("chmod {}: {e}", path.display()))
}

async fn get(
    url: &str,
    path: &Path,
    checksum: Option<&Checksum>,
) -> Result<Option<SystemTime>, String> {
    let client = reqwest::Client::builder()
        .connect_timeout(CONNECT_TIMEOUT)
        .read_timeout(READ_TIMEOUT)
        .user_agent(concat!("berth/", env!("CARGO_PKG_VERSION")))
        .build()
        .map_err(|e| format!("starting the HTTP client: {e}"))?;
    let mut resp = client.get(url).send().await.map_err(|e| {
        let why = if e.is_connect() {
            "cannot connect"
        } else if e.is_timeout() {
            "timed out"
        } else {
            "request failed"
        };
        format!(
            "downloading {url}: {why}: {} (check the URL and that the server is up)",
            root_cause(&e)
        )
    })?;
    let status = resp.status();
    if !status.is_success() {
        return Err(format!("downloading {url}: the server answered {status}"));
    }
    let modified = resp
        .headers()
        .get(reqwest::header::LAST_MODIFIED)
        .and_then(|v| v.to_str().ok())
        .and_then(parse_http_date);
    let mut out = File::create(path).map_err(|e| format!("{}: {e}", path.display()))?;
    let mut digest = checksum.map(Checksum::hasher);
    while let Some(chunk) = resp
        .chunk()
        .await
        .map_err(|e| format!("downloading {url}: {}", root_cause(&e)))?
    {
        if let Some(d) = digest.as_mut() {
            d.update(&chunk);
        }
        out.write_all(&chunk)
            .map_err(|e| format!("writing {}: {e}", path.display()))?;
    }
    out.flush()
        .map_err(|e| format!("writing {}: {e}", path.display()))?;
    if let (Some(want), Some(d)) = (checksum, digest) {
        let got = hex::encode(d.finalize());
        if got != want.hex {
            return Err(format!(
                "{url}: checksum mismatch: the download is {}:{got}, --checksum says {}:{} (fix the checksum or the URL)",
                want.algorithm, want.algorithm, want.hex
            ));
        }
    }
    Ok(modified)
}

/// The innermost message of an error chain (reqwest's outer text hides the cause).
fn root_cause(e: &(dyn std::error::Error + 'static)) -> String {
    let mut cur = e;
    while let Some(next) = cur.source() {
        cur = next;
    }
    cur.to_string()
}

/// Reads an HTTP date in its preferred form (`Sun, 06 Nov 1994 08:49:37 GMT`).
fn parse_http_date(text: &str) -> Option<SystemTime> {
    let parts: Vec<&str> = text.split_whitespace().collect();
    let [_, day, month, year, time, "GMT"] = parts.as_slice() else {
        return None;
    };
    let day: u64 = day.parse().ok()?;
    let month = [
        "Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec",
    ]
    .iter()
    .position(|m| m == month)? as u64
        + 1;
    let year: u64 = year.parse().ok()?;
    let hms: Vec<u64> = time
        .split(':')
        .map(str::parse)
        .collect::<Result<_, _>>()
        .ok()?;
    let [h, m, s] = hms.as_slice() else {
        return None;
    };
    if year < 1970 || !(1..=31).contains(&day) || *h > 23 || *m > 59 || *s > 60 {
        return None;
    }
    let secs = days_since_epoch(year, month, day) * 86_400 + h * 3600 + m * 60 + s;
    Some(UNIX_EPOCH + Duration::from_secs(secs))
}

/// Days from 1970-01-01 to a civil date (proleptic Gregorian).
fn days_since_epoch(year: u64, month: u64, day: u64) -> u64 {
    let leap = |y: u64| (y.is_multiple_of(4) && !y.is_multiple_of(100)) || y.is_multiple_of(400);
    let mut days = (1970..year)
        .map(|y| if leap(y) { 366 } else { 365 })
        .sum::<u64>();
    let lengths = [
        31,
        if leap(year) { 29 } else { 28 },
        31,
        30,
        31,
        30,
        31,
        31,
        30,
        31,
        30,
        31,
    ];
    days += lengths.iter().take((month - 1) as usize).sum::<u64>();
    days + day - 1
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn checksums_need_a_known_algorithm_and_the_right_length() {
        let ok = format!("sha256:{}", "a".repeat(64));
        assert!(Checksum::parse(&ok).is_ok());
        for bad in [
            "sha256",
            "md5:abc",
            "sha256:abc",
            &format!("sha256:{}", "g".repeat(64)),
        ] {
            assert!(
                Checksum::parse(bad).unwrap_err().contains("sha256:<64 hex"),
                "{bad}"
            );
        }
    }

    #[test]
    fn names_and_dates() {
        assert_eq!(
            file_name("https://h/a/b.tar.gz?x=1").as_deref(),
            Some("b.tar.gz")
        );
        assert_eq!(file_name("https://h/a/dir/").as_deref(), Some("dir"));
        assert_eq!(file_name("https://h"), None);
        let t = parse_http_date("Sun, 06 Nov 1994 08:49:37 GMT").unwrap();
        assert_eq!(t.duration_since(UNIX_EPOCH).unwrap().as_secs(), 784_111_777);
        assert_eq!(parse_http_date("yesterday"), None);
    }
}
