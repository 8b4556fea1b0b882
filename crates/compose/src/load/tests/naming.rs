//! The project name: each source in order, normalisation, and invalid explicit names.

use super::*;

fn named(file_name: Option<&str>) -> Tree {
    let text = match file_name {
        Some(n) => format!("name: {n}\n{}", web("a")),
        None => web("a"),
    };
    Tree::new(&[("Dir.Name_X/compose.yaml", &text)])
}

#[test]
fn the_directory_name_is_normalised() {
    let t = named(None);
    let m = merged(&t.opts("Dir.Name_X"));
    assert_eq!(m.project_name, "dirname_x");
    assert_eq!(m.tree.to_json()["name"], "dirname_x");
    // The name comes first in the tree, as `config` prints it.
    assert_eq!(m.tree.as_map().unwrap()[0].0.name, "name");
}

#[test]
fn the_name_field_wins_over_the_directory_and_is_interpolated() {
    let t = named(Some("${PREFIX}-app"));
    let mut o = t.opts("Dir.Name_X");
    o.environment = env(&[("PREFIX", "shop")]);
    let m = merged(&o);
    assert_eq!(m.project_name, "shop-app");
    assert!(m.warnings.is_empty(), "{:?}", m.warnings);
}

#[test]
fn the_last_file_with_a_name_decides() {
    let t = Tree::new(&[
        ("compose.yaml", &format!("name: first\n{}", web("a"))),
        ("compose.override.yaml", "name: second\n"),
    ]);
    assert_eq!(merged(&t.opts("")).project_name, "second");
}

#[test]
fn an_unusable_name_field_is_normalised_with_a_warning() {
    let t = named(Some("\"My Shop\""));
    let m = merged(&t.opts("Dir.Name_X"));
    assert_eq!(m.project_name, "myshop");
    assert_eq!(m.warnings.len(), 1);
    assert!(
        m.warnings[0].starts_with("compose.yaml:1:7: name \"My Shop\" is not a valid project name"),
        "{:?}",
        m.warnings
    );
}

#[test]
fn compose_project_name_wins_over_the_file_and_may_come_from_dot_env() {
    let t = named(Some("file-name"));
    let mut o = t.opts("Dir.Name_X");
    o.environment = env(&[("COMPOSE_PROJECT_NAME", "from-env")]);
    assert_eq!(merged(&o).project_name, "from-env");

    t.write("Dir.Name_X/.env", "COMPOSE_PROJECT_NAME=from-dotenv\n");
    assert_eq!(merged(&t.opts("Dir.Name_X")).project_name, "from-dotenv");
    // The process environment still wins over .env.
    assert_eq!(merged(&o).project_name, "from-env");
}

#[test]
fn dash_p_wins_over_everything() {
    let t = named(Some("file-name"));
    let mut o = t.opts("Dir.Name_X");
    o.environment = env(&[("COMPOSE_PROJECT_NAME", "from-env")]);
    o.project_name = Some("flag_1".into());
    assert_eq!(merged(&o).project_name, "flag_1");
}

#[test]
fn invalid_explicit_names_are_errors_quoting_the_rule() {
    let t = named(None);
    let mut o = t.opts("Dir.Name_X");
    o.project_name = Some("My App".into());
    let e = failure(&o);
    assert!(
        e.starts_with("invalid project name \"My App\" (given by -p)"),
        "{e}"
    );
    assert!(
        e.contains("must consist only of lowercase alphanumeric characters, hyphens, and underscores as well as start with a letter or number"),
        "{e}"
    );

    o.project_name = None;
    o.environment = env(&[("COMPOSE_PROJECT_NAME", "-lead")]);
    assert!(failure(&o).contains("(given by COMPOSE_PROJECT_NAME)"));
}

#[test]
fn a_directory_with_no_usable_name_needs_one_given() {
    let t = Tree::new(&[("___/compose.yaml", &web("a"))]);
    let e = failure(&t.opts("___"));
    assert!(
        e.contains("-p, COMPOSE_PROJECT_NAME or a top-level `name:`"),
        "{e}"
    );
}
