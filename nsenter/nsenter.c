/*
 * The berth nsenter stub. It runs as a constructor in `berth init`, before
 * the Go runtime starts (a Go process is multi-threaded, and unshare of a user
 * namespace or setns of a mount namespace need a single-threaded caller).
 *
 * Stages, in order:
 *   read_bootstrap      one frame from the parent: what to create and join
 *   join_namespaces     setns into the namespaces given by path, user first
 *   make_userns         unshare a new user namespace; the parent writes maps
 *   make_namespaces     unshare every other new namespace
 *   write_timens        offsets of a new time namespace
 *   spawn_init          fork when pid or time namespaces need a child; report
 *                       the init's pid to the parent; the init returns to Go
 *   berth_run_plan      with ATTR_PLAN, instead of returning to Go: set the
 *                       container up and exec its process (plan.c)
 *
 * Any failure is sent to the parent as an error frame carrying errno, then
 * the stub exits. Frames are: u32 type, u32 length, payload (host order).
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <sched.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/types.h>
#include <sys/wait.h>
#include <unistd.h>
#include <grp.h>
#include <sys/prctl.h>
#include <sys/syscall.h>
#include <signal.h>
#include "nsenter.h"

#ifndef CLONE_NEWTIME
#define CLONE_NEWTIME 0x00000080
#endif
#ifndef SYS_clone3
#define SYS_clone3 435 /* the same number on every arch */
#endif
#ifndef CLONE_NEWCGROUP
#define CLONE_NEWCGROUP 0x02000000
#endif

struct ns_path {
	uint32_t type;
	const char *path;
	int fd;
};

struct bootstrap {
	char buf[BOOTSTRAP_MAX + 1];
	uint32_t clone_flags;
	struct ns_path paths[NS_PATHS_MAX];
	int npaths;
	const char *timens_offsets;
	const char *plan; /* ATTR_PLAN: raw bytes, not NUL terminated */
	uint32_t plan_len;
};

int berth_sync_fd = -1;

static int write_all(int fd, const void *p, size_t n)
{
	const char *c = p;
	while (n > 0) {
		ssize_t w = write(fd, c, n);
		if (w < 0 && errno == EINTR)
			continue;
		if (w <= 0)
			return -1;
		c += w;
		n -= (size_t)w;
	}
	return 0;
}

static int read_all(int fd, void *p, size_t n)
{
	char *c = p;
	while (n > 0) {
		ssize_t r = read(fd, c, n);
		if (r < 0 && errno == EINTR)
			continue;
		if (r <= 0)
			return -1;
		c += r;
		n -= (size_t)r;
	}
	return 0;
}

/* berth_skip_frame reads a frame of type want from the parent and drops its payload. */
int berth_skip_frame(uint32_t want)
{
	uint32_t hdr[2];
	char buf[4096];
	errno = EPIPE; /* what a closed socket reads as */
	if (read_all(berth_sync_fd, hdr, sizeof(hdr)) < 0)
		return -1;
	if (hdr[0] != want) {
		errno = EPROTO;
		return -1;
	}
	for (uint32_t left = hdr[1], n; left > 0; left -= n) {
		n = left < sizeof(buf) ? left : (uint32_t)sizeof(buf);
		if (read_all(berth_sync_fd, buf, n) < 0)
			return -1;
	}
	return 0;
}

int berth_write_frame(uint32_t type, const void *payload, uint32_t len)
{
	uint32_t hdr[2] = { type, len };
	if (write_all(berth_sync_fd, hdr, sizeof(hdr)) < 0)
		return -1;
	return len ? write_all(berth_sync_fd, payload, len) : 0;
}

/* berth_bail reports errno and a message to the parent, then exits. */
void __attribute__((noreturn, format(printf, 1, 2))) berth_bail(const char *fmt, ...)
{
	char msg[512];
	uint32_t err = (uint32_t)errno;
	va_list ap;

	memcpy(msg, &err, sizeof(err));
	va_start(ap, fmt);
	int n = vsnprintf(msg + 4, sizeof(msg) - 4, fmt, ap);
	va_end(ap);
	if (n < 0)
		n = 0;
	if (n > (int)sizeof(msg) - 5)
		n = (int)sizeof(msg) - 5;
	berth_write_frame(FRAME_ERROR, msg, (uint32_t)(4 + n));
	_exit(1);
}

static void expect_frame(uint32_t want, char *buf, uint32_t max, uint32_t *len)
{
	uint32_t hdr[2];
	if (read_all(berth_sync_fd, hdr, sizeof(hdr)) < 0)
		berth_bail("nsenter: read frame header");
	if (hdr[0] != want) {
		errno = EPROTO;
		berth_bail("nsenter: got frame type %u, want %u", hdr[0], want);
	}
	if (hdr[1] > max) {
		errno = E2BIG;
		berth_bail("nsenter: frame of %u bytes", hdr[1]);
	}
	if (hdr[1] && read_all(berth_sync_fd, buf, hdr[1]) < 0)
		berth_bail("nsenter: read frame payload");
	*len = hdr[1];
}

static void parse_attr(struct bootstrap *b, uint32_t type, char *val, uint32_t len)
{
	switch (type) {
	case ATTR_CLONE_FLAGS:
		if (len == 4)
			memcpy(&b->clone_flags, val, 4);
		return;
	case ATTR_NS_PATH:
		if (len < 5 || b->npaths == NS_PATHS_MAX)
			break;
		memcpy(&b->paths[b->npaths].type, val, 4);
		b->paths[b->npaths].path = val + 4;
		b->paths[b->npaths].fd = -1;
		b->npaths++;
		return;
	case ATTR_TIMENS_OFFSETS:
		b->timens_offsets = val;
		return;
	case ATTR_PLAN:
		b->plan = val;
		b->plan_len = len;
		return;
	}
	errno = EINVAL;
	berth_bail("nsenter: bad bootstrap attribute %u (%u bytes)", type, len);
}

/*
 * read_bootstrap: attributes are u32 type, u32 length, value, a text value
 * NUL terminated by the sender (length counts the NUL) so strings can be
 * used in place. ATTR_PLAN is binary (plan.h).
 */
static void read_bootstrap(struct bootstrap *b)
{
	uint32_t len, off = 0;

	expect_frame(FRAME_BOOTSTRAP, b->buf, BOOTSTRAP_MAX, &len);
	b->buf[len] = '\0';
	while (off + 8 <= len) {
		uint32_t type, alen;
		memcpy(&type, b->buf + off, 4);
		memcpy(&alen, b->buf + off + 4, 4);
		off += 8;
		if (alen > len - off) {
			errno = EINVAL;
			berth_bail("nsenter: truncated bootstrap attribute %u", type);
		}
		parse_attr(b, type, b->buf + off, alen);
		off += alen;
	}
}

static const char *ns_name(uint32_t type)
{
	switch (type) {
	case CLONE_NEWUSER: return "user";
	case CLONE_NEWNS: return "mount";
	case CLONE_NEWNET: return "network";
	case CLONE_NEWPID: return "pid";
	case CLONE_NEWIPC: return "ipc";
	case CLONE_NEWUTS: return "uts";
	case CLONE_NEWCGROUP: return "cgroup";
	case CLONE_NEWTIME: return "time";
	}
	return "unknown";
}

static void setns_one(struct ns_path *p)
{
	if (setns(p->fd, (int)p->type) < 0)
		berth_bail("nsenter: join %s namespace %s", ns_name(p->type), p->path);
	close(p->fd);
	p->fd = -1;
}

/*
 * join_namespaces opens every path first (joining the mount namespace may make
 * the others unreachable), then joins the user namespace before the rest: the
 * others are owned by it, and setns needs CAP_SYS_ADMIN in the owner.
 */
static void join_namespaces(struct bootstrap *b)
{
	int i;

	for (i = 0; i < b->npaths; i++) {
		b->paths[i].fd = open(b->paths[i].path, O_RDONLY | O_CLOEXEC);
		if (b->paths[i].fd < 0)
			berth_bail("nsenter: open %s namespace %s", ns_name(b->paths[i].type), b->paths[i].path);
	}
	for (i = 0; i < b->npaths; i++)
		if (b->paths[i].type == CLONE_NEWUSER)
			setns_one(&b->paths[i]);
	for (i = 0; i < b->npaths; i++)
		if (b->paths[i].fd >= 0)
			setns_one(&b->paths[i]);
}

static int joined(struct bootstrap *b, uint32_t type)
{
	for (int i = 0; i < b->npaths; i++)
		if (b->paths[i].type == type)
			return 1;
	return 0;
}

/* become_root makes us uid/gid 0 of the (new or joined) user namespace. */
static void become_root(void)
{
	if (setresgid(0, 0, 0) < 0)
		berth_bail("nsenter: setresgid(0) in the user namespace");
	if (setgroups(0, NULL) < 0 && errno != EPERM)
		berth_bail("nsenter: setgroups(0) in the user namespace");
	if (setresuid(0, 0, 0) < 0)
		berth_bail("nsenter: setresuid(0) in the user namespace");
	/*
	 * Changing credentials made us non-dumpable, which makes our /proc
	 * files owned by the host's root: we could no longer write
	 * timens_offsets or reopen our own fds. The exec of the container
	 * process resets this anyway.
	 */
	if (prctl(PR_SET_DUMPABLE, 1, 0, 0, 0) < 0)
		berth_bail("nsenter: set dumpable");
}

/*
 * make_userns: only the parent can write our uid_map and gid_map (a process
 * inside the new namespace has no CAP_SETUID in the parent namespace), so ask
 * and wait for its answer.
 */
static void make_userns(struct bootstrap *b)
{
	uint32_t len;
	char none[1];

	if (b->clone_flags & CLONE_NEWUSER) {
		if (unshare(CLONE_NEWUSER) < 0)
			berth_bail("nsenter: unshare user namespace");
		if (berth_write_frame(FRAME_USERMAP_REQ, NULL, 0) < 0)
			berth_bail("nsenter: ask for id maps");
		expect_frame(FRAME_USERMAP_ACK, none, 0, &len);
	}
	if ((b->clone_flags & CLONE_NEWUSER) || joined(b, CLONE_NEWUSER))
		become_root();
}

static void make_namespaces(struct bootstrap *b)
{
	uint32_t rest = b->clone_flags & ~(uint32_t)CLONE_NEWUSER;

	if (rest && unshare((int)rest) < 0)
		berth_bail("nsenter: unshare namespaces 0x%x", rest);
}

static void write_timens(struct bootstrap *b)
{
	int fd;
	size_t n;

	if (!(b->clone_flags & CLONE_NEWTIME) || !b->timens_offsets || !*b->timens_offsets)
		return;
	fd = open("/proc/self/timens_offsets", O_WRONLY | O_CLOEXEC);
	if (fd < 0)
		berth_bail("nsenter: open /proc/self/timens_offsets");
	n = strlen(b->timens_offsets);
	if (write(fd, b->timens_offsets, n) != (ssize_t)n)
		berth_bail("nsenter: write /proc/self/timens_offsets");
	close(fd);
}

static void report_pid(pid_t pid)
{
	uint32_t p = (uint32_t)pid;
	if (berth_write_frame(FRAME_PID, &p, sizeof(p)) < 0)
		berth_bail("nsenter: report pid");
}

/*
 * fork_sibling forks with CLONE_PARENT: the child is a child of berth, not of
 * the stub, so berth can wait for it with no subreaper (run --no-subreaper,
 * as runc, whose stub does the same). Like fork() otherwise (no new stack).
 * clone3 has one argument layout on every arch; clone's order differs (s390).
 */
static pid_t fork_sibling(void)
{
	/* struct clone_args, version 0 (not all libcs have the header) */
	struct {
		uint64_t flags, pidfd, child_tid, parent_tid, exit_signal, stack, stack_size, tls;
	} args = { .flags = CLONE_PARENT }; /* exit signal: the stub's own (SIGCHLD) */
	long pid = syscall(SYS_clone3, &args, sizeof(args));

	if (pid >= 0 || (errno != ENOSYS && errno != EPERM))
		return pid;
#if defined(__s390__) || defined(__s390x__)
	return syscall(SYS_clone, 0, CLONE_PARENT | SIGCHLD, NULL, NULL, 0);
#else
	return syscall(SYS_clone, CLONE_PARENT | SIGCHLD, 0, NULL, NULL, 0);
#endif
}

/*
 * spawn_init: a new pid or time namespace only applies to children, so fork;
 * the child is the container init. The child waits until the parent has
 * reported its pid (the pipe closes when we exit) so the pid frame always
 * comes before anything the init sends. Without those namespaces we are the
 * init ourselves and save a fork.
 */
static void spawn_init(struct bootstrap *b)
{
	uint32_t childns = CLONE_NEWPID | CLONE_NEWTIME;
	int p[2];
	char c;
	pid_t pid;

	if (!(b->clone_flags & childns) && !joined(b, CLONE_NEWPID) && !joined(b, CLONE_NEWTIME)) {
		report_pid(getpid());
		return;
	}
	if (pipe2(p, O_CLOEXEC) < 0)
		berth_bail("nsenter: pipe");
	pid = fork_sibling();
	if (pid < 0)
		berth_bail("nsenter: fork the init");
	if (pid == 0) {
		close(p[1]);
		while (read(p[0], &c, 1) < 0 && errno == EINTR)
			;
		close(p[0]);
		return;
	}
	report_pid(pid);
	_exit(0);
}

/* berth_nsenter is the constructor's body: a no-op unless we are an init. */
void berth_nsenter(void)
{
	static struct bootstrap b;
	const char *env = getenv(BERTH_SYNC_ENV);

	if (!env || !*env)
		return;
	berth_sync_fd = atoi(env);
	read_bootstrap(&b);
	join_namespaces(&b);
	make_userns(&b);
	make_namespaces(&b);
	write_timens(&b);
	spawn_init(&b);
	if (setsid() < 0)
		berth_bail("nsenter: setsid");
	if (b.plan)
		berth_run_plan(b.plan, b.plan_len);
}
