//! The compose file model, built up in layers: `value` (a YAML tree that remembers
//! where every node came from), `yaml` (parsing, anchors, aliases, merge keys),
//! `interpolate` (`${VAR}` rules and `.env` files). It reads files and environment
//! variables it is given; it never starts, stops or inspects containers.

pub mod interpolate;
pub mod value;
pub mod yaml;
