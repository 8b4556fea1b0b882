//! The config hash a container carries (`com.docker.compose.config-hash`): the
//! sha256 of the service's settings as JSON, without the settings that do not change
//! what a container is (scale, build, pull policy, profiles, dependencies), as compose
//! computes it. A second `up` recreates a container exactly when its hash changed.

use compose::model::Service;
use sha2::{Digest, Sha256};

pub fn config_hash(svc: &Service) -> String {
    let mut s = svc.clone();
    s.scale = None;
    s.build = None;
    s.pull_policy = None;
    s.profiles.clear();
    s.depends_on.clear();
    // Serialising the model cannot fail (no maps with non-string keys); an empty
    // string would only make every container look changed.
    let json = serde_json::to_vec(&s).unwrap_or_default();
    hex::encode(Sha256::digest(&json))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn scale_and_dependencies_do_not_change_the_hash_but_settings_do() {
        let svc = Service {
            image: Some("busybox".into()),
            command: Some(vec!["sleep".into(), "1".into()]),
            ..Default::default()
        };
        let h = config_hash(&svc);
        assert_eq!(h.len(), 64);
        let scaled = Service {
            scale: Some(3),
            ..svc.clone()
        };
        assert_eq!(config_hash(&scaled), h);
        let mut with_dep = svc.clone();
        with_dep.depends_on.insert("db".into(), Default::default());
        assert_eq!(config_hash(&with_dep), h);
        let changed = Service {
            command: Some(vec!["sleep".into(), "2".into()]),
            ..svc
        };
        assert_ne!(config_hash(&changed), h);
    }
}
