//! Owns reading manifests: telling an image manifest from an index (Docker schema 2 or
//! OCI), refusing schema 1, checking every descriptor (digest syntax, size), and picking
//! the index entry for a platform. Never fetches anything.

use serde::Deserialize;

use crate::digest;
use crate::platform::Platform;

pub const DOCKER_MANIFEST: &str = "application/vnd.docker.distribution.manifest.v2+json";
pub const DOCKER_MANIFEST_LIST: &str = "application/vnd.docker.distribution.manifest.list.v2+json";
pub const OCI_MANIFEST: &str = "application/vnd.oci.image.manifest.v1+json";
pub const OCI_INDEX: &str = "application/vnd.oci.image.index.v1+json";

/// The manifest media types berth asks registries for.
pub const ACCEPTED: &[&str] = &[
    DOCKER_MANIFEST,
    DOCKER_MANIFEST_LIST,
    OCI_MANIFEST,
    OCI_INDEX,
];

/// A content descriptor: what a manifest says about a blob it refers to.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Descriptor {
    pub media_type: String,
    /// A validated `sha256:`/`sha512:` digest, safe to use as a file name.
    pub digest: String,
    pub size: u64,
}

/// One entry of an index, as far as berth cares.
#[derive(Debug, Clone)]
pub(crate) struct IndexEntry {
    pub descriptor: Descriptor,
    pub os: String,
    pub architecture: String,
    pub variant: Option<String>,
}

impl IndexEntry {
    fn platform_string(&self) -> String {
        match &self.variant {
            Some(v) => format!("{}/{}/{v}", self.os, self.architecture),
            None => format!("{}/{}", self.os, self.architecture),
        }
    }
}

#[derive(Debug)]
pub(crate) enum Parsed {
    Image {
        media_type: String,
        config: Descriptor,
        layers: Vec<Descriptor>,
    },
    Index {
        entries: Vec<IndexEntry>,
    },
}

/// Why a manifest could not be used.
#[derive(Debug, PartialEq, Eq)]
pub(crate) enum Problem {
    Schema1,
    MediaType(String),
    Malformed(String),
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct Raw {
    schema_version: Option<i64>,
    media_type: Option<String>,
    config: Option<RawDescriptor>,
    layers: Option<Vec<RawDescriptor>>,
    manifests: Option<Vec<RawDescriptor>>,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct RawDescriptor {
    media_type: Option<String>,
    digest: String,
    size: i64,
    platform: Option<RawPlatform>,
}

#[derive(Deserialize)]
struct RawPlatform {
    os: String,
    architecture: String,
    variant: Option<String>,
}

pub(crate) fn parse(bytes: &[u8]) -> Result<Parsed, Problem> {
    let raw: Raw = serde_json::from_slice(bytes).map_err(|e| Problem::Malformed(e.to_string()))?;
    match raw.schema_version {
        Some(1) => return Err(Problem::Schema1),
        Some(2) => {}
        Some(v) => return Err(Problem::Malformed(format!("unsupported schemaVersion {v}"))),
        None => return Err(Problem::Malformed("no schemaVersion".into())),
    }
    // OCI makes mediaType optional; then the shape tells what it is.
    let media_type = match raw.media_type {
        Some(m) => m,
        None if raw.manifests.is_some() => OCI_INDEX.to_string(),
        None => OCI_MANIFEST.to_string(),
    };
    match media_type.as_str() {
        DOCKER_MANIFEST | OCI_MANIFEST => {
            let config = raw
                .config
                .ok_or_else(|| Problem::Malformed("image manifest without config".into()))?;
            let layers = raw.layers.unwrap_or_default();
            Ok(Parsed::Image {
                config: descriptor(config, "config")?,
                layers: layers
                    .into_iter()
                    .map(|l| descriptor(l, "layer"))
                    .collect::<Result<_, _>>()?,
                media_type,
            })
        }
        DOCKER_MANIFEST_LIST | OCI_INDEX => {
            let mut entries = Vec::new();
            for m in raw.manifests.unwrap_or_default() {
                let p = m
                    .platform
                    .as_ref()
                    .map(|p| (p.os.clone(), p.architecture.clone(), p.variant.clone()));
                let d = descriptor(m, "manifest")?;
                // Entries without a platform (attestations, artifacts) cannot be run.
                if let Some((os, architecture, variant)) = p {
                    entries.push(IndexEntry {
                        descriptor: d,
                        os,
                        architecture,
                        variant: variant.filter(|v| !v.is_empty()),
                    });
                }
            }
            Ok(Parsed::Index { entries })
        }
        "application/vnd.docker.distribution.manifest.v1+json"
        | "application/vnd.docker.distribution.manifest.v1+prettyjws" => Err(Problem::Schema1),
        other => Err(Problem::MediaType(other.to_string())),
    }
}

fn descriptor(raw: RawDescriptor, what: &str) -> Result<Descriptor, Problem> {
    if !digest::is_valid(&raw.digest) {
        return Err(Problem::Malformed(format!(
            "{what} has an invalid digest {:?}",
            raw.digest
        )));
    }
    let size = u64::try_from(raw.size)
        .map_err(|_| Problem::Malformed(format!("{what} {} has a negative size", raw.digest)))?;
    Ok(Descriptor {
        media_type: raw.media_type.unwrap_or_default(),
        digest: raw.digest,
        size,
    })
}

/// The entry to run on `platform`: one whose variant is exactly the wanted (or default)
/// one if any, else the first that matches; Err lists what the index offers.
pub(crate) fn select<'a>(
    entries: &'a [IndexEntry],
    platform: &Platform,
) -> Result<&'a IndexEntry, Vec<String>> {
    let matching: Vec<&IndexEntry> = entries
        .iter()
        .filter(|e| platform.matches(&e.os, &e.architecture, e.variant.as_deref()))
        .collect();
    if platform.variant.is_none() {
        // An amd64 host takes the plain amd64 image over amd64/v3 when both exist.
        if let Some(e) = matching.iter().find(|e| e.variant.is_none()) {
            return Ok(e);
        }
    }
    match matching.first() {
        Some(e) => Ok(e),
        None => {
            let mut available: Vec<String> =
                entries.iter().map(IndexEntry::platform_string).collect();
            available.dedup();
            Err(available)
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn d(c: char) -> String {
        format!("sha256:{}", c.to_string().repeat(64))
    }

    #[test]
    fn docker_and_oci_image_manifests() {
        let m = format!(
            r#"{{"schemaVersion":2,"mediaType":"{DOCKER_MANIFEST}",
            "config":{{"mediaType":"application/vnd.docker.container.image.v1+json","digest":"{}","size":7}},
            "layers":[{{"mediaType":"application/vnd.docker.image.rootfs.diff.tar.gzip","digest":"{}","size":9}}]}}"#,
            d('a'),
            d('b')
        );
        match parse(m.as_bytes()).unwrap() {
            Parsed::Image {
                media_type,
                config,
                layers,
            } => {
                assert_eq!(media_type, DOCKER_MANIFEST);
                assert_eq!(config.digest, d('a'));
                assert_eq!(config.size, 7);
                assert_eq!(layers.len(), 1);
                assert_eq!(layers[0].size, 9);
            }
            other => panic!("{other:?}"),
        }
        // OCI without mediaType.
        let m = format!(
            r#"{{"schemaVersion":2,"config":{{"digest":"{}","size":1}},"layers":[]}}"#,
            d('c')
        );
        assert!(
            matches!(parse(m.as_bytes()).unwrap(), Parsed::Image { media_type, .. } if media_type == OCI_MANIFEST)
        );
    }

    #[test]
    fn bad_manifests() {
        assert_eq!(
            parse(br#"{"schemaVersion":1,"name":"x"}"#).unwrap_err(),
            Problem::Schema1
        );
        assert!(matches!(parse(b"<html>"), Err(Problem::Malformed(_))));
        assert!(matches!(
            parse(br#"{"schemaVersion":2,"mediaType":"application/vnd.oci.artifact.manifest.v1+json"}"#),
            Err(Problem::MediaType(_))
        ));
        let traversal = r#"{"schemaVersion":2,"config":{"digest":"sha256:../../etc/passwd","size":1},"layers":[]}"#;
        assert!(
            matches!(parse(traversal.as_bytes()), Err(Problem::Malformed(m)) if m.contains("invalid digest"))
        );
        let negative = format!(
            r#"{{"schemaVersion":2,"config":{{"digest":"{}","size":-1}},"layers":[]}}"#,
            d('a')
        );
        assert!(matches!(
            parse(negative.as_bytes()),
            Err(Problem::Malformed(_))
        ));
    }

    #[test]
    fn index_selection() {
        let idx = format!(
            r#"{{"schemaVersion":2,"mediaType":"{OCI_INDEX}","manifests":[
              {{"mediaType":"{OCI_MANIFEST}","digest":"{}","size":1,"platform":{{"os":"linux","architecture":"amd64","variant":"v3"}}}},
              {{"mediaType":"{OCI_MANIFEST}","digest":"{}","size":1,"platform":{{"os":"linux","architecture":"amd64"}}}},
              {{"mediaType":"{OCI_MANIFEST}","digest":"{}","size":1,"platform":{{"os":"linux","architecture":"arm64","variant":"v8"}}}},
              {{"mediaType":"{OCI_MANIFEST}","digest":"{}","size":1,"platform":{{"os":"unknown","architecture":"unknown"}}}},
              {{"mediaType":"{OCI_MANIFEST}","digest":"{}","size":1}}
            ]}}"#,
            d('1'),
            d('2'),
            d('3'),
            d('4'),
            d('5')
        );
        let Parsed::Index { entries } = parse(idx.as_bytes()).unwrap() else {
            panic!("not an index")
        };
        assert_eq!(entries.len(), 4);
        let pick = |p: &str| {
            select(&entries, &Platform::parse(p).unwrap()).map(|e| e.descriptor.digest.clone())
        };
        assert_eq!(pick("linux/amd64").unwrap(), d('2'));
        assert_eq!(pick("linux/amd64/v3").unwrap(), d('1'));
        assert_eq!(pick("linux/arm64").unwrap(), d('3'));
        assert_eq!(pick("linux/arm64/v8").unwrap(), d('3'));
        assert_eq!(
            pick("linux/s390x").unwrap_err(),
            vec![
                "linux/amd64/v3",
                "linux/amd64",
                "linux/arm64/v8",
                "unknown/unknown"
            ]
        );
    }
}
