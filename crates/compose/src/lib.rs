//! The compose file model, built up in layers: `value` (a YAML tree that remembers
//! where every node came from), `yaml` (parsing, anchors, aliases, merge keys),
//! `interpolate` (`${VAR}` rules and `.env` files), `model` (the typed project and its
//! parser), `load` (finding files, merging, `extends`, profiles). It reads files and
//! environment variables it is given; it never starts, stops or inspects containers.

pub mod interpolate;
pub mod load;
pub mod model;
pub mod value;
pub mod yaml;
