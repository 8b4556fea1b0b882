//! IP address management: subnets (parsing, overlap, picking a free one) and the
//! address pool of one network, kept in a small JSON file beside the network's record.
//!
//! Every change to a pool holds an exclusive `flock` on the pool's lock file from read
//! to write, so concurrent `run`s never get the same address; addresses go back to the
//! pool when released, but allocation continues after the last one handed out (as
//! Docker's IPAM does), so a restarted peer does not inherit a stale address at once.
//! Never touches links or namespaces; IPv4 only for now.

use std::collections::BTreeMap;
use std::fs::{self, File, OpenOptions};
use std::io;
use std::net::Ipv4Addr;
use std::path::PathBuf;

use serde::{Deserialize, Serialize};

/// An IPv4 subnet in CIDR form.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub struct Subnet {
    pub addr: Ipv4Addr,
    pub prefix: u8,
}

impl Subnet {
    /// Parses `10.50.0.0/24`. Host bits must be zero, and the prefix at most /30 (a
    /// network needs a gateway and at least one container address).
    pub fn parse(s: &str) -> Result<Subnet, String> {
        let (a, p) = s
            .split_once('/')
            .ok_or_else(|| format!("invalid subnet {s:?}: use CIDR form such as 10.50.0.0/24"))?;
        let addr: Ipv4Addr = a.parse().map_err(|_| {
            if a.contains(':') {
                format!("invalid subnet {s:?}: IPv6 networks are not supported yet")
            } else {
                format!("invalid subnet {s:?}: {a:?} is not an IPv4 address")
            }
        })?;
        let prefix: u8 = p
            .parse()
            .ok()
            .filter(|p| *p <= 30)
            .ok_or_else(|| format!("invalid subnet {s:?}: the prefix length must be 0-30"))?;
        let net = Subnet { addr, prefix };
        if net.network() != addr {
            return Err(format!(
                "invalid subnet {s:?}: host bits are set (did you mean {}/{prefix}?)",
                net.network()
            ));
        }
        Ok(net)
    }

    fn mask(&self) -> u32 {
        if self.prefix == 0 {
            0
        } else {
            u32::MAX << (32 - self.prefix)
        }
    }

    pub fn network(&self) -> Ipv4Addr {
        Ipv4Addr::from(u32::from(self.addr) & self.mask())
    }

    pub fn broadcast(&self) -> Ipv4Addr {
        Ipv4Addr::from(u32::from(self.addr) | !self.mask())
    }

    pub fn contains(&self, ip: Ipv4Addr) -> bool {
        u32::from(ip) & self.mask() == u32::from(self.network())
    }

    pub fn overlaps(&self, other: &Subnet) -> bool {
        self.contains(other.network()) || other.contains(self.network())
    }

    /// The first usable address: the default gateway, as Docker picks it.
    pub fn first_host(&self) -> Ipv4Addr {
        Ipv4Addr::from(u32::from(self.network()) + 1)
    }

    /// Whether `ip` may be given to a container or gateway: inside, and neither the
    /// network nor the broadcast address.
    pub fn is_host(&self, ip: Ipv4Addr) -> bool {
        self.contains(ip) && ip != self.network() && ip != self.broadcast()
    }
}

impl std::fmt::Display for Subnet {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}/{}", self.addr, self.prefix)
    }
}

/// The subnets berth picks from when none is given, in Docker's order: 172.17-31.0.0/16,
/// then 192.168.0-240.0/20.
pub fn candidate_subnets() -> impl Iterator<Item = Subnet> {
    let b = (17..=31).map(|n| Subnet {
        addr: Ipv4Addr::new(172, n, 0, 0),
        prefix: 16,
    });
    let c = (0..16).map(|n| Subnet {
        addr: Ipv4Addr::new(192, 168, n * 16, 0),
        prefix: 20,
    });
    b.chain(c)
}

/// The first candidate that overlaps none of `used` (other networks, host routes).
pub fn pick_subnet(used: &[Subnet]) -> Option<Subnet> {
    candidate_subnets().find(|c| !used.iter().any(|u| u.overlaps(c)))
}

#[derive(Debug, Default, Serialize, Deserialize)]
struct PoolFile {
    /// Address -> owner (a container id).
    allocated: BTreeMap<Ipv4Addr, String>,
    /// The last address handed out; the next search starts after it.
    last: Option<Ipv4Addr>,
}

/// The address pool of one network.
#[derive(Debug, Clone)]
pub struct Pool {
    path: PathBuf,
    subnet: Subnet,
    gateway: Ipv4Addr,
}

/// A held pool lock; released on drop.
struct PoolLock(#[allow(dead_code)] File);

impl Pool {
    /// The pool kept at `path` (created on first allocation).
    pub fn new(path: impl Into<PathBuf>, subnet: Subnet, gateway: Ipv4Addr) -> Pool {
        Pool {
            path: path.into(),
            subnet,
            gateway,
        }
    }

    fn lock(&self) -> io::Result<PoolLock> {
        let lock_path = self.path.with_extension("lock");
        let f = OpenOptions::new()
            .create(true)
            .truncate(false)
            .write(true)
            .open(&lock_path)?;
        rustix::fs::flock(&f, rustix::fs::FlockOperation::LockExclusive)?;
        Ok(PoolLock(f))
    }

    fn read(&self) -> io::Result<PoolFile> {
        match fs::read(&self.path) {
            Ok(b) => serde_json::from_slice(&b).map_err(|e| {
                io::Error::new(
                    io::ErrorKind::InvalidData,
                    format!("{}: {e}", self.path.display()),
                )
            }),
            Err(e) if e.kind() == io::ErrorKind::NotFound => Ok(PoolFile::default()),
            Err(e) => Err(e),
        }
    }

    fn write(&self, pool: &PoolFile) -> io::Result<()> {
        let tmp = self.path.with_extension("tmp");
        let data = serde_json::to_vec(pool).map_err(io::Error::other)?;
        fs::write(&tmp, data)?;
        fs::rename(&tmp, &self.path)
    }

    /// Gives `owner` an address: `want` if it is free (or already `owner`'s), else the
    /// next free one. Errors say which address is taken or that the subnet is full.
    pub fn allocate(&self, owner: &str, want: Option<Ipv4Addr>) -> Result<Ipv4Addr, String> {
        let err = |e: io::Error| format!("address pool {}: {e}", self.path.display());
        let _lock = self.lock().map_err(err)?;
        let mut pool = self.read().map_err(err)?;
        let ip = match want {
            Some(ip) => {
                if !self.subnet.is_host(ip) || ip == self.gateway {
                    return Err(format!(
                        "address {ip} cannot be given to a container on subnet {}: pick a host address other than the gateway {}",
                        self.subnet, self.gateway
                    ));
                }
                match pool.allocated.get(&ip) {
                    Some(o) if o != owner => {
                        return Err(format!(
                            "address {ip} is already in use by container {}",
                            &o[..o.len().min(12)]
                        ))
                    }
                    _ => ip,
                }
            }
            None => self.next_free(&pool).ok_or_else(|| {
                format!(
                    "no free address left in subnet {} (remove containers or use a larger subnet)",
                    self.subnet
                )
            })?,
        };
        pool.allocated.insert(ip, owner.to_string());
        if want.is_none() {
            pool.last = Some(ip);
        }
        self.write(&pool).map_err(err)?;
        Ok(ip)
    }

    fn next_free(&self, pool: &PoolFile) -> Option<Ipv4Addr> {
        let first = u32::from(self.subnet.network()) + 1;
        let last = u32::from(self.subnet.broadcast()) - 1;
        let start = pool
            .last
            .map(u32::from)
            .filter(|l| (first..=last).contains(l))
            .map(|l| if l == last { first } else { l + 1 })
            .unwrap_or(first);
        let free = |n: u32| {
            let ip = Ipv4Addr::from(n);
            ip != self.gateway && !pool.allocated.contains_key(&ip)
        };
        (start..=last)
            .chain(first..start)
            .find(|n| free(*n))
            .map(Ipv4Addr::from)
    }

    /// Returns every address of `owner` to the pool.
    pub fn release(&self, owner: &str) -> io::Result<()> {
        let _lock = self.lock()?;
        let mut pool = self.read()?;
        let before = pool.allocated.len();
        pool.allocated.retain(|_, o| o != owner);
        if pool.allocated.len() != before {
            self.write(&pool)?;
        }
        Ok(())
    }

    /// Address -> owner, as it stands.
    pub fn allocated(&self) -> io::Result<BTreeMap<Ipv4Addr, String>> {
        Ok(self.read()?.allocated)
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    #[test]
    fn subnets_parse_and_say_what_is_wrong() {
        let s = Subnet::parse("10.50.0.0/24").unwrap();
        assert_eq!(s.to_string(), "10.50.0.0/24");
        assert_eq!(s.first_host(), Ipv4Addr::new(10, 50, 0, 1));
        assert_eq!(s.broadcast(), Ipv4Addr::new(10, 50, 0, 255));
        assert!(s.contains(Ipv4Addr::new(10, 50, 0, 77)));
        assert!(!s.contains(Ipv4Addr::new(10, 50, 1, 1)));
        for (bad, want) in [
            ("10.50.0.0", "CIDR"),
            ("10.50.0.1/24", "did you mean 10.50.0.0/24"),
            ("10.50.0.0/31", "0-30"),
            ("fd00::/64", "IPv6"),
            ("x/8", "not an IPv4"),
        ] {
            let e = Subnet::parse(bad).unwrap_err();
            assert!(e.contains(want), "{bad}: {e}");
        }
    }

    #[test]
    fn picking_skips_used_and_overlapping_subnets() {
        assert_eq!(pick_subnet(&[]).unwrap().to_string(), "172.17.0.0/16");
        let used = [
            Subnet::parse("172.17.0.0/16").unwrap(),
            Subnet::parse("172.18.5.0/24").unwrap(),
            Subnet::parse("172.16.0.0/12").unwrap(),
        ];
        assert_eq!(pick_subnet(&used).unwrap().to_string(), "192.168.0.0/20");
        assert!(Subnet::parse("10.0.0.0/8")
            .unwrap()
            .overlaps(&Subnet::parse("10.1.2.0/24").unwrap()));
    }

    #[test]
    fn pool_hands_out_distinct_addresses_and_respects_requests() {
        let d = tempfile::tempdir().unwrap();
        let s = Subnet::parse("10.9.0.0/29").unwrap(); // hosts .1-.6, gateway .1
        let pool = Pool::new(d.path().join("pool.json"), s, s.first_host());
        let a = pool.allocate("a", None).unwrap();
        let b = pool.allocate("b", None).unwrap();
        assert_eq!(
            (a, b),
            (Ipv4Addr::new(10, 9, 0, 2), Ipv4Addr::new(10, 9, 0, 3))
        );
        assert_eq!(
            pool.allocate("c", Some(Ipv4Addr::new(10, 9, 0, 6)))
                .unwrap(),
            Ipv4Addr::new(10, 9, 0, 6)
        );
        let e = pool.allocate("d", Some(a)).unwrap_err();
        assert!(e.contains("already in use by container a"), "{e}");
        for bad in [
            Ipv4Addr::new(10, 9, 0, 1),
            Ipv4Addr::new(10, 9, 0, 7),
            Ipv4Addr::new(10, 9, 1, 2),
        ] {
            assert!(pool.allocate("d", Some(bad)).is_err(), "{bad}");
        }
        // Asking again for one's own address is fine (a restart keeping --ip).
        assert_eq!(
            pool.allocate("c", Some(Ipv4Addr::new(10, 9, 0, 6)))
                .unwrap(),
            Ipv4Addr::new(10, 9, 0, 6)
        );
        assert_eq!(
            pool.allocate("d", None).unwrap(),
            Ipv4Addr::new(10, 9, 0, 4)
        );
        assert_eq!(
            pool.allocate("e", None).unwrap(),
            Ipv4Addr::new(10, 9, 0, 5)
        );
        let e = pool.allocate("f", None).unwrap_err();
        assert!(e.contains("no free address"), "{e}");
        // Released addresses come back, after the ones not yet used.
        pool.release("a").unwrap();
        assert_eq!(pool.allocate("f", None).unwrap(), a);
        pool.release("b").unwrap();
        assert!(!pool.allocated().unwrap().values().any(|o| o == "b"));
    }

    #[test]
    fn concurrent_allocations_never_collide() {
        let d = tempfile::tempdir().unwrap();
        let s = Subnet::parse("10.9.0.0/24").unwrap();
        let path = d.path().join("pool.json");
        let handles: Vec<_> = (0..8)
            .map(|t| {
                let pool = Pool::new(path.clone(), s, s.first_host());
                std::thread::spawn(move || {
                    (0..10)
                        .map(|i| pool.allocate(&format!("{t}-{i}"), None).unwrap())
                        .collect::<Vec<_>>()
                })
            })
            .collect();
        let mut all: Vec<Ipv4Addr> = handles
            .into_iter()
            .flat_map(|h| h.join().unwrap())
            .collect();
        all.sort();
        all.dedup();
        assert_eq!(all.len(), 80);
    }
}
