//! berth's container networking: Linux bridges and veth pairs driven over netlink, IP
//! address management, firewall rules in berth's own nftables table, published ports
//! (a userland proxy the monitor runs) and name resolution (a DNS responder the monitor
//! serves inside the container's network namespace).
//!
//! It knows nothing of containers, images, records or the CLI: the engine hands it
//! names, addresses and namespace descriptors. No `unsafe` here: system calls go through
//! rustix and netlink-sys.

pub mod dns;
pub mod firewall;
pub mod ipam;
pub mod link;
pub mod ports;
