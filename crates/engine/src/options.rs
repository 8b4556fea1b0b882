//! Turns what the user typed for `run`/`create` (`-v`, `--mount`, `--tmpfs`, `-e`,
//! `--env-file`, `--ulimit`, `--label`, ...) into record fields, rejecting bad input with
//! Docker's wording. Pure parsing: touches no state.

use std::collections::BTreeMap;
use std::path::Path;

use crate::error::{Error, Result};
use crate::record::{MountPoint, MountType, Ulimit};

/// `-e K=V` / `-e K` (taken from berth's own environment, dropped when unset).
pub fn parse_env(items: &[String]) -> Vec<String> {
    items
        .iter()
        .filter_map(|e| {
            if e.contains('=') {
                Some(e.clone())
            } else {
                std::env::var(e).ok().map(|v| format!("{e}={v}"))
            }
        })
        .collect()
}

/// `--env-file FILE`: KEY=VALUE lines, `#` comments, bare KEY taken from our environment.
pub fn read_env_file(path: &Path) -> Result<Vec<String>> {
    let text = std::fs::read_to_string(path).map_err(|e| {
        Error::invalid(format!(
            "open {}: {e} (check the --env-file path)",
            path.display()
        ))
    })?;
    let mut out = Vec::new();
    for (n, line) in text.lines().enumerate() {
        let line = line.trim_start();
        if line.is_empty() || line.starts_with('#') {
            continue;
        }
        let key = line.split('=').next().unwrap_or("");
        if key.is_empty() || key.contains(char::is_whitespace) {
            return Err(Error::invalid(format!(
                "{}:{}: invalid environment variable {line:?}: a variable name cannot be empty or contain whitespace",
                path.display(),
                n + 1
            )));
        }
        if line.contains('=') {
            out.push(line.to_string());
        } else if let Ok(v) = std::env::var(key) {
            out.push(format!("{key}={v}"));
        }
    }
    Ok(out)
}

/// Merges env lists: later entries override earlier ones with the same key, and the
/// order of first appearance is kept.
pub fn merge_env(layers: &[&[String]]) -> Vec<String> {
    let mut out: Vec<String> = Vec::new();
    for layer in layers {
        for e in layer.iter() {
            let key = e.split('=').next().unwrap_or("");
            match out.iter_mut().find(|x| x.split('=').next() == Some(key)) {
                Some(slot) => *slot = e.clone(),
                None => out.push(e.clone()),
            }
        }
    }
    out
}

/// `--label k=v` (a bare `k` means an empty value).
pub fn parse_labels(items: &[String]) -> BTreeMap<String, String> {
    items
        .iter()
        .map(|l| match l.split_once('=') {
            Some((k, v)) => (k.to_string(), v.to_string()),
            None => (l.clone(), String::new()),
        })
        .collect()
}

fn check_target(target: &str, what: &str) -> Result<()> {
    if !target.starts_with('/') {
        return Err(Error::invalid(format!(
            "invalid {what}: mount destination {target:?} is not an absolute path"
        )));
    }
    if target == "/" {
        return Err(Error::invalid(format!(
            "invalid {what}: cannot mount over the container's root /"
        )));
    }
    Ok(())
}

/// The mount option that carries `volume-subpath` down to the runtime, which opens it
/// inside the volume without following a symlink out of it.
pub const SUBPATH: &str = "berth-subpath=";

/// `-v SRC:DST[:OPTS]`, `-v NAME:DST`, `-v DST` (anonymous volume).
pub fn parse_volume(spec: &str) -> Result<MountPoint> {
    let parts: Vec<&str> = spec.split(':').collect();
    let bad = || {
        Error::invalid(format!("invalid volume specification {spec:?}: use HOST-PATH:CONTAINER-PATH[:ro|rw], NAME:CONTAINER-PATH or CONTAINER-PATH"))
    };
    let (source, target, opts) = match parts.as_slice() {
        [t] => ("", *t, ""),
        [s, t] => (*s, *t, ""),
        [s, t, o] => (*s, *t, *o),
        _ => return Err(bad()),
    };
    if target.is_empty() {
        return Err(bad());
    }
    check_target(target, "volume specification")?;
    let mut read_only = false;
    let mut options = Vec::new();
    for o in opts.split(',').filter(|o| !o.is_empty()) {
        match o {
            "ro" | "readonly" => read_only = true,
            "rw" => read_only = false,
            "z" | "Z" => {} // SELinux relabel: nothing to do without SELinux
            "private" | "rprivate" | "shared" | "rshared" | "slave" | "rslave" | "nocopy" => {
                options.push(o.to_string())
            }
            _ => {
                return Err(Error::invalid(format!(
                    "invalid volume specification {spec:?}: unknown option {o:?} (use ro or rw)"
                )))
            }
        }
    }
    let kind = if source.is_empty() {
        MountType::Volume
    } else if source.starts_with('/') || source.starts_with('.') {
        MountType::Bind
    } else {
        validate_volume_name(source)?;
        MountType::Volume
    };
    Ok(MountPoint {
        kind,
        source: source.to_string(),
        target: target.to_string(),
        read_only,
        options,
        anonymous: source.is_empty(),
    })
}

pub fn validate_volume_name(name: &str) -> Result<()> {
    let mut chars = name.chars();
    let ok = matches!(chars.next(), Some(c) if c.is_ascii_alphanumeric())
        && chars.all(|c| c.is_ascii_alphanumeric() || matches!(c, '_' | '.' | '-'));
    if ok {
        Ok(())
    } else {
        Err(Error::invalid(format!(
            "{name:?} includes invalid characters for a local volume name, only [a-zA-Z0-9][a-zA-Z0-9_.-] are allowed; if you meant a host directory, use an absolute path"
        )))
    }
}

/// `--mount type=bind|volume|tmpfs,source=...,target=...,readonly,...`.
pub fn parse_mount(spec: &str) -> Result<MountPoint> {
    let mut m = MountPoint::default();
    let mut kind = None;
    for field in spec.split(',') {
        let (k, v) = match field.split_once('=') {
            Some((k, v)) => (k.trim(), Some(v.trim())),
            None => (field.trim(), None),
        };
        let need = |v: Option<&str>| {
            v.map(str::to_string).ok_or_else(|| {
                Error::invalid(format!(
                    "invalid field '{field}' in --mount {spec:?}: must be a key=value pair"
                ))
            })
        };
        match k {
            "type" => {
                kind = Some(match need(v)?.as_str() {
                    "bind" => MountType::Bind,
                    "volume" => MountType::Volume,
                    "tmpfs" => MountType::Tmpfs,
                    other => {
                        return Err(Error::invalid(format!(
                            "invalid mount type {other:?} in --mount: use bind, volume or tmpfs"
                        )))
                    }
                })
            }
            "source" | "src" => m.source = need(v)?,
            "target" | "destination" | "dst" => m.target = need(v)?,
            "readonly" | "ro" => m.read_only = !matches!(v, Some("false") | Some("0")),
            "bind-propagation" => m.options.push(need(v)?),
            "volume-nocopy" => m.options.push("nocopy".into()),
            "volume-subpath" => {
                let sub = need(v)?;
                let clean: Vec<&str> = sub
                    .split('/')
                    .filter(|c| !c.is_empty() && *c != ".")
                    .collect();
                if sub.starts_with('/') || clean.is_empty() || clean.contains(&"..") {
                    return Err(Error::invalid(format!(
                        "--mount volume-subpath={sub}: give a relative path inside the volume (no '..')"
                    )));
                }
                m.options.push(format!("{SUBPATH}{}", clean.join("/")));
            }
            "tmpfs-size" => {
                let size = crate::units::parse_bytes(&need(v)?, "--mount tmpfs-size")?;
                m.options.push(format!("size={size}"));
            }
            "tmpfs-mode" => {
                let mode = need(v)?;
                u32::from_str_radix(&mode, 8).map_err(|_| {
                    Error::invalid(format!(
                        "invalid tmpfs-mode {mode:?} in --mount: use an octal mode like 1777"
                    ))
                })?;
                m.options.push(format!("mode={mode}"));
            }
            _ => {
                return Err(Error::invalid(format!(
                    "unexpected key '{k}' in --mount {spec:?}"
                )))
            }
        }
    }
    m.kind = kind.ok_or_else(|| {
        Error::invalid(format!(
            "--mount {spec:?} needs type=bind, type=volume or type=tmpfs"
        ))
    })?;
    if m.target.is_empty() {
        return Err(Error::invalid(format!(
            "--mount {spec:?} needs target=CONTAINER-PATH"
        )));
    }
    check_target(&m.target, "--mount")?;
    match m.kind {
        MountType::Bind if m.source.is_empty() => {
            return Err(Error::invalid(format!(
                "--mount {spec:?}: a bind mount needs source=HOST-PATH"
            )))
        }
        MountType::Tmpfs if !m.source.is_empty() => {
            return Err(Error::invalid(format!(
                "--mount {spec:?}: a tmpfs mount takes no source"
            )))
        }
        MountType::Volume if m.source.is_empty() => m.anonymous = true,
        MountType::Volume => validate_volume_name(&m.source)?,
        _ => {}
    }
    Ok(m)
}

/// `--tmpfs /path[:opts]`.
pub fn parse_tmpfs(spec: &str) -> Result<MountPoint> {
    let (target, opts) = spec.split_once(':').unwrap_or((spec, ""));
    check_target(target, "--tmpfs")?;
    let mut options: Vec<String> = Vec::new();
    let mut read_only = false;
    for o in opts.split(',').filter(|o| !o.is_empty()) {
        match o {
            "ro" => read_only = true,
            "rw" => read_only = false,
            _ => options.push(o.to_string()),
        }
    }
    Ok(MountPoint {
        kind: MountType::Tmpfs,
        source: String::new(),
        target: target.into(),
        read_only,
        options,
        anonymous: false,
    })
}

const ULIMITS: &[&str] = &[
    "core",
    "cpu",
    "data",
    "fsize",
    "locks",
    "memlock",
    "msgqueue",
    "nice",
    "nofile",
    "nproc",
    "rss",
    "rtprio",
    "rttime",
    "sigpending",
    "stack",
    "as",
];

/// `--ulimit name=soft[:hard]`.
pub fn parse_ulimit(spec: &str) -> Result<Ulimit> {
    let bad = |why: &str| {
        Error::invalid(format!(
            "invalid ulimit {spec:?}: {why} (use e.g. --ulimit nofile=1024:2048)"
        ))
    };
    let (name, values) = spec.split_once('=').ok_or_else(|| bad("missing '='"))?;
    if !ULIMITS.contains(&name) {
        return Err(bad(&format!("unknown limit {name:?}")));
    }
    let parse = |s: &str| -> Result<u64> {
        if s == "-1" || s == "unlimited" {
            Ok(u64::MAX)
        } else {
            s.parse::<u64>()
                .map_err(|_| bad(&format!("{s:?} is not a number")))
        }
    };
    let (soft, hard) = match values.split_once(':') {
        Some((s, h)) => (parse(s)?, parse(h)?),
        None => {
            let v = parse(values)?;
            (v, v)
        }
    };
    if soft > hard {
        return Err(bad("the soft limit is above the hard limit"));
    }
    Ok(Ulimit {
        name: name.to_string(),
        soft,
        hard,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn volumes_short_syntax() {
        let b = parse_volume("/srv/data:/data:ro").unwrap();
        assert_eq!(
            (b.kind, b.source.as_str(), b.target.as_str(), b.read_only),
            (MountType::Bind, "/srv/data", "/data", true)
        );
        let v = parse_volume("cache:/var/cache").unwrap();
        assert_eq!((v.kind, v.anonymous), (MountType::Volume, false));
        let a = parse_volume("/scratch").unwrap();
        assert_eq!((a.kind, a.anonymous), (MountType::Volume, true));
        assert!(parse_volume("data:relative").is_err());
        assert!(parse_volume("a:/b:bogus").is_err());
        assert!(parse_volume("bad name:/x").is_err());
        assert!(parse_volume("/x:/").is_err());
    }

    #[test]
    fn mount_long_syntax() {
        let m = parse_mount("type=bind,source=/tmp,target=/t,readonly").unwrap();
        assert_eq!((m.kind, m.read_only), (MountType::Bind, true));
        let t = parse_mount("type=tmpfs,destination=/run,tmpfs-size=1m,tmpfs-mode=1770").unwrap();
        assert_eq!(
            t.options,
            vec!["size=1048576".to_string(), "mode=1770".to_string()]
        );
        assert!(parse_mount("type=bind,target=/x").is_err());
        assert!(parse_mount("type=nfs,target=/x").is_err());
        assert!(parse_mount("source=/a,target=/x").is_err());
        assert!(parse_mount("type=volume,target=/x,colour=blue").is_err());
    }

    #[test]
    fn tmpfs_and_ulimits() {
        let t = parse_tmpfs("/run:rw,size=64k,mode=1777").unwrap();
        assert_eq!(
            t.options,
            vec!["size=64k".to_string(), "mode=1777".to_string()]
        );
        assert_eq!(
            parse_ulimit("nofile=1024:2048").unwrap(),
            Ulimit {
                name: "nofile".into(),
                soft: 1024,
                hard: 2048
            }
        );
        assert_eq!(parse_ulimit("nproc=10").unwrap().hard, 10);
        assert!(parse_ulimit("nofile=2048:1024").is_err());
        assert!(parse_ulimit("bogus=1").is_err());
        assert!(parse_ulimit("nofile").is_err());
    }

    #[test]
    fn env_merging_overrides_by_key() {
        let a = vec!["PATH=/bin".to_string(), "A=1".to_string()];
        let b = vec!["A=2".to_string(), "B=3".to_string()];
        assert_eq!(merge_env(&[&a, &b]), vec!["PATH=/bin", "A=2", "B=3"]);
    }

    #[test]
    fn env_files() {
        let t = tempfile::NamedTempFile::new().unwrap();
        std::fs::write(t.path(), "# comment\nA=1\n\nB=two words\n").unwrap();
        assert_eq!(read_env_file(t.path()).unwrap(), vec!["A=1", "B=two words"]);
        std::fs::write(t.path(), "BAD KEY=1\n").unwrap();
        assert!(read_env_file(t.path())
            .unwrap_err()
            .to_string()
            .contains(":1:"));
    }
}
