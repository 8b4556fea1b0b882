//! The two system calls seccomp needs: installing a filter and reading the kernel's
//! version. The only unsafe code of the seccomp module.
#![allow(unsafe_code)]

use std::io;
use std::sync::OnceLock;

use super::profile::KernelVersion;

/// `seccomp(SECCOMP_SET_MODE_FILTER, 0, &prog)`. Allocates nothing, so it is safe to
/// call between fork and exec.
pub(super) fn seccomp_set_filter(insns: &[libc::sock_filter]) -> io::Result<()> {
    let Ok(len) = u16::try_from(insns.len()) else {
        return Err(io::Error::from_raw_os_error(libc::EINVAL));
    };
    let prog = libc::sock_fprog {
        len,
        // The kernel only reads the filter; the cast to *mut is what the C type says.
        filter: insns.as_ptr().cast_mut(),
    };
    // SAFETY: `prog` points at `len` initialised instructions that outlive the call;
    // the kernel copies the filter before returning and never writes through it.
    let rc = unsafe {
        libc::syscall(
            libc::SYS_seccomp,
            libc::SECCOMP_SET_MODE_FILTER,
            0 as libc::c_uint,
            &prog as *const libc::sock_fprog,
        )
    };
    if rc == 0 {
        Ok(())
    } else {
        Err(io::Error::last_os_error())
    }
}

/// The running kernel's version (from uname), read once. Unknown (0.0.0) when uname's
/// release string does not start with numbers, so that no minKernel rule applies.
pub(super) fn kernel_version() -> KernelVersion {
    static VERSION: OnceLock<KernelVersion> = OnceLock::new();
    *VERSION.get_or_init(|| {
        // SAFETY: utsname is plain old data; zeroed is a valid value, and uname fills
        // it with NUL-terminated strings.
        let mut uts: libc::utsname = unsafe { std::mem::zeroed() };
        // SAFETY: `uts` is a valid, writable utsname.
        if unsafe { libc::uname(&mut uts) } != 0 {
            return KernelVersion::default();
        }
        let release: Vec<u8> = uts
            .release
            .iter()
            .take_while(|&&c| c != 0)
            .map(|&c| c as u8)
            .collect();
        KernelVersion::from_release(&String::from_utf8_lossy(&release))
    })
}
