//! `RUN --mount=...` specifications: the comma-separated (CSV) options read into a
//! typed [`Mount`] and checked the way BuildKit checks them. Owns the option rules only;
//! never resolves a `from=` stage, never touches a cache or a secret.

use crate::suggest;

/// A `--mount` as the parser leaves it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum MountFlag {
    /// No `$` in it: read and checked now.
    Parsed(Mount),
    /// It refers to variables, which Docker expands before reading the options: the
    /// builder expands the text and then calls [`Mount::parse`]. Its option names were
    /// already checked.
    NeedsExpansion(String),
}

impl MountFlag {
    /// Reads one `--mount` value at parse time.
    pub fn read(spec: &str) -> Result<MountFlag, String> {
        if !spec.contains('$') {
            return Mount::parse(spec).map(MountFlag::Parsed);
        }
        for field in csv_fields(spec)? {
            let (key, value) = match field.split_once('=') {
                Some((k, v)) => (k.to_ascii_lowercase(), Some(v)),
                None => (field.to_ascii_lowercase(), None),
            };
            if key == "from" && value.is_some_and(|v| v.contains('$')) {
                return Err(format!(
                    "mount option from={} cannot use variables: name the stage with FROM ... AS instead",
                    value.unwrap_or_default()
                ));
            }
            check_key(&key, &field)?;
        }
        Ok(MountFlag::NeedsExpansion(spec.to_string()))
    }

    /// The `from=` option (a stage or an image), which never holds variables and so
    /// is known even before expansion.
    pub fn from(&self) -> Option<String> {
        match self {
            MountFlag::Parsed(m) => m.from.clone(),
            MountFlag::NeedsExpansion(spec) => csv_fields(spec).ok()?.into_iter().find_map(|f| {
                let (k, v) = f.split_once('=')?;
                k.eq_ignore_ascii_case("from").then(|| v.to_string())
            }),
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum MountKind {
    Bind,
    Cache,
    Tmpfs,
    Secret,
    Ssh,
}

impl MountKind {
    fn name(self) -> &'static str {
        match self {
            MountKind::Bind => "bind",
            MountKind::Cache => "cache",
            MountKind::Tmpfs => "tmpfs",
            MountKind::Secret => "secret",
            MountKind::Ssh => "ssh",
        }
    }
}

/// How concurrent builds share a cache mount.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Sharing {
    Shared,
    Private,
    Locked,
}

/// One RUN mount. `readonly` already holds the per-type default (bind, secret and ssh
/// mounts are read-only unless `rw`; cache and tmpfs are writable unless `ro`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Mount {
    pub kind: MountKind,
    pub target: Option<String>,
    pub source: Option<String>,
    /// A stage name or index, or an image, to take the mount's source from.
    pub from: Option<String>,
    /// Cache id, or secret / ssh id.
    pub id: Option<String>,
    pub sharing: Option<Sharing>,
    pub readonly: bool,
    /// Secret and ssh mounts: fail the step if the secret or agent is not provided.
    pub required: bool,
    pub mode: Option<u32>,
    pub uid: Option<u32>,
    pub gid: Option<u32>,
    /// Tmpfs size limit in bytes.
    pub size: Option<u64>,
    /// Secret mounts: also (or, without `target`, only) give the secret as this
    /// environment variable.
    pub env: Option<String>,
}

const KEYS: &[&str] = &[
    "type",
    "target",
    "dst",
    "destination",
    "source",
    "src",
    "from",
    "id",
    "sharing",
    "readonly",
    "ro",
    "readwrite",
    "rw",
    "required",
    "mode",
    "uid",
    "gid",
    "size",
    "env",
];

fn check_key(key: &str, field: &str) -> Result<(), String> {
    if KEYS.contains(&key) {
        Ok(())
    } else {
        Err(format!(
            "unknown mount option {key:?} in {field:?}{}",
            suggest::hint(key, KEYS)
        ))
    }
}

impl Mount {
    /// Reads a `--mount` value (`type=cache,target=/root/.cache,sharing=locked`).
    /// The order of options does not matter.
    pub fn parse(spec: &str) -> Result<Mount, String> {
        let mut pairs = Vec::new();
        for field in csv_fields(spec)? {
            let (key, value) = match field.split_once('=') {
                Some((k, v)) => (k.to_ascii_lowercase(), Some(v.to_string())),
                None => (field.to_ascii_lowercase(), None),
            };
            check_key(&key, &field)?;
            pairs.push((key, value, field));
        }

        let mut kind = MountKind::Bind;
        for (key, value, _) in &pairs {
            if key == "type" {
                kind = match value.as_deref().map(str::to_ascii_lowercase).as_deref() {
                    Some("bind") => MountKind::Bind,
                    Some("cache") => MountKind::Cache,
                    Some("tmpfs") => MountKind::Tmpfs,
                    Some("secret") => MountKind::Secret,
                    Some("ssh") => MountKind::Ssh,
                    _ => {
                        let v = value.clone().unwrap_or_default();
                        let types = ["bind", "cache", "tmpfs", "secret", "ssh"];
                        return Err(format!(
                            "unsupported mount type {v:?}{} (use bind, cache, tmpfs, secret or ssh)",
                            suggest::hint(&v, &types)
                        ));
                    }
                };
            }
        }

        let mut m = Mount {
            kind,
            target: None,
            source: None,
            from: None,
            id: None,
            sharing: None,
            readonly: matches!(kind, MountKind::Bind | MountKind::Secret | MountKind::Ssh),
            required: false,
            mode: None,
            uid: None,
            gid: None,
            size: None,
            env: None,
        };
        let kname = kind.name();
        for (key, value, field) in pairs {
            let Some(value) = value else {
                match key.as_str() {
                    "readonly" | "ro" => m.readonly = true,
                    "readwrite" | "rw" => m.readonly = false,
                    "required" => m.required = true,
                    _ => return Err(format!("mount option {field:?} needs a value ({key}=...)")),
                }
                continue;
            };
            match key.as_str() {
                "type" => {}
                "target" | "dst" | "destination" => m.target = Some(value),
                "source" | "src" => m.source = Some(value),
                "from" => m.from = Some(value),
                "id" => m.id = Some(value),
                "env" => {
                    if value.is_empty() || value.contains('=') {
                        return Err(format!(
                            "mount option env={value:?} must name an environment variable"
                        ));
                    }
                    m.env = Some(value)
                }
                "sharing" => {
                    m.sharing = Some(match value.to_ascii_lowercase().as_str() {
                        "shared" => Sharing::Shared,
                        "private" => Sharing::Private,
                        "locked" => Sharing::Locked,
                        _ => {
                            return Err(format!(
                            "unsupported mount sharing {value:?} (use shared, private or locked)"
                        ))
                        }
                    })
                }
                "readonly" | "ro" => m.readonly = parse_bool(&key, &value)?,
                "readwrite" | "rw" => m.readonly = !parse_bool(&key, &value)?,
                "required" => m.required = parse_bool(&key, &value)?,
                "mode" => {
                    m.mode = Some(u32::from_str_radix(&value, 8).map_err(|_| {
                        format!("mount mode={value} is not an octal file mode (like 0644)")
                    })?)
                }
                "uid" | "gid" => {
                    let n: u32 = value
                        .parse()
                        .map_err(|_| format!("mount {key}={value} is not a number"))?;
                    if key == "uid" {
                        m.uid = Some(n);
                    } else {
                        m.gid = Some(n);
                    }
                }
                _ => {
                    m.size = Some(parse_size(&value).ok_or_else(|| {
                        format!("mount size={value} is not a size (like 64m or 1g)")
                    })?)
                }
            }
        }
        validate(&m, kname)?;
        Ok(m)
    }
}

fn validate(m: &Mount, kname: &str) -> Result<(), String> {
    let file_owner_ok = matches!(
        m.kind,
        MountKind::Secret | MountKind::Ssh | MountKind::Cache
    );
    for (set, what) in [
        (m.mode.is_some(), "mode"),
        (m.uid.is_some(), "uid"),
        (m.gid.is_some(), "gid"),
    ] {
        if set && !file_owner_ok {
            return Err(format!(
                "mount option {what} is not allowed for type={kname} (only cache, secret and ssh)"
            ));
        }
    }
    if m.sharing.is_some() && m.kind != MountKind::Cache {
        return Err(format!(
            "mount option sharing is only for type=cache, not type={kname}"
        ));
    }
    if m.required && !matches!(m.kind, MountKind::Secret | MountKind::Ssh) {
        return Err(format!(
            "mount option required is only for type=secret or type=ssh, not type={kname}"
        ));
    }
    if m.env.is_some() && m.kind != MountKind::Secret {
        return Err(format!(
            "mount option env is only for type=secret, not type={kname}"
        ));
    }
    if m.size.is_some() && m.kind != MountKind::Tmpfs {
        return Err(format!(
            "mount option size is only for type=tmpfs, not type={kname}"
        ));
    }
    match m.kind {
        MountKind::Secret => {
            if m.from.is_some() {
                return Err("a secret mount cannot have from=".into());
            }
            if m.source.is_none() && m.target.is_none() && m.id.is_none() && m.env.is_none() {
                return Err("a secret mount needs id=, source=, target= or env=".into());
            }
            if m.source.is_some() && m.id.is_some() {
                return Err("a secret mount takes source= or id=, not both".into());
            }
        }
        MountKind::Ssh => {}
        _ => {
            if m.target.is_none() {
                return Err(format!("a type={kname} mount needs target=PATH"));
            }
        }
    }
    Ok(())
}

fn parse_bool(key: &str, value: &str) -> Result<bool, String> {
    // The spellings Go's strconv.ParseBool accepts.
    match value {
        "1" | "t" | "T" | "true" | "TRUE" | "True" => Ok(true),
        "0" | "f" | "F" | "false" | "FALSE" | "False" => Ok(false),
        _ => Err(format!("mount option {key}={value} must be true or false")),
    }
}

/// `64m`, `1.5g`, `512MiB`, `100`: binary multiples, as Docker reads memory sizes.
fn parse_size(s: &str) -> Option<u64> {
    let num_len = s
        .char_indices()
        .find(|(_, c)| !(c.is_ascii_digit() || *c == '.'))
        .map_or(s.len(), |(i, _)| i);
    let (num, unit) = s.split_at(num_len);
    if num.is_empty() || num.starts_with('.') || num.ends_with('.') {
        return None;
    }
    let n: f64 = num.parse().ok()?;
    let unit = unit.trim_start_matches(' ').to_ascii_lowercase();
    let unit = unit
        .strip_suffix("ib")
        .or_else(|| unit.strip_suffix('b'))
        .unwrap_or(&unit);
    let shift = match unit {
        "" => 0,
        "k" => 10,
        "m" => 20,
        "g" => 30,
        "t" => 40,
        "p" => 50,
        _ => return None,
    };
    let bytes = n * (1u64 << shift) as f64;
    (bytes.is_finite() && bytes < u64::MAX as f64).then_some(bytes as u64)
}

/// The fields of one CSV record, as Go's encoding/csv reads them: a field that starts
/// with `"` is quoted (`""` inside is a quote); a quote anywhere else is an error.
fn csv_fields(s: &str) -> Result<Vec<String>, String> {
    let mut fields = Vec::new();
    let mut chars = s.chars().peekable();
    loop {
        let mut field = String::new();
        if chars.peek() == Some(&'"') {
            chars.next();
            loop {
                match chars.next() {
                    None => return Err(format!("unterminated quote in mount {s:?}")),
                    Some('"') if chars.peek() == Some(&'"') => {
                        chars.next();
                        field.push('"');
                    }
                    Some('"') => break,
                    Some(c) => field.push(c),
                }
            }
            match chars.next() {
                None => {
                    fields.push(field);
                    return Ok(fields);
                }
                Some(',') => fields.push(field),
                Some(_) => {
                    return Err(format!(
                        "unexpected text after a quoted field in mount {s:?}"
                    ))
                }
            }
            continue;
        }
        loop {
            match chars.next() {
                None => {
                    fields.push(field);
                    return Ok(fields);
                }
                Some(',') => break,
                Some('"') => {
                    return Err(format!(
                        "stray quote in mount {s:?} (quote the whole field)"
                    ))
                }
                Some(c) => field.push(c),
            }
        }
        fields.push(field);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parsed(s: &str) -> Mount {
        Mount::parse(s).unwrap_or_else(|e| panic!("{s}: {e}"))
    }

    #[test]
    fn cache_mount_with_every_cache_option() {
        let m = parsed("type=cache,target=/root/.cache,id=pip,sharing=locked,mode=0755,uid=1000,gid=100,from=deps,source=/c");
        assert_eq!(m.kind, MountKind::Cache);
        assert_eq!(m.target.as_deref(), Some("/root/.cache"));
        assert_eq!(m.id.as_deref(), Some("pip"));
        assert_eq!(m.sharing, Some(Sharing::Locked));
        assert_eq!((m.mode, m.uid, m.gid), (Some(0o755), Some(1000), Some(100)));
        assert_eq!(m.from.as_deref(), Some("deps"));
        assert_eq!(m.source.as_deref(), Some("/c"));
        assert!(!m.readonly);
    }

    #[test]
    fn bind_is_the_default_and_read_only_unless_rw() {
        let m = parsed("target=/src");
        assert_eq!(m.kind, MountKind::Bind);
        assert!(m.readonly);
        assert!(!parsed("dst=/src,rw").readonly);
        assert!(!parsed("destination=/src,readwrite=true").readonly);
        assert!(parsed("type=cache,target=/c,ro").readonly);
        assert!(parsed("type=tmpfs,target=/t,readonly=1").readonly);
    }

    #[test]
    fn tmpfs_size_and_secret_required() {
        assert_eq!(parsed("type=tmpfs,target=/t,size=64m").size, Some(64 << 20));
        assert_eq!(parsed("type=tmpfs,target=/t,size=1GiB").size, Some(1 << 30));
        assert_eq!(parsed("type=tmpfs,target=/t,size=100").size, Some(100));
        let s = parsed("type=secret,id=npmrc,required");
        assert!(s.required && s.readonly);
        assert_eq!(s.id.as_deref(), Some("npmrc"));
        assert!(parsed("type=secret,target=/run/s,required=false")
            .target
            .is_some());
        assert_eq!(parsed("type=ssh").kind, MountKind::Ssh);
        assert_eq!(
            parsed("type=secret,id=tok,env=TOKEN").env.as_deref(),
            Some("TOKEN")
        );
    }

    #[test]
    fn options_are_validated() {
        for (spec, want) in [
            ("type=volume,target=/x", "unsupported mount type \"volume\""),
            ("type=cache", "needs target=PATH"),
            (
                "type=cache,target=/x,sharing=all",
                "unsupported mount sharing",
            ),
            (
                "type=bind,target=/x,mode=0644",
                "mode is not allowed for type=bind",
            ),
            ("type=cache,target=/x,mode=999", "not an octal file mode"),
            ("type=cache,target=/x,uid=me", "uid=me is not a number"),
            (
                "type=bind,target=/x,sharing=locked",
                "sharing is only for type=cache",
            ),
            (
                "type=cache,target=/x,required",
                "required is only for type=secret",
            ),
            (
                "type=cache,target=/x,size=1m",
                "size is only for type=tmpfs",
            ),
            ("type=tmpfs,target=/x,size=lots", "not a size"),
            ("type=secret", "needs id=, source=, target= or env="),
            ("type=cache,target=/x,env=A", "env is only for type=secret"),
            ("type=secret,id=a,env=", "must name an environment variable"),
            ("type=secret,id=a,source=b", "not both"),
            ("type=secret,id=a,from=x", "cannot have from="),
            ("target=/x,trget=/y", "unknown mount option \"trget\""),
            ("target=/x,ro=maybe", "must be true or false"),
            ("target", "needs a value"),
            ("target=/x\"y", "stray quote"),
        ] {
            let e = Mount::parse(spec).unwrap_err();
            assert!(e.contains(want), "{spec}: {e}");
        }
        assert!(Mount::parse("target=/x,trget=/y")
            .unwrap_err()
            .contains("did you mean target?"));
    }

    #[test]
    fn quoted_csv_fields() {
        let m = parsed("type=bind,\"target=/a,b\",source=x");
        assert_eq!(m.target.as_deref(), Some("/a,b"));
    }

    #[test]
    fn mounts_with_variables_wait_for_expansion_but_names_are_checked() {
        assert_eq!(
            MountFlag::read("type=cache,target=$HOME/.cache,uid=$UID").unwrap(),
            MountFlag::NeedsExpansion("type=cache,target=$HOME/.cache,uid=$UID".into())
        );
        assert!(MountFlag::read("type=cache,tagret=$X")
            .unwrap_err()
            .contains("unknown mount option"));
        assert!(MountFlag::read("type=bind,target=/x,from=$STAGE")
            .unwrap_err()
            .contains("cannot use variables"));
        assert!(matches!(
            MountFlag::read("type=cache,target=/x").unwrap(),
            MountFlag::Parsed(_)
        ));
    }
}
