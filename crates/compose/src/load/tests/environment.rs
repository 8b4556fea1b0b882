//! The project environment: `.env`, `--env-file`, the process environment over both,
//! and what interpolation sees.

use super::*;

const IMAGE_FROM_VARS: &str = "services:\n  web:\n    image: ${REPO}/${NAME:-none}\n";

#[test]
fn dot_env_feeds_interpolation_and_the_process_environment_wins() {
    let t = Tree::new(&[
        ("compose.yaml", IMAGE_FROM_VARS),
        (".env", "REPO=dotenv\nNAME=${REPO}-name\n"),
    ]);
    let mut o = t.opts("");
    assert_eq!(service(&merged(&o), "web")["image"], "dotenv/dotenv-name");

    o.environment = env(&[("REPO", "process")]);
    let m = merged(&o);
    // NAME's ${REPO} sees the process value too, as compose's does.
    assert_eq!(service(&m, "web")["image"], "process/process-name");
    assert_eq!(m.env.get("REPO").map(String::as_str), Some("process"));
    assert_eq!(m.env.get("NAME").map(String::as_str), Some("process-name"));
}

#[test]
fn env_files_replace_dot_env_and_later_ones_win() {
    let t = Tree::new(&[
        ("compose.yaml", IMAGE_FROM_VARS),
        (".env", "REPO=dotenv\n"),
        ("one.env", "REPO=one\nNAME=one\n"),
        ("conf/two.env", "NAME=two-${REPO}\n"),
    ]);
    let mut o = t.opts("");
    o.env_files = vec!["one.env".into(), "conf/two.env".into()];
    assert_eq!(service(&merged(&o), "web")["image"], "one/two-one");

    o.env_files = vec!["conf/two.env".into()];
    let m = merged(&o);
    assert_eq!(service(&m, "web")["image"], "/two-");
    assert!(
        !m.env.contains_key("REPO"),
        ".env must not be read when --env-file is given"
    );
}

#[test]
fn a_missing_env_file_is_an_error() {
    let t = Tree::new(&[("compose.yaml", &web("a"))]);
    let mut o = t.opts("");
    o.env_files = vec!["missing.env".into()];
    let e = failure(&o);
    assert!(e.starts_with("missing.env: env file not found"), "{e}");
}

#[test]
fn a_bad_env_file_line_is_reported_with_its_line() {
    let t = Tree::new(&[("compose.yaml", &web("a")), (".env", "OK=1\nBAD KEY=2\n")]);
    let e = failure(&t.opts(""));
    assert!(e.starts_with(".env:2: "), "{e}");
}

#[test]
fn unset_variables_warn_once_each_where_first_used() {
    let t = Tree::new(&[
        (
            "compose.yaml",
            "services:\n  web:\n    image: $A\n    user: ${B}\n    working_dir: ${A}${C:-c}\n",
        ),
        (
            "compose.override.yaml",
            "services:\n  web:\n    hostname: ${B}${D}\n",
        ),
    ]);
    let m = merged(&t.opts(""));
    let not_set =
        |name: &str| format!("The \"{name}\" variable is not set. Defaulting to a blank string.");
    assert_eq!(
        m.warnings,
        vec![
            format!("compose.yaml:3:12: {}", not_set("A")),
            format!("compose.yaml:4:11: {}", not_set("B")),
            format!("compose.override.yaml:3:15: {}", not_set("D")),
        ]
    );
    assert_eq!(service(&m, "web")["working_dir"], "c");
}

#[test]
fn the_project_name_is_visible_to_interpolation() {
    let t = Tree::new(&[(
        "app/compose.yaml",
        "services:\n  web:\n    image: ${COMPOSE_PROJECT_NAME}-web\n",
    )]);
    let mut o = t.opts("app");
    assert_eq!(service(&merged(&o), "web")["image"], "app-web");
    o.project_name = Some("given".into());
    let m = merged(&o);
    assert_eq!(service(&m, "web")["image"], "given-web");
    assert_eq!(
        m.env.get("COMPOSE_PROJECT_NAME").map(String::as_str),
        Some("given")
    );
}

#[test]
fn compose_profiles_may_come_from_the_process_or_dot_env() {
    let t = Tree::new(&[
        ("compose.yaml", &web("a")),
        (".env", "COMPOSE_PROFILES=debug, tools\n"),
    ]);
    let mut o = t.opts("");
    assert_eq!(merged(&o).profiles, vec!["debug", "tools"]);
    o.environment = env(&[("COMPOSE_PROFILES", "ops")]);
    assert_eq!(merged(&o).profiles, vec!["ops"]);
    o.profiles = vec!["cli".into()];
    assert_eq!(merged(&o).profiles, vec!["cli"]);
}

#[test]
fn compose_disable_env_file_skips_dot_env() {
    let t = Tree::new(&[("compose.yaml", IMAGE_FROM_VARS), (".env", "REPO=dotenv\n")]);
    let mut o = t.opts("");
    o.environment = env(&[("COMPOSE_DISABLE_ENV_FILE", "true")]);
    assert_eq!(service(&merged(&o), "web")["image"], "/none");
    o.environment = env(&[("COMPOSE_DISABLE_ENV_FILE", "maybe")]);
    assert!(failure(&o).contains("COMPOSE_DISABLE_ENV_FILE"));
}

#[test]
fn the_start_directory_dot_env_comes_first_then_the_project_directory_fills_in() {
    // compose reads the .env of the directory it starts in (it may name COMPOSE_FILE)
    // and then the project directory's, which only adds what is still unset.
    let t = Tree::new(&[
        ("proj/compose.yaml", IMAGE_FROM_VARS),
        ("proj/.env", "REPO=proj\nNAME=proj\n"),
        ("proj/sub/.env", "REPO=sub\n"),
    ]);
    let m = merged(&t.opts("proj/sub"));
    assert_eq!(m.project_dir, t.root().join("proj"));
    assert_eq!(service(&m, "web")["image"], "sub/proj");
}

#[test]
fn dot_env_is_read_from_the_project_directory_given() {
    let t = Tree::new(&[
        ("proj/compose.yaml", IMAGE_FROM_VARS),
        ("proj/.env", "REPO=proj\n"),
        (".env", "REPO=cwd\n"),
    ]);
    let mut o = t.opts("");
    o.project_directory = Some("proj".into());
    assert_eq!(service(&merged(&o), "web")["image"], "proj/none");
}
