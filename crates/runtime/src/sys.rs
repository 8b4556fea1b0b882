//! The unsafe edge of the runtime: thin wrappers over the raw Linux system calls the
//! runtime needs and std does not offer. Every wrapper states the invariant it relies on;
//! everything above this module is safe Rust. Never put policy here, only syscalls.
#![allow(unsafe_code)]

use std::ffi::{CStr, CString};
use std::io;
use std::os::fd::{AsRawFd, BorrowedFd, FromRawFd, OwnedFd, RawFd};
use std::os::unix::ffi::OsStrExt;
use std::path::Path;

fn cstr(path: &Path) -> io::Result<CString> {
    CString::new(path.as_os_str().as_bytes())
        .map_err(|_| io::Error::new(io::ErrorKind::InvalidInput, "path contains a NUL byte"))
}

fn check(ret: libc::c_int) -> io::Result<libc::c_int> {
    if ret < 0 {
        Err(io::Error::last_os_error())
    } else {
        Ok(ret)
    }
}

fn check_long(ret: libc::c_long) -> io::Result<libc::c_long> {
    if ret < 0 {
        Err(io::Error::last_os_error())
    } else {
        Ok(ret)
    }
}

/// Result of a fork-like clone: which side of it we are on.
pub enum Forked {
    Parent(libc::pid_t),
    Child,
}

/// `clone(2)` with fork semantics (copy-on-write stack) plus namespace flags.
///
/// Invariant: the caller is single-threaded, so the child's copy of the address space
/// holds no lock owned by another thread. Every berth process that calls this (the
/// monitor, `berth exec`) runs no threads.
pub fn clone_fork(flags: libc::c_int) -> io::Result<Forked> {
    // SAFETY: a null stack makes clone behave like fork; see the invariant above.
    let ret = unsafe {
        libc::syscall(
            libc::SYS_clone,
            (flags | libc::SIGCHLD) as libc::c_ulong,
            0usize,
            0usize,
            0usize,
            0usize,
        )
    };
    match check_long(ret)? {
        0 => Ok(Forked::Child),
        pid => Ok(Forked::Parent(pid as libc::pid_t)),
    }
}

/// Plain fork. Same single-thread invariant as [`clone_fork`].
pub fn fork() -> io::Result<Forked> {
    clone_fork(0)
}

/// fork(2) through glibc, for a caller that may have other threads (`compose up`
/// starts services from several). glibc then leaves its own state consistent in the
/// child: its list of threads holds only the child's (a raw clone keeps the parent's,
/// and setuid, which signals every listed thread, would wait forever for the missing
/// ones), and malloc's locks are free.
///
/// Invariant: the child takes no lock of the caller's own that another thread may
/// have held at the fork (Rust's stdio, a `OnceLock` being filled), and closes the
/// descriptors it does not own ([`close_all_except`]).
pub fn fork_threaded() -> io::Result<Forked> {
    // SAFETY: see the invariant above; glibc's fork runs its own atfork handlers.
    match check(unsafe { libc::fork() })? {
        0 => Ok(Forked::Child),
        pid => Ok(Forked::Parent(pid)),
    }
}

pub fn unshare(flags: libc::c_int) -> io::Result<()> {
    // SAFETY: plain syscall with integer argument.
    check(unsafe { libc::unshare(flags) }).map(drop)
}

pub fn setns(fd: BorrowedFd<'_>, nstype: libc::c_int) -> io::Result<()> {
    // SAFETY: fd is a valid open descriptor for the duration of the call.
    check(unsafe { libc::setns(fd.as_raw_fd(), nstype) }).map(drop)
}

pub fn pidfd_open(pid: libc::pid_t) -> io::Result<OwnedFd> {
    // SAFETY: integer arguments; on success the kernel returns a new fd we now own.
    let fd = check_long(unsafe { libc::syscall(libc::SYS_pidfd_open, pid, 0) })?;
    // SAFETY: fd was just returned by the kernel and is owned by nobody else.
    Ok(unsafe { OwnedFd::from_raw_fd(fd as RawFd) })
}

pub fn pidfd_send_signal(pidfd: BorrowedFd<'_>, sig: libc::c_int) -> io::Result<()> {
    // SAFETY: valid fd, null siginfo is allowed.
    check_long(unsafe {
        libc::syscall(
            libc::SYS_pidfd_send_signal,
            pidfd.as_raw_fd(),
            sig,
            std::ptr::null::<libc::siginfo_t>(),
            0,
        )
    })
    .map(drop)
}

pub fn kill(pid: libc::pid_t, sig: libc::c_int) -> io::Result<()> {
    // SAFETY: integer arguments.
    check(unsafe { libc::kill(pid, sig) }).map(drop)
}

pub fn mount(
    source: Option<&str>,
    target: &Path,
    fstype: Option<&str>,
    flags: libc::c_ulong,
    data: Option<&str>,
) -> io::Result<()> {
    let source = source.map(CString::new).transpose()?;
    let fstype = fstype.map(CString::new).transpose()?;
    let data = data.map(CString::new).transpose()?;
    let target = cstr(target)?;
    let ptr = |c: &Option<CString>| c.as_ref().map_or(std::ptr::null(), |c| c.as_ptr());
    // SAFETY: every pointer is either null or a NUL-terminated string alive for the call.
    check(unsafe {
        libc::mount(
            ptr(&source),
            target.as_ptr(),
            ptr(&fstype),
            flags,
            ptr(&data) as *const libc::c_void,
        )
    })
    .map(drop)
}

pub fn umount2(target: &Path, flags: libc::c_int) -> io::Result<()> {
    let target = cstr(target)?;
    // SAFETY: valid NUL-terminated path.
    check(unsafe { libc::umount2(target.as_ptr(), flags) }).map(drop)
}

pub fn pivot_root(new_root: &Path, put_old: &Path) -> io::Result<()> {
    let new_root = cstr(new_root)?;
    let put_old = cstr(put_old)?;
    // SAFETY: valid NUL-terminated paths.
    check_long(unsafe { libc::syscall(libc::SYS_pivot_root, new_root.as_ptr(), put_old.as_ptr()) })
        .map(drop)
}

/// `openat2(2)` with `RESOLVE_IN_ROOT`: `path` is resolved as if `root` were `/`, so
/// neither `..` nor an absolute symlink can leave it. This is what keeps mount targets
/// and `berth cp` inside the container (CVE-2018-15664).
pub fn openat2_in_root(
    root: BorrowedFd<'_>,
    path: &Path,
    flags: libc::c_int,
) -> io::Result<OwnedFd> {
    let path = cstr(path)?;
    // SAFETY: open_how is plain data; zero is a valid value for every field.
    let mut how: libc::open_how = unsafe { std::mem::zeroed() };
    how.flags = (flags | libc::O_CLOEXEC) as u64;
    how.resolve = libc::RESOLVE_IN_ROOT | libc::RESOLVE_NO_MAGICLINKS;
    // SAFETY: how is a valid open_how of the size we pass; path is NUL-terminated.
    let fd = check_long(unsafe {
        libc::syscall(
            libc::SYS_openat2,
            root.as_raw_fd(),
            path.as_ptr(),
            &how as *const libc::open_how,
            std::mem::size_of::<libc::open_how>(),
        )
    })?;
    // SAFETY: fresh fd from the kernel.
    Ok(unsafe { OwnedFd::from_raw_fd(fd as RawFd) })
}

/// Marks every descriptor from `first` up close-on-exec, so nothing of the host leaks
/// into the workload (CVE-2024-21626) whatever a library opened behind our back.
pub fn cloexec_from(first: u32) -> io::Result<()> {
    // SAFETY: integer arguments.
    check_long(unsafe {
        libc::syscall(
            libc::SYS_close_range,
            first,
            u32::MAX,
            libc::CLOSE_RANGE_CLOEXEC,
        )
    })
    .map(drop)
}

/// Closes every descriptor from `first` up. Only for a process that owns its whole
/// descriptor table and uses none of those descriptors afterwards (the init, once the
/// workload is forked): any `OwnedFd` among them would later close a reused number.
pub fn close_from(first: u32) -> io::Result<()> {
    // SAFETY: integer arguments; the caller guarantees nothing refers to the descriptors.
    check_long(unsafe { libc::syscall(libc::SYS_close_range, first, u32::MAX, 0) }).map(drop)
}

/// Closes every descriptor from 3 up except those in `keep`. For a freshly forked
/// child of a process that may have other threads: their descriptors (open files,
/// flocks held through them) were copied by the fork, and nothing in the child refers to
/// them. Same caveat as [`close_from`] for the descriptors closed.
pub fn close_all_except(keep: &[RawFd]) -> io::Result<()> {
    let mut keep: Vec<u32> = keep
        .iter()
        .filter_map(|fd| u32::try_from(*fd).ok())
        .filter(|fd| *fd >= 3)
        .collect();
    keep.sort_unstable();
    keep.dedup();
    let mut next = 3u32;
    for k in keep {
        if k > next {
            // SAFETY: integer arguments; the caller guarantees nothing refers to the
            // descriptors in the range.
            check_long(unsafe { libc::syscall(libc::SYS_close_range, next, k - 1, 0) })?;
        }
        next = k + 1;
    }
    close_from(next)
}

pub fn sethostname(name: &str) -> io::Result<()> {
    // SAFETY: pointer and length describe a valid byte slice.
    check(unsafe { libc::sethostname(name.as_ptr() as *const libc::c_char, name.len()) }).map(drop)
}

pub fn setdomainname(name: &str) -> io::Result<()> {
    // SAFETY: pointer and length describe a valid byte slice.
    check(unsafe { libc::setdomainname(name.as_ptr() as *const libc::c_char, name.len()) })
        .map(drop)
}

pub fn prctl(option: libc::c_int, arg2: libc::c_ulong) -> io::Result<()> {
    // SAFETY: the prctl options we use take integer arguments only.
    check(unsafe { libc::prctl(option, arg2, 0, 0, 0) }).map(drop)
}

pub fn setsid() -> io::Result<()> {
    // SAFETY: no arguments.
    check(unsafe { libc::setsid() }).map(drop)
}

pub fn set_controlling_tty(fd: BorrowedFd<'_>) -> io::Result<()> {
    // SAFETY: TIOCSCTTY takes an integer argument.
    check(unsafe { libc::ioctl(fd.as_raw_fd(), libc::TIOCSCTTY, 0) }).map(drop)
}

pub fn get_winsize(fd: BorrowedFd<'_>) -> io::Result<libc::winsize> {
    let mut ws = libc::winsize {
        ws_row: 0,
        ws_col: 0,
        ws_xpixel: 0,
        ws_ypixel: 0,
    };
    // SAFETY: ws is a valid winsize the kernel writes into.
    check(unsafe { libc::ioctl(fd.as_raw_fd(), libc::TIOCGWINSZ, &mut ws) })?;
    Ok(ws)
}

pub fn set_winsize(fd: BorrowedFd<'_>, ws: &libc::winsize) -> io::Result<()> {
    // SAFETY: ws is a valid winsize the kernel reads.
    check(unsafe { libc::ioctl(fd.as_raw_fd(), libc::TIOCSWINSZ, ws) }).map(drop)
}

/// Opens a new pty master from `ptmx` and returns it with the slave's path.
pub fn open_pty(ptmx: &Path) -> io::Result<(OwnedFd, std::path::PathBuf)> {
    let p = cstr(ptmx)?;
    // SAFETY: valid path; on success we own the fd.
    let fd =
        check(unsafe { libc::open(p.as_ptr(), libc::O_RDWR | libc::O_NOCTTY | libc::O_CLOEXEC) })?;
    // SAFETY: fresh fd.
    let master = unsafe { OwnedFd::from_raw_fd(fd) };
    // SAFETY: valid master fd.
    check(unsafe { libc::unlockpt(master.as_raw_fd()) })?;
    let mut buf = [0 as libc::c_char; 128];
    // SAFETY: buf is writable for its length.
    let r = unsafe { libc::ptsname_r(master.as_raw_fd(), buf.as_mut_ptr(), buf.len()) };
    if r != 0 {
        return Err(io::Error::from_raw_os_error(r));
    }
    // SAFETY: ptsname_r NUL-terminated the buffer on success.
    let name = unsafe { CStr::from_ptr(buf.as_ptr()) };
    Ok((
        master,
        std::path::PathBuf::from(std::ffi::OsStr::from_bytes(name.to_bytes())),
    ))
}

pub fn mknod(path: &Path, mode: libc::mode_t, major: u32, minor: u32) -> io::Result<()> {
    let p = cstr(path)?;
    // SAFETY: valid path, integer arguments.
    check(unsafe { libc::mknod(p.as_ptr(), mode, libc::makedev(major, minor)) }).map(drop)
}

pub fn setrlimit(resource: libc::c_int, soft: u64, hard: u64) -> io::Result<()> {
    let lim = libc::rlimit {
        rlim_cur: soft,
        rlim_max: hard,
    };
    // SAFETY: lim is valid for the call.
    check(unsafe { libc::setrlimit(resource as libc::__rlimit_resource_t, &lim) }).map(drop)
}

pub fn getrlimit(resource: libc::c_int) -> io::Result<(u64, u64)> {
    let mut lim = libc::rlimit {
        rlim_cur: 0,
        rlim_max: 0,
    };
    // SAFETY: lim is writable for the call.
    check(unsafe { libc::getrlimit(resource as libc::__rlimit_resource_t, &mut lim) })?;
    Ok((lim.rlim_cur, lim.rlim_max))
}

pub fn setgroups(gids: &[u32]) -> io::Result<()> {
    // SAFETY: pointer and length describe a valid slice of gid_t.
    check(unsafe { libc::setgroups(gids.len(), gids.as_ptr()) }).map(drop)
}

pub fn setresgid(gid: u32) -> io::Result<()> {
    // SAFETY: integer arguments.
    check(unsafe { libc::setresgid(gid, gid, gid) }).map(drop)
}

pub fn setresuid(uid: u32) -> io::Result<()> {
    // SAFETY: integer arguments.
    check(unsafe { libc::setresuid(uid, uid, uid) }).map(drop)
}

pub fn umask(mask: u32) {
    // SAFETY: integer argument, cannot fail.
    unsafe { libc::umask(mask) };
}

/// `execve(2)`; returns only on failure.
pub fn execve(path: &CStr, argv: &[CString], envp: &[CString]) -> io::Error {
    let mut a: Vec<*const libc::c_char> = argv.iter().map(|s| s.as_ptr()).collect();
    a.push(std::ptr::null());
    let mut e: Vec<*const libc::c_char> = envp.iter().map(|s| s.as_ptr()).collect();
    e.push(std::ptr::null());
    // SAFETY: argv and envp are NULL-terminated arrays of pointers into live CStrings.
    unsafe { libc::execve(path.as_ptr(), a.as_ptr(), e.as_ptr()) };
    io::Error::last_os_error()
}

pub fn waitpid(
    pid: libc::pid_t,
    flags: libc::c_int,
) -> io::Result<Option<(libc::pid_t, libc::c_int)>> {
    let mut status = 0;
    loop {
        // SAFETY: status is writable.
        let r = unsafe { libc::waitpid(pid, &mut status, flags) };
        if r < 0 {
            let e = io::Error::last_os_error();
            if e.kind() == io::ErrorKind::Interrupted {
                continue;
            }
            return Err(e);
        }
        return Ok(if r == 0 { None } else { Some((r, status)) });
    }
}

/// Signal mask helpers for the monitor and the minimal init.
pub fn block_signals(signals: &[libc::c_int]) -> io::Result<libc::sigset_t> {
    // SAFETY: sigset_t is plain data; sigemptyset initialises it.
    let mut set: libc::sigset_t = unsafe { std::mem::zeroed() };
    let mut old: libc::sigset_t = unsafe { std::mem::zeroed() };
    // SAFETY: set and old are valid sigset_t values.
    unsafe {
        libc::sigemptyset(&mut set);
        for s in signals {
            libc::sigaddset(&mut set, *s);
        }
    }
    // SAFETY: valid pointers.
    check(unsafe { libc::sigprocmask(libc::SIG_BLOCK, &set, &mut old) })?;
    Ok(old)
}

pub fn block_all_signals() -> io::Result<libc::sigset_t> {
    // SAFETY: sigset_t is plain data initialised by sigfillset/sigemptyset.
    let mut set: libc::sigset_t = unsafe { std::mem::zeroed() };
    let mut old: libc::sigset_t = unsafe { std::mem::zeroed() };
    unsafe { libc::sigfillset(&mut set) };
    // SAFETY: valid pointers.
    check(unsafe { libc::sigprocmask(libc::SIG_SETMASK, &set, &mut old) })?;
    Ok(old)
}

pub fn set_sigmask(set: &libc::sigset_t) -> io::Result<()> {
    // SAFETY: valid pointer.
    check(unsafe { libc::sigprocmask(libc::SIG_SETMASK, set, std::ptr::null_mut()) }).map(drop)
}

/// Restores the default disposition of every catchable signal, so the workload does not
/// inherit an ignored SIGPIPE (Rust's runtime ignores it) or anything else of ours.
pub fn reset_signal_dispositions() {
    for sig in 1..libc::SIGRTMAX() {
        if sig == libc::SIGKILL || sig == libc::SIGSTOP {
            continue;
        }
        // SAFETY: SIG_DFL is always a valid disposition.
        unsafe { libc::signal(sig, libc::SIG_DFL) };
    }
}

pub fn signalfd(signals: &[libc::c_int]) -> io::Result<OwnedFd> {
    // SAFETY: plain data initialised by sigemptyset.
    let mut set: libc::sigset_t = unsafe { std::mem::zeroed() };
    unsafe {
        libc::sigemptyset(&mut set);
        for s in signals {
            libc::sigaddset(&mut set, *s);
        }
    }
    // SAFETY: valid sigset; returns a new fd.
    let fd = check(unsafe { libc::signalfd(-1, &set, libc::SFD_CLOEXEC | libc::SFD_NONBLOCK) })?;
    // SAFETY: fresh fd.
    Ok(unsafe { OwnedFd::from_raw_fd(fd) })
}

/// Reads one pending signal number from a signalfd, if any.
pub fn read_signalfd(fd: BorrowedFd<'_>) -> io::Result<Option<u32>> {
    // SAFETY: signalfd_siginfo is plain data.
    let mut info: libc::signalfd_siginfo = unsafe { std::mem::zeroed() };
    let size = std::mem::size_of::<libc::signalfd_siginfo>();
    // SAFETY: info is writable for size bytes.
    let r = unsafe {
        libc::read(
            fd.as_raw_fd(),
            &mut info as *mut _ as *mut libc::c_void,
            size,
        )
    };
    if r < 0 {
        let e = io::Error::last_os_error();
        if e.kind() == io::ErrorKind::WouldBlock {
            return Ok(None);
        }
        return Err(e);
    }
    if r as usize != size {
        return Ok(None);
    }
    Ok(Some(info.ssi_signo))
}

pub fn pipe() -> io::Result<(OwnedFd, OwnedFd)> {
    let mut fds = [0; 2];
    // SAFETY: fds is writable.
    check(unsafe { libc::pipe2(fds.as_mut_ptr(), libc::O_CLOEXEC) })?;
    // SAFETY: fresh fds.
    Ok(unsafe { (OwnedFd::from_raw_fd(fds[0]), OwnedFd::from_raw_fd(fds[1])) })
}

/// A connected pair of SOCK_SEQPACKET sockets: message boundaries plus fd passing.
pub fn seqpacket_pair() -> io::Result<(OwnedFd, OwnedFd)> {
    let mut fds = [0; 2];
    // SAFETY: fds is writable.
    check(unsafe {
        libc::socketpair(
            libc::AF_UNIX,
            libc::SOCK_SEQPACKET | libc::SOCK_CLOEXEC,
            0,
            fds.as_mut_ptr(),
        )
    })?;
    // SAFETY: fresh fds.
    Ok(unsafe { (OwnedFd::from_raw_fd(fds[0]), OwnedFd::from_raw_fd(fds[1])) })
}

/// Sends `data` and optionally one descriptor over a unix socket.
pub fn send_with_fd(
    sock: BorrowedFd<'_>,
    data: &[u8],
    fd: Option<BorrowedFd<'_>>,
) -> io::Result<()> {
    let mut iov = libc::iovec {
        iov_base: data.as_ptr() as *mut libc::c_void,
        iov_len: data.len(),
    };
    // SAFETY: CMSG_SPACE is a pure computation.
    let space = unsafe { libc::CMSG_SPACE(std::mem::size_of::<RawFd>() as u32) } as usize;
    let mut cbuf = vec![0u8; space];
    // SAFETY: msghdr is plain data; we fill every field we use.
    let mut msg: libc::msghdr = unsafe { std::mem::zeroed() };
    msg.msg_iov = &mut iov;
    msg.msg_iovlen = 1;
    if let Some(fd) = fd {
        msg.msg_control = cbuf.as_mut_ptr() as *mut libc::c_void;
        msg.msg_controllen = space;
        // SAFETY: msg_control points at a buffer of CMSG_SPACE(sizeof fd) bytes.
        unsafe {
            let cmsg = libc::CMSG_FIRSTHDR(&msg);
            (*cmsg).cmsg_level = libc::SOL_SOCKET;
            (*cmsg).cmsg_type = libc::SCM_RIGHTS;
            (*cmsg).cmsg_len = libc::CMSG_LEN(std::mem::size_of::<RawFd>() as u32) as usize;
            std::ptr::write_unaligned(libc::CMSG_DATA(cmsg) as *mut RawFd, fd.as_raw_fd());
        }
    }
    loop {
        // SAFETY: msg points at live buffers.
        let r = unsafe { libc::sendmsg(sock.as_raw_fd(), &msg, libc::MSG_NOSIGNAL) };
        if r < 0 {
            let e = io::Error::last_os_error();
            if e.kind() == io::ErrorKind::Interrupted {
                continue;
            }
            return Err(e);
        }
        return Ok(());
    }
}

/// Receives one message and at most one descriptor. Returns (bytes, fd); zero bytes
/// with no fd means the peer closed.
pub fn recv_with_fd(sock: BorrowedFd<'_>, buf: &mut [u8]) -> io::Result<(usize, Option<OwnedFd>)> {
    let mut iov = libc::iovec {
        iov_base: buf.as_mut_ptr() as *mut libc::c_void,
        iov_len: buf.len(),
    };
    // SAFETY: pure computation.
    let space = unsafe { libc::CMSG_SPACE(std::mem::size_of::<RawFd>() as u32) } as usize;
    let mut cbuf = vec![0u8; space];
    // SAFETY: plain data.
    let mut msg: libc::msghdr = unsafe { std::mem::zeroed() };
    msg.msg_iov = &mut iov;
    msg.msg_iovlen = 1;
    msg.msg_control = cbuf.as_mut_ptr() as *mut libc::c_void;
    msg.msg_controllen = space;
    let n = loop {
        // SAFETY: msg points at live buffers.
        let r = unsafe { libc::recvmsg(sock.as_raw_fd(), &mut msg, libc::MSG_CMSG_CLOEXEC) };
        if r < 0 {
            let e = io::Error::last_os_error();
            if e.kind() == io::ErrorKind::Interrupted {
                continue;
            }
            return Err(e);
        }
        break r as usize;
    };
    let mut fd = None;
    // SAFETY: we walk the control buffer the kernel filled, within msg_controllen.
    unsafe {
        let cmsg = libc::CMSG_FIRSTHDR(&msg);
        if !cmsg.is_null()
            && (*cmsg).cmsg_level == libc::SOL_SOCKET
            && (*cmsg).cmsg_type == libc::SCM_RIGHTS
        {
            let raw = std::ptr::read_unaligned(libc::CMSG_DATA(cmsg) as *const RawFd);
            fd = Some(OwnedFd::from_raw_fd(raw));
        }
    }
    Ok((n, fd))
}

pub fn poll(fds: &mut [libc::pollfd], timeout_ms: libc::c_int) -> io::Result<usize> {
    loop {
        // SAFETY: fds is a valid mutable slice of pollfd.
        let r = unsafe { libc::poll(fds.as_mut_ptr(), fds.len() as libc::nfds_t, timeout_ms) };
        if r < 0 {
            let e = io::Error::last_os_error();
            if e.kind() == io::ErrorKind::Interrupted {
                continue;
            }
            return Err(e);
        }
        return Ok(r as usize);
    }
}

/// Duplicates `fd` onto `target` (clearing close-on-exec on the copy).
pub fn dup2(fd: RawFd, target: RawFd) -> io::Result<()> {
    // SAFETY: integer arguments; both are descriptors we control.
    check(unsafe { libc::dup2(fd, target) }).map(drop)
}

pub fn set_nonblocking(fd: BorrowedFd<'_>, on: bool) -> io::Result<()> {
    // SAFETY: fcntl with integer args on a valid fd.
    let flags = check(unsafe { libc::fcntl(fd.as_raw_fd(), libc::F_GETFL) })?;
    let flags = if on {
        flags | libc::O_NONBLOCK
    } else {
        flags & !libc::O_NONBLOCK
    };
    check(unsafe { libc::fcntl(fd.as_raw_fd(), libc::F_SETFL, flags) }).map(drop)
}

pub fn read(fd: RawFd, buf: &mut [u8]) -> io::Result<usize> {
    loop {
        // SAFETY: buf is writable for its length.
        let r = unsafe { libc::read(fd, buf.as_mut_ptr() as *mut libc::c_void, buf.len()) };
        if r < 0 {
            let e = io::Error::last_os_error();
            if e.kind() == io::ErrorKind::Interrupted {
                continue;
            }
            return Err(e);
        }
        return Ok(r as usize);
    }
}

/// Writes all of `buf`, retrying on EINTR and short writes.
pub fn write_all(fd: RawFd, mut buf: &[u8]) -> io::Result<()> {
    while !buf.is_empty() {
        // SAFETY: buf is readable for its length.
        let r = unsafe { libc::write(fd, buf.as_ptr() as *const libc::c_void, buf.len()) };
        if r < 0 {
            let e = io::Error::last_os_error();
            if e.kind() == io::ErrorKind::Interrupted {
                continue;
            }
            return Err(e);
        }
        buf = &buf[r as usize..];
    }
    Ok(())
}

/// Borrows a raw descriptor the caller knows to be open (0, 1, 2 or one it holds).
pub fn borrow(fd: RawFd) -> BorrowedFd<'static> {
    // SAFETY: callers only pass descriptors that stay open for the process lifetime
    // (stdio) or for the scope in which the borrow is used.
    unsafe { BorrowedFd::borrow_raw(fd) }
}

/// Takes ownership of an inherited descriptor number (e.g. passed by our parent).
pub fn own(fd: RawFd) -> OwnedFd {
    // SAFETY: the caller passes a descriptor it inherited and nothing else owns.
    unsafe { OwnedFd::from_raw_fd(fd) }
}

pub fn clear_cloexec(fd: BorrowedFd<'_>) -> io::Result<()> {
    // SAFETY: fcntl with integer args on a valid fd.
    check(unsafe { libc::fcntl(fd.as_raw_fd(), libc::F_SETFD, 0) }).map(drop)
}

pub fn random_bytes(buf: &mut [u8]) -> io::Result<()> {
    let mut filled = 0;
    while filled < buf.len() {
        // SAFETY: buf[filled..] is writable.
        let r = unsafe {
            libc::getrandom(
                buf[filled..].as_mut_ptr() as *mut libc::c_void,
                buf.len() - filled,
                0,
            )
        };
        if r < 0 {
            let e = io::Error::last_os_error();
            if e.kind() == io::ErrorKind::Interrupted {
                continue;
            }
            return Err(e);
        }
        filled += r as usize;
    }
    Ok(())
}

/// Terminal attributes for raw mode on the CLI side of `-t`.
pub fn tcgetattr(fd: BorrowedFd<'_>) -> io::Result<libc::termios> {
    // SAFETY: termios is plain data the kernel fills.
    let mut t: libc::termios = unsafe { std::mem::zeroed() };
    check(unsafe { libc::tcgetattr(fd.as_raw_fd(), &mut t) })?;
    Ok(t)
}

pub fn tcsetattr(fd: BorrowedFd<'_>, t: &libc::termios) -> io::Result<()> {
    // SAFETY: valid termios pointer.
    check(unsafe { libc::tcsetattr(fd.as_raw_fd(), libc::TCSANOW, t) }).map(drop)
}

pub fn cfmakeraw(t: &mut libc::termios) {
    // SAFETY: valid termios pointer.
    unsafe { libc::cfmakeraw(t) }
}

pub fn isatty(fd: RawFd) -> bool {
    // SAFETY: integer argument.
    unsafe { libc::isatty(fd) == 1 }
}

pub fn geteuid() -> u32 {
    // SAFETY: no arguments, cannot fail.
    unsafe { libc::geteuid() }
}

pub fn getpid() -> libc::pid_t {
    // SAFETY: no arguments, cannot fail.
    unsafe { libc::getpid() }
}

pub fn exit_now(code: i32) -> ! {
    // SAFETY: _exit never returns; used in forked children so that no atexit handler or
    // buffered stdio of the parent's image runs twice.
    unsafe { libc::_exit(code) }
}

pub fn access_x(path: &Path) -> bool {
    match cstr(path) {
        // SAFETY: valid path.
        Ok(p) => unsafe { libc::access(p.as_ptr(), libc::X_OK) == 0 },
        Err(_) => false,
    }
}

fn name_cstr(name: &std::ffi::OsStr) -> io::Result<CString> {
    CString::new(name.as_bytes())
        .map_err(|_| io::Error::new(io::ErrorKind::InvalidInput, "name contains a NUL byte"))
}

/// `mkdirat(2)` of a single path component below `dir` (no slashes, so it cannot escape).
pub fn mkdirat(dir: BorrowedFd<'_>, name: &std::ffi::OsStr, mode: libc::mode_t) -> io::Result<()> {
    let n = name_cstr(name)?;
    // SAFETY: valid fd and NUL-terminated name.
    check(unsafe { libc::mkdirat(dir.as_raw_fd(), n.as_ptr(), mode) }).map(drop)
}

/// Creates (if missing) an empty regular file named `name` in `dir`, never following a
/// symlink at that name.
pub fn create_file_at(
    dir: BorrowedFd<'_>,
    name: &std::ffi::OsStr,
    mode: libc::mode_t,
) -> io::Result<()> {
    let n = name_cstr(name)?;
    // SAFETY: valid fd and NUL-terminated name; we close the returned fd at once.
    let fd = check(unsafe {
        libc::openat(
            dir.as_raw_fd(),
            n.as_ptr(),
            libc::O_CREAT | libc::O_WRONLY | libc::O_NOFOLLOW | libc::O_CLOEXEC,
            mode as libc::c_uint,
        )
    })?;
    drop(own(fd));
    Ok(())
}

/// Opens the slave side of a pty master without a path (`TIOCGPTPEER`), which works
/// before pivot_root when the devpts instance is not yet at /dev/pts.
pub fn open_pty_peer(master: BorrowedFd<'_>) -> io::Result<OwnedFd> {
    // SAFETY: TIOCGPTPEER takes open flags and returns a new fd we own.
    let fd = check(unsafe {
        libc::ioctl(
            master.as_raw_fd(),
            libc::TIOCGPTPEER,
            libc::O_RDWR | libc::O_NOCTTY | libc::O_CLOEXEC,
        )
    })?;
    Ok(own(fd))
}

/// The path through which a mount call can reach what `fd` refers to.
pub fn fd_path(fd: BorrowedFd<'_>) -> std::path::PathBuf {
    std::path::PathBuf::from(format!("/proc/self/fd/{}", fd.as_raw_fd()))
}

/// Brings the loopback interface of the current network namespace up.
pub fn loopback_up() -> io::Result<()> {
    // SAFETY: plain socket creation; the fd is owned right away.
    let sock =
        check(unsafe { libc::socket(libc::AF_INET, libc::SOCK_DGRAM | libc::SOCK_CLOEXEC, 0) })?;
    let sock = own(sock);
    // SAFETY: ifreq is plain data; we set the name and read/write the flags union member.
    let mut req: libc::ifreq = unsafe { std::mem::zeroed() };
    for (dst, src) in req.ifr_name.iter_mut().zip(b"lo\0") {
        *dst = *src as libc::c_char;
    }
    // SAFETY: valid socket and ifreq.
    check(unsafe { libc::ioctl(sock.as_raw_fd(), libc::SIOCGIFFLAGS, &mut req) })?;
    // SAFETY: SIOCGIFFLAGS filled ifru_flags.
    unsafe { req.ifr_ifru.ifru_flags |= (libc::IFF_UP | libc::IFF_RUNNING) as libc::c_short };
    check(unsafe { libc::ioctl(sock.as_raw_fd(), libc::SIOCSIFFLAGS, &req) }).map(drop)
}

pub fn unblock_all_signals() -> io::Result<()> {
    // SAFETY: plain data initialised by sigemptyset.
    let mut set: libc::sigset_t = unsafe { std::mem::zeroed() };
    unsafe { libc::sigemptyset(&mut set) };
    set_sigmask(&set)
}

/// Closes a raw descriptor this process owns but holds no `OwnedFd` for (used right
/// before a process ends its life in a different role, e.g. the init after fork).
pub fn close_raw(fd: RawFd) {
    // SAFETY: the caller guarantees nothing else will use or close fd.
    unsafe { libc::close(fd) };
}

/// The filesystem type magic of the filesystem holding `path`.
pub fn statfs_type(path: &Path) -> io::Result<i64> {
    let c = cstr(path)?;
    let mut st = std::mem::MaybeUninit::<libc::statfs>::uninit();
    // SAFETY: c is NUL-terminated and st is writable.
    check(unsafe { libc::statfs(c.as_ptr(), st.as_mut_ptr()) })?;
    // SAFETY: statfs succeeded, so st is initialised.
    Ok(unsafe { st.assume_init() }.f_type)
}

pub fn flock(fd: RawFd, op: libc::c_int) -> io::Result<()> {
    loop {
        // SAFETY: integer arguments on a descriptor the caller holds open.
        let r = unsafe { libc::flock(fd, op) };
        if r < 0 {
            let e = io::Error::last_os_error();
            if e.kind() == io::ErrorKind::Interrupted {
                continue;
            }
            return Err(e);
        }
        return Ok(());
    }
}

/// Start time of a process in clock ticks since boot (field 22 of /proc/PID/stat):
/// together with the pid it names one process, even after the pid is reused.
pub fn process_start_time(pid: libc::pid_t) -> Option<u64> {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).ok()?;
    // The command name may contain spaces and parentheses: split after the last ')'.
    let rest = &stat[stat.rfind(')')? + 2..];
    rest.split(' ').nth(19)?.parse().ok()
}

/// Whether process `pid` with start time `start` is still alive (not a zombie).
pub fn process_alive(pid: libc::pid_t, start: u64) -> bool {
    if pid <= 0 {
        return false;
    }
    let Ok(stat) = std::fs::read_to_string(format!("/proc/{pid}/stat")) else {
        return false;
    };
    let Some(close) = stat.rfind(')') else {
        return false;
    };
    let mut fields = stat[close + 2..].split(' ');
    let state = fields.next().unwrap_or("");
    let st: Option<u64> = fields.nth(18).and_then(|s| s.parse().ok());
    state != "Z" && state != "X" && st == Some(start)
}

/// Drops this process's resident pages of read-only file mappings (and trims the heap),
/// so that a long-lived process that ran a lot of start-up code keeps only the pages it
/// touches from now on. The pages stay in the page cache; touching them again is a minor
/// fault. A mapping is zapped only when it is private, not writable and holds no
/// anonymous (copied-on-write) page: its content is then exactly the file's, so nothing
/// can be lost (relocated data such as RELRO has anonymous pages and is left alone).
pub fn shed_startup_pages() {
    // Every range is collected first and the file buffer freed before anything is
    // zapped: whatever code runs after the zapping is faulted straight back in, so that
    // tail is kept to one loop over a stack array and the madvise calls.
    let mut ranges = [(0usize, 0usize); 64];
    let mut n = 0;
    {
        let Ok(smaps) = std::fs::read_to_string("/proc/self/smaps") else {
            return;
        };
        let mut current: Option<(usize, usize)> = None;
        for line in smaps.lines() {
            let first = line.split_whitespace().next().unwrap_or("");
            if let Some((a, b)) = first.split_once('-').filter(|_| !first.ends_with(':')) {
                let mut f = line.split_whitespace();
                let perms = f.nth(1).unwrap_or("");
                let path = f.nth(3).unwrap_or("");
                let (Ok(s), Ok(e)) = (usize::from_str_radix(a, 16), usize::from_str_radix(b, 16))
                else {
                    current = None;
                    continue;
                };
                current = (perms.starts_with('r')
                    && perms.ends_with('p')
                    && !perms.contains('w')
                    && path.starts_with('/'))
                .then_some((s, e));
                if path == "[stack]" && n < ranges.len() {
                    // The deepest stack pages were touched by start-up code and are dead
                    // now: everything live is above this frame. Keep a page of margin.
                    let marker = 0u8;
                    let here = std::ptr::addr_of!(marker) as usize;
                    let end = (here & !4095).saturating_sub(4096);
                    if end > s {
                        ranges[n] = (s, end);
                        n += 1;
                    }
                }
            } else if let Some(v) = line.strip_prefix("Anonymous:") {
                if v.trim().trim_end_matches("kB").trim() == "0" && n < ranges.len() {
                    if let Some(r) = current.take() {
                        ranges[n] = r;
                        n += 1;
                    }
                }
                current = None;
            }
        }
    }
    // SAFETY: malloc_trim only returns free heap memory to the kernel.
    unsafe { libc::malloc_trim(0) };
    for &(start, end) in &ranges[..n] {
        // SAFETY: each range is either a private read-only file mapping with no anonymous
        // page (its content is exactly the file's; MADV_DONTNEED only drops page-table
        // entries) or the part of this thread's stack below the current frame, which
        // holds no live data (zapped pages read back as zeros on reuse).
        unsafe { libc::madvise(start as *mut libc::c_void, end - start, libc::MADV_DONTNEED) };
    }
}

/// Sets this thread's name (`/proc/self/comm`, shown by `ps -o comm`), at most 15 bytes.
pub fn set_process_name(name: &CStr) {
    // SAFETY: PR_SET_NAME reads a NUL-terminated string of at most 16 bytes; name is one.
    unsafe { libc::prctl(libc::PR_SET_NAME, name.as_ptr(), 0, 0, 0) };
}

/// Replaces what `/proc/self/cmdline` shows with `name`, by overwriting this process's
/// own argument area through `/proc/self/mem`. Used by the minimal init, which is a fork
/// of the berth CLI: without it, processes in the container would read the host-side
/// command line (paths, the user's arguments) of the berth invocation.
pub fn set_cmdline(name: &str) {
    use std::os::unix::fs::FileExt;
    let Ok(stat) = std::fs::read_to_string("/proc/self/stat") else {
        return;
    };
    let Some(close) = stat.rfind(')') else { return };
    // Fields 48 and 49 (arg_start, arg_end); the text after ')' starts at field 3.
    let fields: Vec<&str> = stat[close + 2..].split(' ').collect();
    let (Some(start), Some(end)) = (
        fields.get(45).and_then(|s| s.parse::<u64>().ok()),
        fields.get(46).and_then(|s| s.parse::<u64>().ok()),
    ) else {
        return;
    };
    if end <= start {
        return;
    }
    let mut buf = vec![0u8; (end - start) as usize];
    let n = name.len().min(buf.len().saturating_sub(1));
    buf[..n].copy_from_slice(&name.as_bytes()[..n]);
    if let Ok(mem) = std::fs::OpenOptions::new()
        .write(true)
        .open("/proc/self/mem")
    {
        let _ = mem.write_all_at(&buf, start);
    }
}

/// The Landlock ABI version the kernel offers, or 0 without Landlock.
pub fn landlock_abi() -> i32 {
    const LANDLOCK_CREATE_RULESET_VERSION: libc::c_uint = 1;
    // SAFETY: with the VERSION flag the kernel reads no attribute (NULL, size 0) and
    // returns the ABI version or an error; nothing is created.
    let ret = unsafe {
        libc::syscall(
            libc::SYS_landlock_create_ruleset,
            std::ptr::null::<libc::c_void>(),
            0usize,
            LANDLOCK_CREATE_RULESET_VERSION,
        )
    };
    if ret < 0 {
        0
    } else {
        ret as i32
    }
}

/// The current working directory as the kernel sees it, or an error when it is not
/// reachable from this process's root (a directory outside the container).
pub fn getcwd_checked() -> io::Result<Vec<u8>> {
    let mut buf = vec![0u8; libc::PATH_MAX as usize + 1];
    // SAFETY: the buffer is writable for its whole length; the raw syscall (not libc's
    // wrapper) is used so that an unreachable cwd shows as "(unreachable)" or ENOENT.
    let ret = unsafe { libc::syscall(libc::SYS_getcwd, buf.as_mut_ptr(), buf.len()) };
    if ret < 0 {
        return Err(io::Error::last_os_error());
    }
    let len = buf.iter().position(|b| *b == 0).unwrap_or(buf.len());
    buf.truncate(len);
    if buf.first() != Some(&b'/') {
        return Err(io::Error::from_raw_os_error(libc::ENOENT));
    }
    Ok(buf)
}

/// The running kernel's release string (uname -r), or "" if unavailable.
pub fn kernel_release() -> String {
    std::fs::read_to_string("/proc/sys/kernel/osrelease")
        .map(|s| s.trim().to_string())
        .unwrap_or_default()
}

const BPF_PROG_LOAD: libc::c_long = 5;
const BPF_PROG_ATTACH: libc::c_long = 8;
const BPF_PROG_TYPE_CGROUP_DEVICE: u32 = 15;
const BPF_CGROUP_DEVICE: u32 = 6;

/// Loads a CGROUP_DEVICE eBPF program (`insns` in `struct bpf_insn` layout).
pub fn bpf_load_cgroup_device(insns: &[u64]) -> io::Result<OwnedFd> {
    let license = b"GPL\0";
    // union bpf_attr, BPF_PROG_LOAD part: prog_type, insn_cnt, insns, license; the rest
    // (logging, versions, names) stays zero. 128 bytes cover every field the kernel
    // reads for this command; unused trailing bytes must be zero.
    let mut attr = [0u8; 128];
    attr[0..4].copy_from_slice(&BPF_PROG_TYPE_CGROUP_DEVICE.to_ne_bytes());
    attr[4..8].copy_from_slice(&(insns.len() as u32).to_ne_bytes());
    attr[8..16].copy_from_slice(&(insns.as_ptr() as u64).to_ne_bytes());
    attr[16..24].copy_from_slice(&(license.as_ptr() as u64).to_ne_bytes());
    // SAFETY: attr is a valid bpf_attr of the size passed; the pointers in it (the
    // instructions and the license) outlive the call.
    let ret = unsafe {
        libc::syscall(
            libc::SYS_bpf,
            BPF_PROG_LOAD,
            attr.as_mut_ptr(),
            attr.len() as libc::c_uint,
        )
    };
    let fd = check_long(ret)?;
    // SAFETY: the kernel returned a new file descriptor that nothing else owns.
    Ok(unsafe { OwnedFd::from_raw_fd(fd as RawFd) })
}

/// Attaches a loaded CGROUP_DEVICE program to the cgroup directory open as `cgroup_fd`.
pub fn bpf_attach_cgroup_device(cgroup_fd: RawFd, prog_fd: RawFd) -> io::Result<()> {
    let mut attr = [0u8; 128];
    attr[0..4].copy_from_slice(&(cgroup_fd as u32).to_ne_bytes());
    attr[4..8].copy_from_slice(&(prog_fd as u32).to_ne_bytes());
    attr[8..12].copy_from_slice(&BPF_CGROUP_DEVICE.to_ne_bytes());
    // SAFETY: attr is a valid bpf_attr of the size passed, holding two open fds.
    let ret = unsafe {
        libc::syscall(
            libc::SYS_bpf,
            BPF_PROG_ATTACH,
            attr.as_mut_ptr(),
            attr.len() as libc::c_uint,
        )
    };
    check_long(ret).map(drop)
}

// The new mount API (linux/mount.h). libc defines these constants only for Android.
const OPEN_TREE_CLONE: libc::c_uint = 0x1;
const MOVE_MOUNT_F_EMPTY_PATH: libc::c_uint = 0x4;
const MOUNT_ATTR_IDMAP: u64 = 0x0010_0000;
const FSOPEN_CLOEXEC: libc::c_uint = 0x1;
const FSCONFIG_SET_FLAG: libc::c_uint = 0;
const FSCONFIG_SET_STRING: libc::c_uint = 1;
const FSCONFIG_CMD_CREATE: libc::c_uint = 6;
const FSMOUNT_CLOEXEC: libc::c_uint = 0x1;

/// `struct mount_attr` of linux/mount.h (MOUNT_ATTR_SIZE_VER0).
#[repr(C)]
struct MountAttr {
    attr_set: u64,
    attr_clr: u64,
    propagation: u64,
    userns_fd: u64,
}

/// A detached copy of the mount tree at `path` (`open_tree(OPEN_TREE_CLONE)`), with its
/// submounts when `recursive`. It exists only through the returned descriptor.
pub fn open_tree_clone(path: &Path, recursive: bool) -> io::Result<OwnedFd> {
    let p = cstr(path)?;
    let mut flags = OPEN_TREE_CLONE | libc::O_CLOEXEC as libc::c_uint;
    if recursive {
        flags |= libc::AT_RECURSIVE as libc::c_uint;
    }
    // SAFETY: valid NUL-terminated path; the kernel returns a new fd we own.
    let fd = check_long(unsafe {
        libc::syscall(libc::SYS_open_tree, libc::AT_FDCWD, p.as_ptr(), flags)
    })?;
    Ok(own(fd as RawFd))
}

/// Makes the detached mount `mnt` idmapped through the user namespace `userns`: files
/// owned by host id H appear owned by whatever H maps to in that namespace.
pub fn idmap_mount(mnt: BorrowedFd<'_>, userns: BorrowedFd<'_>) -> io::Result<()> {
    let attr = MountAttr {
        attr_set: MOUNT_ATTR_IDMAP,
        attr_clr: 0,
        propagation: 0,
        userns_fd: userns.as_raw_fd() as u64,
    };
    // SAFETY: attr is a live mount_attr of the size passed; the path is an empty string.
    check_long(unsafe {
        libc::syscall(
            libc::SYS_mount_setattr,
            mnt.as_raw_fd(),
            c"".as_ptr(),
            libc::AT_EMPTY_PATH,
            &attr as *const MountAttr,
            std::mem::size_of::<MountAttr>(),
        )
    })
    .map(drop)
}

/// A filesystem context for `fstype` (`fsopen`), to configure and then [`fs_mount`].
pub fn fs_open(fstype: &str) -> io::Result<OwnedFd> {
    let t = CString::new(fstype)?;
    // SAFETY: valid NUL-terminated name; the kernel returns a new fd we own.
    let fd = check_long(unsafe { libc::syscall(libc::SYS_fsopen, t.as_ptr(), FSOPEN_CLOEXEC) })?;
    Ok(own(fd as RawFd))
}

/// Sets `key` on a filesystem context: to the string `value`, or as a flag when None.
pub fn fs_config(fs: BorrowedFd<'_>, key: &str, value: Option<&str>) -> io::Result<()> {
    let k = CString::new(key)?;
    let v = value.map(CString::new).transpose()?;
    let (cmd, ptr) = match &v {
        Some(v) => (FSCONFIG_SET_STRING, v.as_ptr()),
        None => (FSCONFIG_SET_FLAG, std::ptr::null()),
    };
    // SAFETY: key and value are NUL-terminated strings alive for the call (or null).
    check_long(unsafe {
        libc::syscall(libc::SYS_fsconfig, fs.as_raw_fd(), cmd, k.as_ptr(), ptr, 0)
    })
    .map(drop)
}

/// Creates the superblock of a configured context and returns it as a detached mount.
pub fn fs_mount(fs: BorrowedFd<'_>) -> io::Result<OwnedFd> {
    // SAFETY: integer arguments and null pointers, as FSCONFIG_CMD_CREATE takes.
    check_long(unsafe {
        libc::syscall(
            libc::SYS_fsconfig,
            fs.as_raw_fd(),
            FSCONFIG_CMD_CREATE,
            std::ptr::null::<libc::c_char>(),
            std::ptr::null::<libc::c_void>(),
            0,
        )
    })?;
    // SAFETY: integer arguments; the kernel returns a new fd we own.
    let fd = check_long(unsafe {
        libc::syscall(libc::SYS_fsmount, fs.as_raw_fd(), FSMOUNT_CLOEXEC, 0)
    })?;
    Ok(own(fd as RawFd))
}

/// Attaches the detached mount `mnt` at `target` in the caller's mount namespace.
pub fn move_mount_to(mnt: BorrowedFd<'_>, target: &Path) -> io::Result<()> {
    let t = cstr(target)?;
    // SAFETY: empty source path with F_EMPTY_PATH; valid NUL-terminated target.
    check_long(unsafe {
        libc::syscall(
            libc::SYS_move_mount,
            mnt.as_raw_fd(),
            c"".as_ptr(),
            libc::AT_FDCWD,
            t.as_ptr(),
            MOVE_MOUNT_F_EMPTY_PATH,
        )
    })
    .map(drop)
}

/// `open(path, O_PATH | O_CLOEXEC)`, following symlinks as mount(2) would.
pub fn open_path(path: &Path) -> io::Result<OwnedFd> {
    let p = cstr(path)?;
    // SAFETY: valid NUL-terminated path; the kernel returns a new fd we own.
    let fd = check(unsafe { libc::open(p.as_ptr(), libc::O_PATH | libc::O_CLOEXEC) })?;
    Ok(own(fd))
}
