//! The compiled programs installed in the real kernel, in forked children (a filter
//! cannot be removed). Each child reports the number of the first check that failed
//! as its exit code; between fork and exit it only makes system calls.
#![allow(unsafe_code)]

use super::*;

fn errno() -> i32 {
    // SAFETY: errno is thread-local and always readable.
    unsafe { *libc::__errno_location() }
}

/// Forks; the child sets no_new_privs, installs `prog` and exits with `checks()`.
fn in_filtered_child(prog: &Program, checks: fn() -> i32) -> i32 {
    // SAFETY: the child calls only async-signal-safe functions (prctl, the allocation-
    // free `install`, raw syscalls) before _exit.
    match unsafe { libc::fork() } {
        -1 => panic!("fork: {}", std::io::Error::last_os_error()),
        0 => {
            // SAFETY: see above.
            let code = if unsafe { libc::prctl(libc::PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) } != 0 {
                100
            } else if install(prog).is_err() {
                101
            } else {
                checks()
            };
            // SAFETY: ends the child without running the parent's destructors.
            unsafe { libc::_exit(code) }
        }
        pid => {
            let mut status = 0;
            // SAFETY: waits for our own child.
            let r = unsafe { libc::waitpid(pid, &mut status, 0) };
            assert_eq!(r, pid);
            assert!(libc::WIFEXITED(status), "child died: status {status:#x}");
            libc::WEXITSTATUS(status)
        }
    }
}

/// `syscall(...)` returning (result, errno).
macro_rules! sys {
    ($($arg:expr),+) => {{
        // SAFETY: raw system calls with integer or static-string arguments.
        let r = unsafe { libc::syscall($($arg),+) };
        (r, if r == -1 { errno() } else { 0 })
    }};
}

#[test]
fn a_compiled_profile_works_in_the_kernel() {
    let arch = Arch::host().expect("a supported host");
    let json = br#"{
        "defaultAction": "SCMP_ACT_ALLOW",
        "syscalls": [
            {"names": ["getppid"], "action": "SCMP_ACT_ERRNO", "errnoRet": 13},
            {"names": ["mkdir"], "action": "SCMP_ACT_ERRNO", "errnoRet": 122,
             "args": [{"index": 1, "value": 493, "op": "SCMP_CMP_EQ"}]},
            {"names": ["mkdirat"], "action": "SCMP_ACT_ERRNO", "errnoRet": 122,
             "args": [{"index": 2, "value": 493, "op": "SCMP_CMP_EQ"}]},
            {"names": ["getpgid"], "action": "SCMP_ACT_ERRNO", "errnoRet": 7,
             "args": [{"index": 0, "value": 4294967296, "op": "SCMP_CMP_GE"}]}
        ]
    }"#;
    let profile = Profile::from_json(json).unwrap();
    let prog = compile(&profile, arch, &[]).unwrap();
    let code = in_filtered_child(&prog, || {
        let missing = c"/nonexistent-berth-seccomp-test/dir";
        if sys!(libc::SYS_getppid) != (-1, libc::EACCES) {
            return 1;
        }
        if sys!(libc::SYS_getpid).0 <= 0 {
            return 2;
        }
        // The filter answers before the kernel looks at the path...
        if sys!(libc::SYS_mkdirat, libc::AT_FDCWD, missing.as_ptr(), 0o755) != (-1, 122) {
            return 3;
        }
        // ...and lets another mode through to the kernel, which finds no parent.
        if sys!(libc::SYS_mkdirat, libc::AT_FDCWD, missing.as_ptr(), 0o700) != (-1, libc::ENOENT) {
            return 4;
        }
        // Only the high half of the argument is above the compared value's.
        if sys!(libc::SYS_getpgid, 1u64 << 33) != (-1, 7) {
            return 5;
        }
        if sys!(libc::SYS_getpgid, 0u64).0 <= 0 {
            return 6;
        }
        #[cfg(target_arch = "x86_64")]
        if sys!(libc::SYS_mkdir, missing.as_ptr(), 0o755) != (-1, 122) {
            return 7;
        }
        0
    });
    assert_eq!(code, 0, "check {code} failed in the filtered child");
}

#[test]
fn berth_default_profile_works_in_the_kernel() {
    let arch = Arch::host().expect("a supported host");
    let caps: Vec<String> = crate::DEFAULT_CAPABILITIES
        .iter()
        .map(|c| c.to_string())
        .collect();
    let prog = compile(&Profile::berth_default(), arch, &caps).unwrap();
    let code = in_filtered_child(&prog, || {
        if sys!(libc::SYS_unshare, libc::CLONE_NEWUSER) != (-1, libc::EPERM) {
            return 1;
        }
        if sys!(libc::SYS_getpid).0 <= 0 {
            return 2;
        }
        // KEYCTL_GET_KEYRING_ID of the session keyring.
        if sys!(libc::SYS_keyctl, 0, -3, 0) != (-1, libc::EPERM) {
            return 3;
        }
        if sys!(libc::SYS_clone3, 0usize, 0usize) != (-1, libc::ENOSYS) {
            return 4;
        }
        if sys!(libc::SYS_socket, libc::AF_VSOCK, libc::SOCK_STREAM, 0) != (-1, libc::EPERM) {
            return 5;
        }
        let (fd, _) = sys!(libc::SYS_socket, libc::AF_INET, libc::SOCK_DGRAM, 0);
        if fd < 0 {
            return 6;
        }
        sys!(libc::SYS_close, fd);
        let none = c"none";
        if sys!(
            libc::SYS_mount,
            none.as_ptr(),
            c"/".as_ptr(),
            none.as_ptr(),
            0,
            0
        ) != (-1, libc::EPERM)
        {
            return 7;
        }
        if sys!(libc::SYS_personality, 0xffff_ffffu64).0 < 0 {
            return 8;
        }
        // A clone into a new user namespace is refused by the filter; were it not,
        // the new child leaves at once.
        let (pid, e) = sys!(
            libc::SYS_clone,
            libc::CLONE_NEWUSER | libc::SIGCHLD,
            0usize,
            0usize,
            0usize,
            0usize
        );
        if pid == 0 {
            // SAFETY: leaving the unexpected grandchild.
            unsafe { libc::_exit(0) };
        }
        if (pid, e) != (-1, libc::EPERM) {
            return 9;
        }
        // glibc's fork is a plain clone, which the filter lets through.
        // SAFETY: the grandchild exits at once.
        match unsafe { libc::fork() } {
            -1 => return 10,
            // SAFETY: leaving the grandchild.
            0 => unsafe { libc::_exit(42) },
            pid => {
                let mut status = 0;
                // SAFETY: waits for our own child.
                unsafe { libc::waitpid(pid, &mut status, 0) };
                if !libc::WIFEXITED(status) || libc::WEXITSTATUS(status) != 42 {
                    return 11;
                }
            }
        }
        0
    });
    assert_eq!(code, 0, "check {code} failed in the filtered child");
}
