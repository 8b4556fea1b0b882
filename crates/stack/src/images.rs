//! The images a project's services run: the name each service's containers are made
//! from, building `build:` services through `berth build`'s executor, and pulling what
//! is missing (or always, by pull policy) through the engine's pull. Never removes
//! images except for `down --rmi`.

use std::collections::BTreeSet;

use compose::model::Service;
use engine::progress::Progress;
use engine::pull::{self, PullOptions};

use crate::events::{Kind, Phase};
use crate::{Error, Result, Stack};

/// The image a service's containers are made from: `image:`, or the name compose gives
/// a built image (`PROJECT-SERVICE`).
pub fn image_name(project: &str, service: &str, svc: &Service) -> String {
    svc.image
        .clone()
        .unwrap_or_else(|| format!("{project}-{service}"))
}

/// The id (`sha256:...`) of a local image, or None when the store lacks it.
pub fn image_id(stack: &Stack, name: &str) -> Result<Option<String>> {
    let store = engine::images::open_store(stack.root)?;
    Ok(engine::images::try_find(&store, name)?.map(|f| f.id.to_string()))
}

/// `compose build`'s flags, on top of each service's `build:`.
#[derive(Debug, Clone, Default)]
pub struct BuildFlags {
    pub no_cache: bool,
    pub pull: bool,
    /// `--build-arg K=V`: wins over the service's `build.args`.
    pub build_args: Vec<String>,
}

/// Builds one service's image as `berth build` would, tagged with the name its
/// containers use (plus `build.tags`).
pub fn build_one(stack: &Stack, service: &str, svc: &Service, flags: &BuildFlags) -> Result<()> {
    let Some(b) = &svc.build else {
        return Ok(());
    };
    let image = image_name(&stack.project.name, service, svc);
    stack
        .events
        .object(Kind::Image, &image, "Building", Phase::Working);
    // A git context is fetched by the build, and its `dockerfile` is read inside it.
    let remote = build::remote::classify(&b.context.to_string_lossy()).is_some();
    let dockerfile = b.dockerfile.as_deref().map(|d| {
        if remote {
            std::path::PathBuf::from(d)
        } else {
            b.context.join(d)
        }
    });
    let mut tags = vec![image.clone()];
    tags.extend(b.tags.iter().cloned());
    let secret_values = build_secrets(stack, service, b)?;
    let opts = build::BuildOptions {
        context: b.context.clone(),
        dockerfile,
        tags,
        build_args: b
            .args
            .iter()
            .map(|(k, v)| format!("{k}={v}"))
            .chain(flags.build_args.iter().cloned())
            .collect(),
        target: b.target.clone(),
        no_cache: b.no_cache || flags.no_cache,
        pull: b.pull || flags.pull,
        dockerfile_inline: b.dockerfile_inline.clone(),
        labels: b.labels.iter().map(|(k, v)| format!("{k}={v}")).collect(),
        network: b.network.clone(),
        secret_values,
        ssh: b.ssh.clone(),
        build_contexts: b
            .additional_contexts
            .iter()
            .map(|(k, v)| format!("{k}={v}"))
            .collect(),
        add_hosts: b.extra_hosts.clone(),
        ..Default::default()
    };
    let events = stack.events;
    let mut report = |e: build::Event<'_>| {
        if let build::Event::Warning(w) = e {
            events.warning(&format!("service {service:?}: {w}"));
        }
    };
    match build::build(stack.root, &opts, &mut report) {
        Ok(_) => {
            stack
                .events
                .object(Kind::Image, &image, "Built", Phase::Done);
            Ok(())
        }
        Err(e) => {
            stack
                .events
                .object(Kind::Image, &image, "Error", Phase::Failed);
            Err(Error::failed(format!(
                "service {service:?}: building {image}: {e}"
            )))
        }
    }
}

/// Makes sure every service's image is there before anything is created: builds what
/// has `build:` and is missing (everything with `--build` or `pull_policy: build`),
/// pulls what is missing (everything with `pull_policy: always`).
pub fn ensure(
    stack: &Stack,
    services: &BTreeSet<String>,
    build: bool,
    progress: &dyn Progress,
) -> Result<()> {
    let mut pulled = BTreeSet::new();
    for name in services {
        let Some(svc) = stack.project.services.get(name) else {
            continue;
        };
        let image = image_name(&stack.project.name, name, svc);
        let present = image_id(stack, &image)?.is_some();
        if svc.build.is_some() && (build || !present || svc.pull_policy.as_deref() == Some("build"))
        {
            build_one(stack, name, svc, &BuildFlags::default())?;
            continue;
        }
        let fetch = match svc.pull_policy.as_deref() {
            Some("always") => true,
            Some("never") => {
                if !present {
                    return Err(Error::invalid(format!(
                        "service {name:?}: image {image} is not present and its pull_policy is never"
                    )));
                }
                false
            }
            _ => !present,
        };
        if fetch && pulled.insert(image.clone()) {
            pull_one(stack, name, &image, svc, progress)?;
        }
    }
    Ok(())
}

/// Pulls one service's image, reporting it as compose does (`Image x Pulling`).
pub fn pull_one(
    stack: &Stack,
    service: &str,
    image: &str,
    svc: &Service,
    progress: &dyn Progress,
) -> Result<()> {
    stack
        .events
        .object(Kind::Image, image, "Pulling", Phase::Working);
    let opts = PullOptions {
        platform: svc.platform.clone(),
        tls_verify: None,
    };
    match pull::pull(stack.root, image, &opts, progress) {
        Ok(_) => {
            stack
                .events
                .object(Kind::Image, image, "Pulled", Phase::Done);
            Ok(())
        }
        Err(e) => {
            stack
                .events
                .object(Kind::Image, image, "Error", Phase::Failed);
            Err(Error::failed(format!(
                "service {service:?}: pulling {image}: {e}"
            )))
        }
    }
}

/// `compose pull`: every selected service that has an image to pull. Services that
/// are only built are skipped. With `ignore_failures`, failures become warnings.
pub fn pull_services(
    stack: &Stack,
    services: &BTreeSet<String>,
    ignore_failures: bool,
    progress: &dyn Progress,
) -> Result<()> {
    let mut done = BTreeSet::new();
    for name in services {
        let Some(svc) = stack.project.services.get(name) else {
            continue;
        };
        let Some(image) = &svc.image else {
            continue;
        };
        if svc.build.is_some() && svc.pull_policy.as_deref() == Some("build") {
            continue;
        }
        if !done.insert(image.clone()) {
            continue;
        }
        if let Err(e) = pull_one(stack, name, image, svc, progress) {
            if !ignore_failures {
                return Err(e);
            }
            stack.events.warning(&e.to_string());
        }
    }
    Ok(())
}

/// The values of a build's `secrets:`, by the id a Dockerfile mounts them as: the
/// target's name (`/run/secrets/ID` or a bare `ID`), which is the source's by default.
fn build_secrets(
    stack: &Stack,
    service: &str,
    b: &compose::model::Build,
) -> Result<build::secrets::Given> {
    let mut given = build::secrets::Given::default();
    for r in &b.secrets {
        let object = stack.project.secrets.get(&r.source).ok_or_else(|| {
            Error::invalid(format!(
                "service {service:?}: build secret {:?} is not defined under the top-level secrets:",
                r.source
            ))
        })?;
        if object.external {
            return Err(Error::invalid(format!(
                "service {service:?}: build secret {:?} is external, which only a swarm can read: give it a file or environment",
                r.source
            )));
        }
        let value = match &object.source {
            compose::model::FileSource::File(path) => std::fs::read(path).map_err(|e| {
                Error::invalid(format!(
                    "service {service:?}: build secret {:?}: reading {}: {e}",
                    r.source,
                    path.display()
                ))
            })?,
            compose::model::FileSource::Environment { value, .. } => value.clone().into_bytes(),
            compose::model::FileSource::Content(c) => c.clone().into_bytes(),
        };
        let id = r
            .target
            .strip_prefix("/run/secrets/")
            .unwrap_or(&r.target)
            .to_string();
        given.0.insert(id, value);
    }
    Ok(given)
}
