//! The unpack limit comes from BERTH_MAX_LAYER_SIZE. (One test in its own binary: it
//! changes the process environment.)
#![allow(clippy::unwrap_used, clippy::expect_used)]

use store::{Error, Limits};

#[test]
fn max_layer_size_is_read_from_the_environment() {
    std::env::remove_var(Limits::ENV);
    assert_eq!(Limits::from_env().unwrap(), Limits::default());
    assert_eq!(Limits::default().max_unpacked, 64 << 30);
    std::env::set_var(Limits::ENV, "1048576");
    assert_eq!(Limits::from_env().unwrap().max_unpacked, 1 << 20);
    std::env::set_var(Limits::ENV, "64G");
    let err = Limits::from_env().unwrap_err();
    assert!(
        matches!(err, Error::Invalid(_)) && err.to_string().contains("BERTH_MAX_LAYER_SIZE"),
        "{err}"
    );
    std::env::remove_var(Limits::ENV);
}
