//! `berth inspect` (containers, volumes and images).

use clap::Args;
use engine::record::MountType;
use engine::{containers, volumes, StateRoot};
use serde_json::{json, Value};

#[derive(Args, Debug)]
pub struct InspectArgs {
    /// Format the output with a Go template (or "json").
    #[arg(short = 'f', long)]
    format: Option<String>,
    /// Only look for this type: container or volume.
    #[arg(long = "type")]
    kind: Option<String>,
    #[arg(required = true, value_name = "NAME")]
    names: Vec<String>,
}

/// The `docker inspect` document of a container.
pub fn container_json(root: &StateRoot, id: &str) -> engine::Result<Value> {
    let (record, state) = containers::load(root, id)?;
    let mut v = serde_json::to_value(&record).map_err(|e| engine::Error::invalid(e.to_string()))?;
    let mounts: Vec<Value> = record
        .host_config
        .mounts
        .iter()
        .map(|m| {
            let (kind, source, name) = match m.kind {
                MountType::Bind => ("bind", m.source.clone(), None),
                MountType::Volume => ("volume", volumes::data_dir(root, &m.source).to_string_lossy().into_owned(), Some(m.source.clone())),
                MountType::Tmpfs => ("tmpfs", String::new(), None),
            };
            let mut o = json!({"Type": kind, "Source": source, "Destination": m.target, "Mode": if m.read_only { "ro" } else { "" }, "RW": !m.read_only, "Propagation": ""});
            if let Some(n) = name {
                o["Name"] = json!(n);
                o["Driver"] = json!("local");
            }
            o
        })
        .collect();
    if let Some(o) = v.as_object_mut() {
        o.insert(
            "State".into(),
            serde_json::to_value(&state).map_err(|e| engine::Error::invalid(e.to_string()))?,
        );
        o.insert("Mounts".into(), Value::Array(mounts));
        // Docker's NetworkSettings: where the container is attached now (its state),
        // with the first network's address at the top level as Docker still shows it.
        let ns = &state.network_settings;
        let mut settings = serde_json::to_value(ns).unwrap_or(Value::Null);
        if let (Some(obj), Some(first)) = (settings.as_object_mut(), ns.networks.values().next()) {
            obj.insert("IPAddress".into(), json!(first.ip_address));
            obj.insert("Gateway".into(), json!(first.gateway));
            obj.insert("MacAddress".into(), json!(first.mac_address));
            obj.insert("IPPrefixLen".into(), json!(first.ip_prefix_len));
        }
        if let Some(st) = o.get_mut("State").and_then(Value::as_object_mut) {
            st.remove("NetworkSettings");
            // Restart bookkeeping: Docker shows only the count, beside the state.
            for k in ["RestartCount", "ManuallyStopped", "RestartCancelled"] {
                st.remove(k);
            }
        }
        o.insert("NetworkSettings".into(), settings);
        o.insert("RestartCount".into(), json!(state.restart_count));
        o.insert("Driver".into(), json!("overlay"));
        o.insert("Platform".into(), json!("linux"));
        o.remove("RootfsLayers");
        // What the kernel will enforce, next to what was asked for.
        if let Some(sec) = o.get_mut("Security").and_then(Value::as_object_mut) {
            let abi = runtime::landlock::kernel_abi();
            sec.insert("LandlockABI".into(), json!(abi));
            // The record holds the maps of a private namespace; show the host's too.
            if sec.get("UserNamespace").is_none_or(Value::is_null) {
                sec.insert(
                    "UserNamespace".into(),
                    json!({"Mode": "host", "UIDMap": [{"ContainerID": 0, "HostID": 0, "Size": 4294967295u64}], "GIDMap": [{"ContainerID": 0, "HostID": 0, "Size": 4294967295u64}]}),
                );
            }
        }
    }
    Ok(v)
}

pub fn run(root: &StateRoot, args: InspectArgs) -> engine::Result<i32> {
    let mut docs = Vec::new();
    let mut code = 0;
    for name in &args.names {
        let found = match args.kind.as_deref() {
            Some("volume") => {
                volumes::inspect(root, name).map(|v| serde_json::to_value(v).unwrap_or(Value::Null))
            }
            Some("container") => {
                containers::find(root, name).and_then(|id| container_json(root, &id))
            }
            Some("image") => engine::images::inspect(root, name),
            None => containers::find(root, name)
                .and_then(|id| container_json(root, &id))
                .or_else(|_| {
                    volumes::inspect(root, name)
                        .map(|v| serde_json::to_value(v).unwrap_or(Value::Null))
                })
                .or_else(|_| engine::images::inspect(root, name))
                .map_err(|_| engine::Error::invalid(format!("no such object: {name}"))),
            Some(other) => {
                return Err(engine::Error::invalid(format!(
                    "unknown --type {other:?}: use container, image or volume"
                )))
            }
        };
        match found {
            Ok(d) => docs.push(d),
            Err(e) => {
                eprintln!("berth: {e}");
                code = 1;
            }
        }
    }
    print_docs(&docs, args.format.as_deref())?;
    Ok(code)
}

/// Prints inspect documents: a JSON array, or each rendered through a template.
pub fn print_docs(docs: &[Value], format: Option<&str>) -> engine::Result<()> {
    match format {
        None | Some("") => {
            let text = serde_json::to_string_pretty(&Value::Array(docs.to_vec()))
                .map_err(|e| engine::Error::invalid(e.to_string()))?;
            println!("{text}");
        }
        Some("json") => {
            for d in docs {
                println!("{d}");
            }
        }
        Some(t) => {
            for d in docs {
                let s = crate::format::render(t, d).map_err(engine::Error::invalid)?;
                println!("{s}");
            }
        }
    }
    Ok(())
}
