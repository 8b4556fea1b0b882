//! How the project model prints, where compose's JSON (`docker compose config
//! --format json`) differs from the model's plain shape: sizes as decimal strings,
//! volume options nested by mount type, `ipam: {config: [...]}`, secrets without
//! their content, ulimits as one number when soft and hard agree, and so on. Only
//! serialisation lives here; the parser never depends on it.

use std::collections::BTreeMap;

use serde::ser::{SerializeMap, SerializeSeq};
use serde::{Serialize, Serializer};

use super::{
    Bytes, FileObject, FileSource, IpamConfig, ServiceNetwork, ServiceVolume, Ulimit, VolumeKind,
};

pub(super) fn bytes<S: Serializer>(v: &Option<Bytes>, s: S) -> Result<S::Ok, S::Error> {
    match v {
        Some(b) => s.serialize_str(&b.to_string()),
        None => s.serialize_none(),
    }
}

pub(super) fn id<S: Serializer>(v: &Option<u32>, s: S) -> Result<S::Ok, S::Error> {
    match v {
        Some(n) => s.serialize_str(&n.to_string()),
        None => s.serialize_none(),
    }
}

pub(super) fn octal<S: Serializer>(v: &Option<u32>, s: S) -> Result<S::Ok, S::Error> {
    match v {
        Some(n) => s.serialize_str(&format!("0{n:o}")),
        None => s.serialize_none(),
    }
}

/// `{"default": null, "back": {"aliases": [...]}}`.
pub(super) fn service_networks<S: Serializer>(
    v: &BTreeMap<String, ServiceNetwork>,
    s: S,
) -> Result<S::Ok, S::Error> {
    let mut m = s.serialize_map(Some(v.len()))?;
    for (name, net) in v {
        if *net == ServiceNetwork::default() {
            m.serialize_entry(name, &())?;
        } else {
            m.serialize_entry(name, net)?;
        }
    }
    m.end()
}

/// `NAME:IP` entries printed as sorted `NAME=IP`.
pub(super) fn extra_hosts<S: Serializer>(v: &[String], s: S) -> Result<S::Ok, S::Error> {
    let mut out: Vec<String> = v
        .iter()
        .map(|h| match h.split_once(':') {
            Some((name, ip)) => format!("{name}={ip}"),
            None => h.clone(),
        })
        .collect();
    out.sort();
    out.serialize(s)
}

/// `HOST:CONTAINER:PERMS` printed as `{source, target, permissions}`.
pub(super) fn devices<S: Serializer>(v: &[String], s: S) -> Result<S::Ok, S::Error> {
    #[derive(Serialize)]
    struct Device<'a> {
        source: &'a str,
        target: &'a str,
        permissions: &'a str,
    }
    let mut seq = s.serialize_seq(Some(v.len()))?;
    for d in v {
        let mut parts = d.splitn(3, ':');
        let source = parts.next().unwrap_or_default();
        let target = parts.next().unwrap_or(source);
        let permissions = parts.next().unwrap_or("rwm");
        seq.serialize_element(&Device {
            source,
            target,
            permissions,
        })?;
    }
    seq.end()
}

pub(super) fn ipam<S: Serializer>(v: &[IpamConfig], s: S) -> Result<S::Ok, S::Error> {
    let mut m = s.serialize_map(None)?;
    if !v.is_empty() {
        m.serialize_entry("config", v)?;
    }
    m.end()
}

pub(super) fn secrets<S: Serializer>(
    v: &BTreeMap<String, FileObject>,
    s: S,
) -> Result<S::Ok, S::Error> {
    let mut m = s.serialize_map(Some(v.len()))?;
    for (k, obj) in v {
        m.serialize_entry(
            k,
            &FileObjectJson {
                obj,
                with_content: false,
            },
        )?;
    }
    m.end()
}

struct FileObjectJson<'a> {
    obj: &'a FileObject,
    with_content: bool,
}

impl Serialize for FileObjectJson<'_> {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        let mut m = s.serialize_map(None)?;
        m.serialize_entry("name", &self.obj.name)?;
        match &self.obj.source {
            FileSource::File(p) => m.serialize_entry("file", p)?,
            FileSource::Environment { name, .. } => m.serialize_entry("environment", name)?,
            FileSource::Content(c) if self.with_content => m.serialize_entry("content", c)?,
            FileSource::Content(_) => {}
        }
        if self.obj.external {
            m.serialize_entry("external", &true)?;
        }
        m.end()
    }
}

/// A config's shape (content included); the project prints secrets through
/// [`secrets`], which leaves content out.
impl Serialize for FileObject {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        FileObjectJson {
            obj: self,
            with_content: true,
        }
        .serialize(s)
    }
}

impl Serialize for Ulimit {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        if self.soft == self.hard {
            return s.serialize_i64(self.soft);
        }
        let mut m = s.serialize_map(Some(2))?;
        m.serialize_entry("soft", &self.soft)?;
        m.serialize_entry("hard", &self.hard)?;
        m.end()
    }
}

impl Serialize for ServiceVolume {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        let mut m = s.serialize_map(None)?;
        m.serialize_entry("type", &self.kind)?;
        if let Some(src) = &self.source {
            m.serialize_entry("source", src)?;
        }
        m.serialize_entry("target", &self.target)?;
        if self.read_only {
            m.serialize_entry("read_only", &true)?;
        }
        match self.kind {
            VolumeKind::Bind => {
                let mut bind = serde_json::Map::new();
                match self.propagation.as_deref() {
                    Some(z @ ("z" | "Z")) => {
                        bind.insert("selinux".into(), z.into());
                    }
                    Some(p) => {
                        bind.insert("propagation".into(), p.into());
                    }
                    None => {}
                }
                if let Some(c) = self.create_host_path {
                    bind.insert("create_host_path".into(), c.into());
                }
                m.serialize_entry("bind", &bind)?;
            }
            VolumeKind::Volume => {
                let mut vol = serde_json::Map::new();
                if self.nocopy {
                    vol.insert("nocopy".into(), true.into());
                }
                if let Some(sp) = &self.subpath {
                    vol.insert("subpath".into(), sp.as_str().into());
                }
                m.serialize_entry("volume", &vol)?;
            }
            VolumeKind::Tmpfs => {
                let mut t = serde_json::Map::new();
                if let Some(size) = self.tmpfs_size {
                    t.insert("size".into(), size.to_string().into());
                }
                if let Some(mode) = self.tmpfs_mode {
                    t.insert("mode".into(), mode.into());
                }
                if !t.is_empty() {
                    m.serialize_entry("tmpfs", &t)?;
                }
            }
        }
        m.end()
    }
}
