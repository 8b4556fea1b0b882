//! `down`: stops and removes a project's containers (dependents first), then its
//! networks, with `-v` its named and anonymous volumes, with `--rmi` its images, and
//! the project's directory of written secrets. Like every teardown it never stops at
//! the first failure: it does all it can and reports every failure at the end.

use std::collections::BTreeSet;

use crate::events::{Kind, Phase};
use crate::query::{self, Member};
use crate::{images, ops, resources, secrets, Error, Result, Stack};

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Rmi {
    /// Images without a name of their own (those compose would have built).
    Local,
    /// Every image the services use.
    All,
}

#[derive(Debug, Clone, Default)]
pub struct DownOptions {
    pub volumes: bool,
    pub rmi: Option<Rmi>,
    pub timeout: Option<i64>,
    pub remove_orphans: bool,
}

pub fn down(stack: &Stack, opts: &DownOptions) -> Result<()> {
    let mut errors = Vec::new();
    let (ours, orphans): (Vec<Member>, Vec<Member>) =
        query::members(stack.root, &stack.project.name)
            .into_iter()
            .partition(|m| stack.project.services.contains_key(&m.service));
    let mut targets = ours;
    if opts.remove_orphans {
        targets.extend(orphans);
    } else if !orphans.is_empty() {
        let names: Vec<&str> = orphans.iter().map(Member::name).collect();
        stack.events.warning(&format!(
            "Found orphan containers ([{}]) for this project. If you removed or renamed this service in your compose file, you can run this command with the --remove-orphans flag to clean it up.",
            names.join(" ")
        ));
    }
    let image_ids: BTreeSet<String> = targets.iter().map(|m| m.record.image.clone()).collect();
    if let Err(e) = ops::stop_and_remove(stack, targets, opts.timeout, opts.volumes) {
        errors.push(e.to_string());
    }
    resources::remove_networks(stack, &mut errors);
    if opts.volumes {
        resources::remove_volumes(stack, &mut errors);
    }
    if let Some(rmi) = opts.rmi {
        remove_images(stack, rmi, &image_ids, &mut errors);
    }
    if let Err(e) = secrets::remove(stack.root, &stack.project.name) {
        errors.push(e.to_string());
    }
    if errors.is_empty() {
        Ok(())
    } else {
        Err(Error::failed(errors.join("\n")))
    }
}

/// `--rmi`: the services' images (`local`: only those named after the project, as
/// compose names what it builds), and for `all` also the images the removed
/// containers ran.
fn remove_images(stack: &Stack, rmi: Rmi, used: &BTreeSet<String>, errors: &mut Vec<String>) {
    let mut names: BTreeSet<String> = BTreeSet::new();
    for (name, svc) in &stack.project.services {
        match (rmi, &svc.image) {
            (Rmi::All, Some(image)) => {
                names.insert(image.clone());
            }
            (_, None) => {
                names.insert(images::image_name(&stack.project.name, name, svc));
            }
            (Rmi::Local, Some(_)) => {}
        }
    }
    if rmi == Rmi::All {
        names.extend(used.iter().cloned());
    }
    for name in names {
        match images::image_id(stack, &name) {
            Ok(Some(_)) => {}
            Ok(None) => continue,
            Err(e) => {
                errors.push(e.to_string());
                continue;
            }
        }
        stack
            .events
            .object(Kind::Image, &name, "Removing", Phase::Working);
        match engine::images::remove(stack.root, &name, false) {
            Ok(_) | Err(engine::Error::NoSuchImage(_)) => {
                stack
                    .events
                    .object(Kind::Image, &name, "Removed", Phase::Done)
            }
            Err(e) => {
                stack
                    .events
                    .object(Kind::Image, &name, "Error", Phase::Failed);
                errors.push(format!("removing image {name}: {e}"));
            }
        }
    }
}
