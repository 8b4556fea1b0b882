//! Which files are loaded, in which order, from where, and how they are named in
//! messages.

use super::*;

#[test]
fn compose_yaml_and_its_override_are_found_and_merged_in_order() {
    let t = Tree::new(&[
        (
            "p/compose.yaml",
            "services:\n  web:\n    image: base\n    user: root\n",
        ),
        (
            "p/compose.override.yaml",
            "services:\n  web:\n    image: over\n",
        ),
    ]);
    let m = merged(&t.opts("p"));
    assert_eq!(
        m.files,
        vec![
            t.root().join("p/compose.yaml"),
            t.root().join("p/compose.override.yaml")
        ]
    );
    assert_eq!(
        service(&m, "web"),
        serde_json::json!({"image": "over", "user": "root"})
    );
    assert_eq!(m.project_dir, t.root().join("p"));
    assert!(m.warnings.is_empty(), "{:?}", m.warnings);
}

#[test]
fn the_first_name_wins_with_a_warning_and_so_does_the_first_override() {
    let t = Tree::new(&[
        ("compose.yml", &web("yml")),
        ("docker-compose.yaml", &web("docker")),
        ("compose.yaml", &web("yaml")),
        ("compose.override.yaml", &web("over-yaml")),
        ("compose.override.yml", &web("over-yml")),
    ]);
    let m = merged(&t.opts(""));
    assert_eq!(
        m.files,
        vec![
            t.root().join("compose.yaml"),
            t.root().join("compose.override.yml")
        ]
    );
    assert_eq!(service(&m, "web")["image"], "over-yml");
    assert_eq!(
        m.warnings,
        vec![
            "found multiple compose files with supported names: compose.yaml, compose.yml, docker-compose.yaml; using compose.yaml",
            "found multiple override files with supported names: compose.override.yml, compose.override.yaml; using compose.override.yml",
        ]
    );
}

#[test]
fn docker_compose_names_are_found_with_any_override_name() {
    let t = Tree::new(&[
        ("docker-compose.yaml", &web("a")),
        ("docker-compose.yml", &web("b")),
        (
            "docker-compose.override.yml",
            "services:\n  web:\n    user: u\n",
        ),
    ]);
    let m = merged(&t.opts(""));
    assert_eq!(
        m.files,
        vec![
            t.root().join("docker-compose.yml"),
            t.root().join("docker-compose.override.yml")
        ]
    );
    assert_eq!(
        service(&m, "web"),
        serde_json::json!({"image": "b", "user": "u"})
    );
}

#[test]
fn discovery_searches_parent_directories() {
    let t = Tree::new(&[
        (
            "My Proj/compose.yaml",
            "services:\n  web:\n    image: ${NOPE}\n",
        ),
        (
            "My Proj/compose.override.yaml",
            "services:\n  web:\n    user: u\n",
        ),
    ]);
    t.path("My Proj/a/b");
    let m = merged(&t.opts("My Proj/a/b"));
    assert_eq!(m.project_dir, t.root().join("My Proj"));
    assert_eq!(m.files.len(), 2);
    assert_eq!(m.project_name, "myproj");
    // Files found above the working directory are named relative to it.
    assert_eq!(
        m.warnings,
        vec!["../../compose.yaml:3:12: The \"NOPE\" variable is not set. Defaulting to a blank string."]
    );
}

#[test]
fn no_compose_file_is_an_error_saying_what_was_looked_for_and_where() {
    let t = Tree::new(&[("p/readme.txt", "")]);
    let e = failure(&t.opts("p"));
    assert!(e.starts_with("no compose file found in "), "{e}");
    assert!(e.contains(&t.root().join("p").display().to_string()), "{e}");
    assert!(
        e.contains("compose.yaml, compose.yml, docker-compose.yml, docker-compose.yaml"),
        "{e}"
    );
    assert!(e.contains("-f"), "{e}");
}

#[test]
fn f_files_are_relative_to_the_working_directory_and_skip_the_override() {
    let t = Tree::new(&[
        (
            "p/compose.yaml",
            "services:\n  web:\n    image: a\n    environment: [A=1]\n",
        ),
        ("p/compose.override.yaml", &web("never")),
        (
            "p/prod.yaml",
            "services:\n  web:\n    environment: {B: 2}\n",
        ),
    ]);
    let mut o = t.opts("");
    o.files = vec!["p/compose.yaml".into(), "p/prod.yaml".into()];
    let m = merged(&o);
    assert_eq!(
        m.files,
        vec![
            t.root().join("p/compose.yaml"),
            t.root().join("p/prod.yaml")
        ]
    );
    assert_eq!(m.project_dir, t.root().join("p"));
    assert_eq!(
        service(&m, "web"),
        serde_json::json!({"image": "a", "environment": {"A": "1", "B": 2}})
    );
}

#[test]
fn compose_file_variable_lists_files_with_its_separator() {
    let t = Tree::new(&[
        ("a.yaml", &web("a")),
        ("b.yaml", "services:\n  web:\n    user: b\n"),
        ("compose.yaml", &web("discovered")),
    ]);
    let mut o = t.opts("");
    o.environment = env(&[("COMPOSE_FILE", "a.yaml:b.yaml")]);
    let m = merged(&o);
    assert_eq!(
        m.files,
        vec![t.root().join("a.yaml"), t.root().join("b.yaml")]
    );
    assert_eq!(
        service(&m, "web"),
        serde_json::json!({"image": "a", "user": "b"})
    );

    o.environment = env(&[
        ("COMPOSE_FILE", "b.yaml;a.yaml"),
        ("COMPOSE_PATH_SEPARATOR", ";"),
    ]);
    assert_eq!(
        service(&merged(&o), "web"),
        serde_json::json!({"user": "b", "image": "a"})
    );

    // -f wins over COMPOSE_FILE.
    o.files = vec!["compose.yaml".into()];
    assert_eq!(service(&merged(&o), "web")["image"], "discovered");
}

#[test]
fn compose_file_may_come_from_dot_env() {
    let t = Tree::new(&[
        (".env", "COMPOSE_FILE=other.yaml\n"),
        ("other.yaml", &web("from-env-file")),
        ("compose.yaml", &web("discovered")),
    ]);
    assert_eq!(
        service(&merged(&t.opts("")), "web")["image"],
        "from-env-file"
    );
}

#[test]
fn dash_reads_standard_input_and_the_project_is_the_working_directory() {
    let t = Tree::new(&[("extra.yaml", "services:\n  web:\n    user: x\n")]);
    let mut o = t.opts("");
    o.files = vec!["-".into(), "extra.yaml".into()];
    let mut stdin = std::io::Cursor::new("services:\n  web:\n    image: ${IMG}\n");
    o.environment = env(&[("IMG", "from-stdin")]);
    let m = merged_tree_from(&o, &mut stdin).unwrap();
    assert_eq!(
        m.files,
        vec![PathBuf::from("-"), t.root().join("extra.yaml")]
    );
    assert_eq!(
        service(&m, "web"),
        serde_json::json!({"image": "from-stdin", "user": "x"})
    );
    assert_eq!(m.project_dir, t.root().join(""));

    o.files = vec!["-".into(), "-".into()];
    let e = merged_tree_from(&o, &mut std::io::Cursor::new(""))
        .unwrap_err()
        .0;
    assert!(e.contains("only once"), "{e}");
}

#[test]
fn project_directory_is_where_discovery_starts() {
    let t = Tree::new(&[
        ("proj/compose.yaml", &web("p")),
        ("compose.yaml", &web("here")),
    ]);
    let mut o = t.opts("");
    o.project_directory = Some("proj".into());
    let m = merged(&o);
    assert_eq!(m.files, vec![t.root().join("proj/compose.yaml")]);
    assert_eq!(m.project_dir, t.root().join("proj"));
    assert_eq!(m.project_name, "proj");
}

#[test]
fn a_missing_f_file_is_named_as_given() {
    let t = Tree::new(&[]);
    let mut o = t.opts("");
    o.files = vec!["sub/nope.yaml".into()];
    let e = failure(&o);
    assert!(
        e.starts_with("sub/nope.yaml: cannot read the compose file: "),
        "{e}"
    );
}

#[test]
fn yaml_and_interpolation_errors_say_file_line_and_column() {
    let t = Tree::new(&[
        ("compose.yaml", &web("a")),
        ("bad.yaml", "services:\n  web:\n    image: [unclosed\n"),
        (
            "interp.yaml",
            "services:\n  web:\n    image: \"${NEED:?set NEED to the image}\"\n",
        ),
        ("list.yaml", "- a\n"),
    ]);
    let mut o = t.opts("");
    o.files = vec!["compose.yaml".into(), "./bad.yaml".into()];
    let e = failure(&o);
    assert!(e.starts_with("./bad.yaml:"), "{e}");

    o.files = vec!["interp.yaml".into()];
    let e = failure(&o);
    assert!(e.starts_with("interp.yaml:3:12: "), "{e}");
    assert!(e.contains("set NEED to the image"), "{e}");

    o.files = vec!["list.yaml".into()];
    let e = failure(&o);
    assert!(
        e.starts_with("list.yaml:1:1: the top level of a compose file must be a mapping"),
        "{e}"
    );
}

#[test]
fn merge_errors_point_at_both_files() {
    let t = Tree::new(&[
        (
            "compose.yaml",
            "services:\n  web:\n    image: a\n    deploy: {replicas: 1}\n",
        ),
        ("b.yaml", "services:\n  web:\n    deploy: nope\n"),
    ]);
    let mut o = t.opts("");
    o.files = vec!["compose.yaml".into(), "b.yaml".into()];
    let e = failure(&o);
    assert!(
        e.starts_with("b.yaml:3:13: services.web.deploy: cannot merge a string over a mapping"),
        "{e}"
    );
    assert!(
        e.ends_with("(the earlier value is at compose.yaml:4:13)"),
        "{e}"
    );
}

#[test]
fn an_empty_override_file_changes_nothing() {
    let t = Tree::new(&[
        ("compose.yaml", &web("a")),
        ("compose.override.yaml", "# nothing yet\n"),
    ]);
    assert_eq!(
        service(&merged(&t.opts("")), "web"),
        serde_json::json!({"image": "a"})
    );
}
