/*
 * The executor of the init plan (plan.h): with ATTR_PLAN the stub sets the
 * container up itself and execs its process, so no Go runtime starts in the
 * init. One function per op (op_*), run in the plan's order.
 *
 * Until OP_EXEC's READY a failure is an error frame to the parent, "<label>:
 * <detail>" and errno (berth_bail); after it, a line on stderr. A malformed
 * plan is an error frame with EINVAL: its bytes are only read through the
 * bounds-checked readers (rd_*), and its framing is checked before any op
 * runs.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <dirent.h>
#include <fcntl.h>
#include <limits.h>
#include <sched.h>
#include <signal.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <termios.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/prctl.h>
#include <sys/ioctl.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/statfs.h>
#include <sys/statvfs.h>
#include <sys/syscall.h>
#include <sys/sysmacros.h>
#include <unistd.h>
#include <grp.h>
#include <linux/capability.h>
#include <linux/filter.h>
#include <linux/keyctl.h>
#include <linux/magic.h>
#include <linux/openat2.h>
#include <linux/seccomp.h>
#include "nsenter.h"
#include "plan.h"

#ifndef SYS_close_range /* these three numbers are the same on every arch */
#define SYS_close_range 436
#endif
#ifndef SYS_openat2
#define SYS_openat2 437
#endif
#ifndef SYS_mount_setattr
#define SYS_mount_setattr 442
#endif
#ifndef AT_RECURSIVE
#define AT_RECURSIVE 0x8000
#endif
#ifndef CLOSE_RANGE_CLOEXEC
#define CLOSE_RANGE_CLOEXEC (1U << 2)
#endif

/* struct mount_attr, named so as not to clash with glibc's <sys/mount.h> */
struct plan_mount_attr {
	uint64_t attr_set, attr_clr, propagation, userns_fd;
};
_Static_assert(sizeof(gid_t) == 4, "the plan's gids are u32");

#define WALK_DEPTH 256 /* directories a walk holds open at once */
#define HOPS_MAX 40    /* symlinks a walk follows, as the kernel */
#define DEFAULT_PATH "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"

static struct {
	int root;           /* handle of the in-root paths; -1 before OP_ROOT */
	const char *rootfs; /* its path as /proc/self/fd shows it ("/" once pivoted) */
	int devnull;        /* the container's /dev/null (OP_MASK) */
	const char *label;  /* and number of the op running */
	uint32_t op;
	int ready;          /* READY sent: errors go to stderr */
	char *path;         /* the executable (OP_PREPARE_EXEC) */
	char **args, **env;
} P = { .root = -1, .devnull = -1 };

/* fail reports "<label>: <detail>" (just the detail for an empty label) with errno and exits. */
static void __attribute__((noreturn, format(printf, 1, 2))) fail(const char *fmt, ...)
{
	int err = errno;
	char detail[400];
	const char *sep;
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(detail, sizeof(detail), fmt, ap);
	va_end(ap);
	/* a detail that is empty or a " (hint)" joins the label without ": " */
	sep = *P.label && detail[0] && detail[0] != ' ' ? ": " : "";
	if (P.ready) {
		/* errno text as the Go init printed it: "exec format error" */
		char text[128] = "";
		if (err)
			snprintf(text, sizeof(text), ": %s", strerror(err));
		if (text[2] >= 'A' && text[2] <= 'Z')
			text[2] = (char)(text[2] - 'A' + 'a');
		dprintf(2, "berth init: %s%s%s%s\n", P.label, sep, detail, text);
		_exit(1);
	}
	errno = err;
	berth_bail("%s%s%s", P.label, sep, detail);
}

/* MUST fails with the detail unless ok; FAIL0 fails with errno 0. */
#define MUST(ok, ...) do { if (!(ok)) fail(__VA_ARGS__); } while (0)
#define FAIL0(...) do { errno = 0; fail(__VA_ARGS__); } while (0)

static void __attribute__((noreturn)) bad(uint32_t op, const char *why)
{
	errno = EINVAL;
	berth_bail("nsenter: bad plan: op %u: %s", op, why);
}

/* rd reads the fields of one op. */
struct rd {
	const char *p;
	uint32_t left, op;
};

static const char *take(struct rd *r, uint64_t n)
{
	const char *p = r->p;
	if (n > r->left)
		bad(r->op, "truncated");
	r->p += n;
	r->left -= (uint32_t)n;
	return p;
}

static uint32_t rd_u32(struct rd *r)
{
	uint32_t v;
	memcpy(&v, take(r, 4), 4);
	return v;
}

static uint64_t rd_u64(struct rd *r)
{
	uint64_t v;
	memcpy(&v, take(r, 8), 8);
	return v;
}

/* rd_str: in place; the NUL must be there, and no other. */
static const char *rd_str(struct rd *r)
{
	uint32_t n = rd_u32(r);
	const char *s = take(r, (uint64_t)n + 1);
	if (s[n] != '\0' || memchr(s, '\0', n))
		bad(r->op, "string without its NUL or with one inside");
	return s;
}

/* rd_strs: a NULL-terminated array with room for extra more (never freed). */
static char **rd_strs(struct rd *r, uint32_t extra)
{
	uint32_t n = rd_u32(r);
	char **v;
	if (n > r->left / 5)
		bad(r->op, "truncated");
	v = calloc((size_t)n + extra + 1, sizeof(*v));
	MUST(v, "out of memory");
	for (uint32_t i = 0; i < n; i++)
		v[i] = (char *)rd_str(r);
	return v;
}

/* rd_array: bytes, u32s or u64s (size 1, 4, 8), in place, maybe unaligned. */
static const char *rd_array(struct rd *r, uint32_t size, uint32_t *n)
{
	*n = rd_u32(r);
	return take(r, (uint64_t)*n * size);
}

static void rd_end(struct rd *r)
{
	if (r->left)
		bad(r->op, "bytes left over after the fields");
}

/* fdp names a handle for mount(2) and friends (four names live at once). */
static const char *fdp(int fd)
{
	static char buf[4][32];
	static int i;
	i = (i + 1) % 4;
	snprintf(buf[i], sizeof(buf[i]), "/proc/self/fd/%d", fd);
	return buf[i];
}

static void xclose(int fd)
{
	int err = errno;
	close(fd);
	errno = err;
}

static int xmount(const char *src, const char *dst, const char *type, uint64_t flags, const char *data)
{
	int ret;
	do
		ret = mount(src, dst, type, (unsigned long)flags, data);
	while (ret < 0 && errno == EINTR);
	return ret;
}

static int openat2_retry(int dir, const char *path, uint64_t flags, uint64_t resolve)
{
	struct open_how how = { .flags = flags | O_CLOEXEC, .resolve = resolve };
	long fd;
	do
		fd = syscall(SYS_openat2, dir, path, &how, sizeof(how));
	while (fd < 0 && (errno == EINTR || errno == EAGAIN));
	return (int)fd;
}

/*
 * The walk resolves an in-root path component by component from the root
 * handle, making what is missing. It follows symlinks itself, their target
 * spliced in front of what is left (so a dangling one's target is made
 * inside the root), and clamps ".." at the root: fds holds the directories
 * from the root down, the root itself not included.
 */
static struct {
	char rest[PATH_MAX]; /* the components still to go */
	int fds[WALK_DEPTH], n, hops;
	const char *what; /* the step that failed */
} W;

static int cur(void)
{
	return W.n ? W.fds[W.n - 1] : P.root;
}

static void pop(void)
{
	xclose(W.fds[--W.n]);
}

/* next_comp cuts the next component out of *p; NULL at the end. */
static char *next_comp(char **p)
{
	char *s = *p, *e;
	while (*s == '/')
		s++;
	if (!*s)
		return NULL;
	e = strchrnul(s, '/');
	*p = *e ? e + 1 : e;
	*e = '\0';
	return s;
}

static int at_end(const char *p)
{
	return !p[strspn(p, "/")];
}

static int walk_link(int fd, const char *rest)
{
	char target[PATH_MAX], joined[PATH_MAX];
	ssize_t n = readlinkat(fd, "", target, sizeof(target) - 1);

	W.what = "readlink";
	if (n >= 0 && ++W.hops > HOPS_MAX)
		W.what = "resolve", errno = ELOOP, n = -1;
	if (n < 0)
		return -1;
	target[n] = '\0';
	if (snprintf(joined, sizeof(joined), "%s/%s", target, rest) >= (int)sizeof(joined))
		return errno = ENAMETOOLONG, -1;
	while (target[0] == '/' && W.n)
		pop();
	strcpy(W.rest, joined);
	return 0;
}

/* walk_make makes a missing component: an empty file or a directory. */
static int walk_make(const char *comp, int file)
{
	int fd;
	W.what = file ? "create" : "mkdir";
	if (!file) {
		if (mkdirat(cur(), comp, 0755) < 0 && errno != EEXIST)
			return -1;
		return openat(cur(), comp, O_PATH | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
	}
	fd = openat(cur(), comp, O_CREAT | O_EXCL | O_NOFOLLOW | O_RDONLY | O_CLOEXEC, 0644);
	if (fd < 0 && errno != EEXIST)
		return -1;
	if (fd >= 0)
		close(fd);
	return openat(cur(), comp, O_PATH | O_NOFOLLOW | O_CLOEXEC);
}

/* walk_one steps into comp: 0 stepped, 1 a symlink was spliced, -1 error. */
static int walk_one(const char *comp, const char *rest, int file)
{
	int fd = openat(cur(), comp, O_PATH | O_NOFOLLOW | O_CLOEXEC), ret = 0;
	struct stat st;

	W.what = "open";
	if (fd < 0 && errno == ENOENT)
		fd = walk_make(comp, file);
	if (fd < 0)
		return -1;
	W.what = "stat";
	if (fstat(fd, &st) < 0)
		ret = -1;
	else if (S_ISLNK(st.st_mode))
		ret = walk_link(fd, rest) < 0 ? -1 : 1;
	else if (!S_ISDIR(st.st_mode) && !file)
		W.what = "mkdir", errno = ENOTDIR, ret = -1;
	else if (W.n == WALK_DEPTH)
		W.what = "resolve", errno = ENAMETOOLONG, ret = -1;
	if (ret)
		xclose(fd);
	else
		W.fds[W.n++] = fd;
	return ret;
}

/* walk returns an O_PATH handle of path, made (file: the last one a file). */
static int walk(const char *path, int file)
{
	char *p = W.rest, *comp;
	int fd = -1, ret;

	W.n = W.hops = 0;
	W.what = "resolve";
	if (snprintf(W.rest, sizeof(W.rest), "%s", path) >= (int)sizeof(W.rest))
		return errno = ENAMETOOLONG, -1;
	while ((comp = next_comp(&p))) {
		if (!strcmp(comp, "..") && W.n)
			pop();
		if (!strcmp(comp, ".") || !strcmp(comp, ".."))
			continue;
		ret = walk_one(comp, p, file && at_end(p));
		if (ret < 0)
			break;
		if (ret == 1)
			p = W.rest;
	}
	if (!comp)
		fd = W.n ? W.fds[--W.n] : fcntl(P.root, F_DUPFD_CLOEXEC, 0);
	while (W.n)
		pop();
	return fd;
}

/*
 * in_root returns an O_PATH handle of an in-root path: IN_OPEN it must
 * exist; IN_SKIP -1 if it does not; IN_DIR mkdir -p; IN_FILE the parents
 * mkdir -p and the last an empty file if missing.
 */
enum { IN_OPEN, IN_SKIP, IN_DIR, IN_FILE };

static int in_root(const char *path, int how)
{
	struct stat st;
	int fd;

	if (P.root < 0)
		bad(P.op, "an in-root path before OP_ROOT");
	fd = openat2_retry(P.root, path, O_PATH, RESOLVE_IN_ROOT | RESOLVE_NO_MAGICLINKS);
	if (how == IN_SKIP && fd < 0 && errno == ENOENT)
		return -1;
	if (how == IN_OPEN || how == IN_SKIP || (how == IN_FILE && fd >= 0)) {
		MUST(fd >= 0, "open");
		return fd;
	}
	if (fd >= 0 && fstat(fd, &st) == 0 && S_ISDIR(st.st_mode))
		return fd;
	if (fd >= 0)
		close(fd);
	fd = walk(path, how == IN_FILE);
	MUST(fd >= 0, "%s", W.what);
	return fd;
}

/* in_parent makes the parent of path (mkdir -p); *base is its last component. */
static int in_parent(const char *path, const char **base)
{
	static char buf[PATH_MAX];
	size_t n = strlen(path);
	char *s;

	while (n > 1 && path[n - 1] == '/')
		n--;
	errno = EINVAL;
	MUST(path[0] == '/' && n < sizeof(buf), "bad path");
	memcpy(buf, path, n);
	buf[n] = '\0';
	s = strrchr(buf, '/');
	*base = s + 1;
	MUST(**base && strcmp(*base, ".") && strcmp(*base, ".."), "bad path");
	*s = '\0';
	return in_root(s == buf ? "/" : buf, IN_DIR);
}

/* remount is REMOUNT of plan.h: the locked nosuid/nodev/noexec stay unless cleared. */
static void remount(int h, uint64_t flags, uint64_t cleared)
{
	struct statfs sf;
	uint64_t locked = 0;
	MUST(fstatfs(h, &sf) == 0, "remount: statfs");
	locked |= sf.f_flags & ST_NOSUID ? MS_NOSUID : 0;
	locked |= sf.f_flags & ST_NODEV ? MS_NODEV : 0;
	locked |= sf.f_flags & ST_NOEXEC ? MS_NOEXEC : 0;
	MUST(xmount(NULL, fdp(h), NULL, MS_REMOUNT | MS_BIND | flags | (locked & ~cleared), NULL) == 0,
	     "remount");
}

/* fin is step 4 of OP_MOUNT, also OP_FINISH: the fields from remount on. */
struct fin {
	uint32_t remount, nprops;
	uint64_t flags, cleared, set, clr;
	const char *props;
};

static void rd_fin(struct rd *r, struct fin *f)
{
	f->remount = rd_u32(r);
	f->flags = rd_u64(r);
	f->cleared = rd_u64(r);
	f->set = rd_u64(r);
	f->clr = rd_u64(r);
	f->props = rd_array(r, 8, &f->nprops);
}

static void finish(int h, const struct fin *f)
{
	struct plan_mount_attr attr = { .attr_set = f->set, .attr_clr = f->clr };
	uint64_t prop;
	long ret;

	if (f->remount)
		remount(h, f->flags, f->cleared);
	if (f->set || f->clr) {
		do
			ret = syscall(SYS_mount_setattr, h, "", AT_EMPTY_PATH | AT_RECURSIVE, &attr, sizeof(attr));
		while (ret < 0 && errno == EINTR);
		MUST(ret == 0, "mount_setattr (recursive options)");
	}
	for (uint32_t i = 0; i < f->nprops; i++) {
		memcpy(&prop, f->props + 8 * (size_t)i, 8);
		MUST(xmount(NULL, fdp(h), NULL, prop, NULL) == 0, "propagation");
	}
	close(h);
}

static void op_root(struct rd *r)
{
	const char *rootfs = rd_str(r);
	uint64_t prop = rd_u64(r);
	char p[PATH_MAX], *s;

	rd_end(r);
	if (rootfs[0] != '/' || strlen(rootfs) >= sizeof(p))
		bad(r->op, "rootfs is not an absolute path");
	MUST(xmount(NULL, "/", NULL, prop, NULL) == 0, "set propagation on /");
	/* the mount holding rootfs: MS_PRIVATE fails with EINVAL on a non-mount point */
	strcpy(p, rootfs);
	while (xmount(NULL, p, NULL, MS_PRIVATE, NULL) < 0) {
		MUST(errno == EINVAL && strcmp(p, "/"), "make parent mount %s private", p);
		s = strrchr(p, '/');
		s[s == p] = '\0'; /* "/a" becomes "/" */
	}
	MUST(xmount(rootfs, rootfs, NULL, MS_BIND | MS_REC, NULL) == 0, "bind onto itself");
	if (P.root >= 0)
		close(P.root);
	P.root = open(rootfs, O_PATH | O_DIRECTORY | O_CLOEXEC);
	MUST(P.root >= 0, "open");
	P.rootfs = rootfs;
}

/* check_proc refuses a target in /proc unless it is dest itself (a symlink may not lead there). */
static void check_proc(int h, const char *dest)
{
	char real[PATH_MAX];
	size_t n = strlen(P.rootfs);
	ssize_t len = readlink(fdp(h), real, sizeof(real) - 1);
	const char *rel;
	MUST(len >= 0, "check target: readlink");
	real[len] = '\0';
	while (n > 0 && P.rootfs[n - 1] == '/')
		n--;
	if (strncmp(real, P.rootfs, n) || (real[n] != '/' && real[n] != '\0'))
		FAIL0("check target: %s is outside the rootfs %s", real, P.rootfs);
	rel = real[n] ? real + n : "/";
	if ((!strcmp(rel, "/proc") || !strncmp(rel, "/proc/", 6)) && strcmp(rel, dest))
		FAIL0("%s is inside /proc, where mounts are not allowed", rel);
}

static void op_mount(struct rd *r)
{
	const char *dest = rd_str(r), *src = rd_str(r), *type = rd_str(r), *data = rd_str(r), *alt;
	uint64_t flags = rd_u64(r);
	uint32_t kind = rd_u32(r);
	struct fin f;
	int h;

	rd_fin(r, &f);
	alt = rd_str(r);
	rd_end(r);
	if (kind != MOUNT_DIR && kind != MOUNT_FILE)
		bad(r->op, "unknown mount kind");
	h = in_root(dest, kind == MOUNT_DIR ? IN_DIR : IN_FILE);
	check_proc(h, dest);
	if (xmount(src, fdp(h), *type ? type : NULL, flags, *data ? data : NULL) < 0) {
		MUST((errno == EPERM || errno == EBUSY) && *alt, "mount");
		MUST(xmount(alt, fdp(h), NULL, MS_BIND | MS_REC, NULL) == 0, "mount");
		f.remount = 1;
	}
	close(h);
	if (f.remount || f.set || f.clr || f.nprops)
		finish(in_root(dest, IN_OPEN), &f);
}

static void op_mknod(struct rd *r)
{
	const char *path = rd_str(r), *base;
	uint32_t mode = rd_u32(r);
	uint64_t dev = rd_u64(r);
	uint32_t uid = rd_u32(r), gid = rd_u32(r);
	int dir, ret;
	mode_t old;

	rd_end(r);
	dir = in_parent(path, &base);
	old = umask(0);
	ret = mknodat(dir, base, mode, dev);
	umask(old);
	MUST(ret == 0 || errno == EEXIST, "mknod");
	MUST(ret < 0 || fchownat(dir, base, uid, gid, AT_SYMLINK_NOFOLLOW) == 0, "chown");
	close(dir);
}

static void op_symlink(struct rd *r)
{
	const char *dir = rd_str(r), *name = rd_str(r), *target = rd_str(r);
	uint32_t replace = rd_u32(r);
	int d;
	rd_end(r);
	d = in_root(dir, IN_DIR);
	MUST(!replace || unlinkat(d, name, 0) == 0 || errno == ENOENT, "remove %s", name);
	MUST(symlinkat(target, d, name) == 0 || (errno == EEXIST && !replace), "symlink %s", name);
	close(d);
}

static void op_pivot(struct rd *r)
{
	uint64_t prop = rd_u64(r);
	int old;

	rd_end(r);
	if (P.root < 0)
		bad(r->op, "OP_PIVOT before OP_ROOT");
	old = open("/", O_PATH | O_DIRECTORY | O_CLOEXEC);
	MUST(old >= 0, "open old root");
	MUST(fchdir(P.root) == 0, "chdir to rootfs");
	MUST(syscall(SYS_pivot_root, ".", ".") == 0, "pivot_root");
	MUST(fchdir(old) == 0, "chdir to old root");
	MUST(xmount(NULL, ".", NULL, MS_SLAVE | MS_REC, NULL) == 0, "make old root rslave");
	MUST(umount2(".", MNT_DETACH) == 0, "detach old root");
	MUST(chdir("/") == 0, "chdir /");
	close(old);
	MUST(!prop || xmount(NULL, "/", NULL, prop, NULL) == 0, "set propagation on new /");
	close(P.root);
	P.root = open("/", O_PATH | O_DIRECTORY | O_CLOEXEC);
	MUST(P.root >= 0, "open /");
	P.rootfs = "/";
}

static int is_procfs(int fd)
{
	struct statfs sf;
	return fstatfs(fd, &sf) == 0 && sf.f_type == PROC_SUPER_MAGIC;
}

static void op_sysctl(struct rd *r)
{
	const uint64_t beneath = RESOLVE_BENEATH | RESOLVE_NO_SYMLINKS | RESOLVE_NO_MAGICLINKS | RESOLVE_NO_XDEV;
	const char *rel = rd_str(r), *value = rd_str(r);
	struct stat st;
	int proc, sys, fd;

	rd_end(r);
	proc = open("/proc", O_PATH | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
	MUST(proc >= 0, "open /proc");
	if (!is_procfs(proc) || fstat(proc, &st) < 0 || st.st_ino != 1)
		FAIL0("/proc is not the root of a procfs mount");
	sys = openat2_retry(proc, "sys", O_PATH | O_DIRECTORY | O_NOFOLLOW, beneath);
	MUST(sys >= 0, "open /proc/sys");
	fd = openat2_retry(sys, rel, O_WRONLY | O_NOFOLLOW, beneath);
	MUST(fd >= 0, "open /proc/sys/%s", rel);
	if (!is_procfs(fd))
		FAIL0("/proc/sys/%s: not on a procfs", rel);
	MUST(write(fd, value, strlen(value)) >= 0, "write \"%s\" to /proc/sys/%s", value, rel);
	close(fd);
	close(sys);
	close(proc);
}

static void op_readonly(struct rd *r)
{
	const char *path = rd_str(r);
	int h;
	rd_end(r);
	h = in_root(path, IN_SKIP);
	if (h < 0)
		return;
	MUST(xmount(fdp(h), fdp(h), NULL, MS_BIND | MS_REC, NULL) == 0, "mount");
	close(h);
	h = in_root(path, IN_OPEN);
	remount(h, MS_RDONLY, 0);
	close(h);
}

static void op_mask(struct rd *r)
{
	const char *path = rd_str(r);
	struct stat st;
	int h;

	rd_end(r);
	if (P.devnull < 0) { /* binding a look-alike would expose what masking hides */
		P.devnull = in_root("/dev/null", IN_OPEN);
		MUST(fstat(P.devnull, &st) == 0, "stat /dev/null");
		if (!S_ISCHR(st.st_mode) || major(st.st_rdev) != 1 || minor(st.st_rdev) != 3)
			FAIL0("/dev/null: not the 1:3 char device");
	}
	h = in_root(path, IN_SKIP);
	if (h < 0)
		return;
	MUST(fstat(h, &st) == 0, "stat");
	if (S_ISDIR(st.st_mode))
		MUST(xmount("tmpfs", fdp(h), "tmpfs", MS_RDONLY, NULL) == 0, "mount");
	else
		MUST(xmount(fdp(P.devnull), fdp(h), NULL, MS_BIND, NULL) == 0, "mount");
	close(h);
}

static void op_finish(struct rd *r)
{
	const char *path = rd_str(r);
	struct fin f;
	rd_fin(r, &f);
	rd_end(r);
	finish(in_root(path, IN_OPEN), &f);
}

static void op_hostname(struct rd *r)
{
	const char *name = rd_str(r);
	rd_end(r);
	MUST(sethostname(name, strlen(name)) == 0, "hostname \"%s\"", name);
}

static void op_domainname(struct rd *r)
{
	const char *name = rd_str(r);
	rd_end(r);
	MUST(setdomainname(name, strlen(name)) == 0, "domainname \"%s\"", name);
}

static void op_keyring(struct rd *r)
{
	const char *name = rd_str(r);
	rd_end(r);
	MUST(syscall(SYS_keyctl, KEYCTL_JOIN_SESSION_KEYRING, name) >= 0 || errno == ENOSYS,
	     "join session keyring \"%s\"", name);
}

/* rlimit_hint says why an EPERM (before the errno, which the parent prints last). */
static void rlimit_hint(uint32_t res, uint64_t hard, char *hint, size_t size)
{
	FILE *f = res == RLIMIT_NOFILE ? fopen("/proc/sys/fs/nr_open", "re") : NULL;
	unsigned long long max = 0;
	int n = f ? fscanf(f, "%llu", &max) : 0;
	struct rlimit cur;
	if (f)
		fclose(f);
	if (n == 1 && hard > max)
		snprintf(hint, size, " (above fs.nr_open, %llu)", max);
	else if (prlimit(0, res, NULL, &cur) == 0 && hard > cur.rlim_max)
		snprintf(hint, size, " (the hard limit is %llu here and can only be raised with CAP_SYS_RESOURCE)",
			 (unsigned long long)cur.rlim_max);
}

static void op_rlimit(struct rd *r)
{
	uint32_t res = rd_u32(r);
	uint64_t soft = rd_u64(r), hard = rd_u64(r);
	struct rlimit lim = { .rlim_cur = soft, .rlim_max = hard };
	char hint[128] = "";
	int err;
	rd_end(r);
	if (prlimit(0, res, &lim, NULL) == 0)
		return;
	err = errno;
	if (err == EPERM)
		rlimit_hint(res, hard, hint, sizeof(hint));
	errno = err;
	fail("%s", hint); /* as the Go init: "<label> (<hint>): <errno>" */
}

static void op_mkcwd(struct rd *r)
{
	const char *cwd = rd_str(r);
	rd_end(r);
	close(in_root(cwd, IN_DIR));
}

static void op_no_new_privs(struct rd *r)
{
	rd_end(r);
	MUST(prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) == 0, "set no_new_privs");
}

static void op_affinity_all(struct rd *r)
{
	cpu_set_t all;
	rd_end(r);
	memset(&all, 0xff, sizeof(all));
	MUST(sched_setaffinity(0, sizeof(all), &all) == 0, "sched_setaffinity");
}

static void op_seccomp(struct rd *r)
{
	uint32_t flags = rd_u32(r), spec_allow = rd_u32(r), n;
	const char *bpf = rd_array(r, 1, &n);
	struct sock_fprog prog = { .len = (unsigned short)(n / 8), .filter = malloc(n ? n : 1) };
	long fd;

	rd_end(r);
	if (n == 0 || n % 8 || n / 8 > USHRT_MAX)
		bad(r->op, "not a BPF program");
	MUST(prog.filter, "out of memory");
	memcpy(prog.filter, bpf, n); /* aligned, where the plan's bytes may not be */
	fd = syscall(SYS_seccomp, SECCOMP_SET_MODE_FILTER, (unsigned long)flags, &prog);
	if (fd < 0 && errno == EINVAL && spec_allow)
		fd = syscall(SYS_seccomp, SECCOMP_SET_MODE_FILTER, (unsigned long)flags & ~SECCOMP_FILTER_FLAG_SPEC_ALLOW, &prog);
	MUST(fd >= 0 || errno != EACCES, "load filter (without no_new_privs, loading needs CAP_SYS_ADMIN)");
	MUST(fd >= 0, "load filter");
	if (fd > 0)
		close((int)fd); /* a notify listener: nobody to take it */
	free(prog.filter);
}

/* drop_bounding drops 0..last not in keep (those already out are skipped). */
static void drop_bounding(uint32_t last, uint64_t keep)
{
	int in;
	for (uint32_t n = 0; n <= last; n++) {
		if (keep & (1ULL << n))
			continue;
		in = prctl(PR_CAPBSET_READ, (unsigned long)n, 0, 0, 0);
		MUST(in >= 0, "read capability %u from the bounding set", n);
		MUST(!in || prctl(PR_CAPBSET_DROP, (unsigned long)n, 0, 0, 0) == 0, "drop capability %u from the bounding set", n);
	}
}

/* set_caps: the capabilities of OP_USER, after the uid switch. c: bounding, effective, permitted, inheritable, ambient. */
static void set_caps(uint32_t last, const uint64_t c[5])
{
	struct __user_cap_header_struct hdr = { .version = _LINUX_CAPABILITY_VERSION_3 };
	struct __user_cap_data_struct data[2];

	MUST(syscall(SYS_capget, &hdr, data) == 0, "capget");
	for (int i = 0; i < 2; i++)
		data[i].effective = data[i].permitted;
	MUST(syscall(SYS_capset, &hdr, data) == 0, "raise effective capabilities to permitted");
	drop_bounding(last, c[0]);
	for (int i = 0; i < 2; i++) {
		data[i].effective = (uint32_t)(c[1] >> (32 * i));
		data[i].permitted = (uint32_t)(c[2] >> (32 * i));
		data[i].inheritable = (uint32_t)(c[3] >> (32 * i));
	}
	MUST(syscall(SYS_capset, &hdr, data) == 0, "set effective/permitted/inheritable capabilities");
	MUST(prctl(PR_CAP_AMBIENT, PR_CAP_AMBIENT_CLEAR_ALL, 0, 0, 0) == 0 || (errno == EINVAL && !c[4]),
	     "clear ambient capabilities");
	for (uint32_t n = 0; n < 64; n++)
		MUST(!(c[4] & (1ULL << n)) || prctl(PR_CAP_AMBIENT, PR_CAP_AMBIENT_RAISE, (unsigned long)n, 0, 0) == 0,
		     "raise ambient capability %u", n);
}

static void op_user(struct rd *r)
{
	uint32_t uid = rd_u32(r), gid = rd_u32(r), ngids;
	const char *raw = rd_array(r, 4, &ngids);
	uint32_t has_umask = rd_u32(r), mask = rd_u32(r), last = rd_u32(r);
	gid_t *gids = malloc(4 * (size_t)ngids + 1);
	uint64_t c[5];

	for (int i = 0; i < 5; i++)
		c[i] = rd_u64(r);
	rd_end(r);
	if (last > 63)
		bad(r->op, "last_cap above 63");
	MUST(gids, "out of memory");
	memcpy(gids, raw, 4 * (size_t)ngids);
	MUST(prctl(PR_SET_KEEPCAPS, 1, 0, 0, 0) == 0, "set keepcaps");
	drop_bounding(last, c[0]);
	MUST(setgroups(ngids, gids) == 0 || (errno == EPERM && !ngids), "process.user.additionalGids");
	MUST(setresgid(gid, gid, gid) == 0, "process.user.gid %u", gid);
	MUST(setresuid(uid, uid, uid) == 0, "process.user.uid %u", uid);
	MUST(prctl(PR_SET_KEEPCAPS, 0, 0, 0, 0) == 0, "clear keepcaps");
	umask(has_umask ? (mode_t)mask : 022);
	set_caps(last, c);
	free(gids);
}

/* home_of: the home of uid in the container's /etc/passwd, else "/". */
static const char *home_of(uint32_t uid)
{
	FILE *f = fopen("/etc/passwd", "re");
	char *line = NULL, *home = NULL, *s, *fld[6], want[16];
	size_t cap = 0;
	int n;

	snprintf(want, sizeof(want), "%u", uid);
	while (f && !home && getline(&line, &cap, f) > 0) {
		line[strcspn(line, "\r\n")] = '\0';
		for (s = line, n = 0; n < 6 && s; n++)
			fld[n] = strsep(&s, ":");
		if (n == 6 && !strcmp(fld[2], want) && *fld[5])
			home = strdup(fld[5]);
	}
	free(line);
	if (f)
		fclose(f);
	return home ? home : "/";
}

static char *concat(const char *a, const char *b, const char *c)
{
	char *s;
	MUST(asprintf(&s, "%s%s%s", a, b, c) >= 0, "out of memory");
	return s;
}

static int check_exec(const char *p)
{
	struct stat st;
	if (stat(p, &st) < 0)
		return -1;
	if (S_ISDIR(st.st_mode))
		return errno = EISDIR, -1;
	return access(p, X_OK);
}

/* look_path finds name with the env's last PATH=, as Go's exec.LookPath. */
static char *look_path(const char *name)
{
	const char *path = DEFAULT_PATH;
	char *dirs, *dir, *p;

	if (strchr(name, '/')) {
		MUST(check_exec(name) == 0, "process.args[0]: \"%s\"", name);
		return (char *)name;
	}
	for (char **e = P.env; *e; e++)
		if (!strncmp(*e, "PATH=", 5))
			path = *e + 5;
	dirs = concat(path, "", "");
	for (char *s = dirs; (dir = strsep(&s, ":"));) {
		p = concat(*dir ? dir : ".", dir[0] && dir[strlen(dir) - 1] == '/' ? "" : "/", name);
		if (check_exec(p) == 0)
			return p;
		free(p);
	}
	FAIL0("process.args[0]: \"%s\": executable file not found in $PATH", name);
}

static void op_prepare_exec(struct rd *r)
{
	uint32_t flags = rd_u32(r), uid = rd_u32(r);
	const char *cwd = rd_str(r);
	char **e, **out, pid[16];
	int home = 0;

	P.args = rd_strs(r, 0);
	P.env = rd_strs(r, 2); /* room for HOME and LISTEN_PID */
	rd_end(r);
	if (!P.args[0])
		bad(r->op, "no args");
	for (e = P.env; *e; e++)
		home |= !strncmp(*e, "HOME=", 5);
	if ((flags & EXEC_HOME) && !home)
		*e++ = concat("HOME=", home_of(uid), "");
	if (flags & EXEC_LISTEN_PID) { /* replaces one in env, as Go's setEnv */
		for (out = e = P.env; *e; e++)
			if (strncmp(*e, "LISTEN_PID=", 11))
				*out++ = *e;
		snprintf(pid, sizeof(pid), "%d", (int)getpid());
		*out++ = concat("LISTEN_PID=", pid, "");
		*out = NULL;
	}
	P.path = look_path(P.args[0]);
	MUST(!*cwd || chdir(cwd) == 0, "process.cwd: chdir \"%s\"", cwd);
}

/*
 * cloexec_from marks every fd from "from" up close-on-exec: close_range,
 * or where that fails (a kernel before 5.11, or a seccomp profile that
 * refuses it: the filter is loaded by now) each fd /proc/self/fd lists.
 */
static void cloexec_from(int from)
{
	struct dirent *d;
	DIR *dir;
	int fd;

	if (syscall(SYS_close_range, (unsigned long)from, ~0UL, CLOSE_RANGE_CLOEXEC) == 0)
		return;
	dir = opendir("/proc/self/fd");
	MUST(dir, "mark fds close-on-exec: open /proc/self/fd");
	while ((d = readdir(dir))) {
		fd = atoi(d->d_name);
		if (d->d_name[0] == '.' || fd < from || fd == dirfd(dir))
			continue;
		MUST(fcntl(fd, F_SETFD, FD_CLOEXEC) == 0 || errno == EBADF, "mark fd %d close-on-exec", fd);
	}
	closedir(dir);
}

static void op_exec(struct rd *r)
{
	uint32_t fifo_fd = rd_u32(r), from = rd_u32(r), joined = rd_u32(r);
	int fifo;

	rd_end(r);
	if (!P.path)
		bad(r->op, "OP_EXEC before OP_PREPARE_EXEC");
	MUST(berth_write_frame(FRAME_READY, NULL, 0) == 0, "send ready");
	if (joined) { /* the parent reads EOF at the exec, or the error frame */
		cloexec_from((int)from);
		execve(P.path, P.args, P.env);
		fail("exec \"%s\"", P.path);
	}
	close(berth_sync_fd);
	P.ready = 1;
	/* blocks until `berth start` opens the fifo; start waits for its end, at the exec */
	do
		fifo = open(fdp((int)fifo_fd), O_WRONLY | O_CLOEXEC);
	while (fifo < 0 && errno == EINTR);
	MUST(fifo >= 0, "open exec fifo");
	MUST(write(fifo, "0", 1) == 1, "write exec fifo");
	close((int)fifo_fd);
	cloexec_from((int)from);
	execve(P.path, P.args, P.env);
	fail("exec \"%s\"", P.path);
}

/* send_master sends the pty master to the console socket (SCM_RIGHTS). */
static void send_master(int sock, int master)
{
	char name[] = "/dev/ptmx";
	char cbuf[CMSG_SPACE(sizeof(int))] = { 0 };
	struct iovec iov = { .iov_base = name, .iov_len = sizeof(name) - 1 };
	struct msghdr msg = { .msg_iov = &iov, .msg_iovlen = 1, .msg_control = cbuf,
			      .msg_controllen = sizeof(cbuf) };
	struct cmsghdr *c = CMSG_FIRSTHDR(&msg);
	ssize_t n;

	c->cmsg_level = SOL_SOCKET;
	c->cmsg_type = SCM_RIGHTS;
	c->cmsg_len = CMSG_LEN(sizeof(int));
	memcpy(CMSG_DATA(c), &master, sizeof(int));
	do
		n = sendmsg(sock, &msg, 0);
	while (n < 0 && errno == EINTR);
	MUST(n >= 0, "send pty master to the console socket");
}

/* open_pty opens a pty of the container's devpts; *slave gets its path. */
static int open_pty(char *slave, size_t size, uint32_t has_size, uint32_t rows, uint32_t cols)
{
	struct winsize ws = { .ws_row = (unsigned short)rows, .ws_col = (unsigned short)cols };
	struct termios t;
	int master = open("/dev/ptmx", O_RDWR | O_NOCTTY | O_CLOEXEC), unlock = 0;
	unsigned int n;

	MUST(master >= 0, "open pty: open /dev/ptmx");
	MUST(ioctl(master, TIOCSPTLCK, &unlock) == 0, "open pty: unlockpt");
	MUST(ioctl(master, TIOCGPTN, &n) == 0, "open pty: ptsname");
	snprintf(slave, size, "/dev/pts/%u", n);
	MUST(tcgetattr(master, &t) == 0, "clear onlcr on the pty");
	t.c_oflag &= ~(tcflag_t)ONLCR;
	MUST(tcsetattr(master, TCSANOW, &t) == 0, "clear onlcr on the pty");
	MUST(!has_size || ioctl(master, TIOCSWINSZ, &ws) == 0, "process.consoleSize");
	return master;
}

/*
 * bind_dev_console binds the pty slave onto /dev/console: a file or char
 * device of ours, never a symlink to follow.
 */
static void bind_dev_console(const char *slave)
{
	struct stat st;
	int dev = in_root("/dev", IN_OPEN);
	int fd = openat(dev, "console", O_CREAT | O_EXCL | O_NOFOLLOW | O_RDONLY | O_CLOEXEC, 0600);
	MUST(fd >= 0 || errno == EEXIST, "/dev/console: create");
	if (fd >= 0)
		close(fd);
	fd = openat(dev, "console", O_PATH | O_NOFOLLOW | O_CLOEXEC);
	MUST(fd >= 0, "/dev/console: open");
	MUST(fstat(fd, &st) == 0, "/dev/console: stat");
	if (!S_ISREG(st.st_mode) && !S_ISCHR(st.st_mode))
		FAIL0("/dev/console: not a file or char device");
	MUST(xmount(slave, fdp(fd), NULL, MS_BIND, NULL) == 0, "bind %s onto /dev/console", slave);
	close(fd);
	close(dev);
}

static void op_console(struct rd *r)
{
	uint32_t sock = rd_u32(r), has_size = rd_u32(r), rows = rd_u32(r), cols = rd_u32(r);
	uint32_t bind_console = rd_u32(r);
	char slave[64];
	int master, fd;

	rd_end(r);
	master = open_pty(slave, sizeof(slave), has_size, rows, cols);
	send_master((int)sock, master);
	close(master);
	close((int)sock);
	if (bind_console)
		bind_dev_console(slave);
	fd = open(slave, O_RDWR | O_NOCTTY | O_CLOEXEC);
	MUST(fd >= 0, "open %s", slave);
	for (int i = 0; i < 3; i++)
		MUST(dup3(fd, i, 0) == i, "dup pty onto fd %d", i);
	close(fd);
	MUST(ioctl(0, TIOCSCTTY, 0) == 0, "make the pty the controlling terminal");
}

static void op_chdir(struct rd *r)
{
	const char *dir = rd_str(r);
	rd_end(r);
	MUST(chdir(dir) == 0, "%s", "");
}

static void op_close(struct rd *r)
{
	uint32_t fd = rd_u32(r);
	rd_end(r);
	MUST(close((int)fd) == 0, "close fd %u", fd);
}

static void op_hooks(struct rd *r)
{
	rd_end(r);
	MUST(berth_write_frame(FRAME_HOOKS, NULL, 0) == 0, "send the hooks frame");
	MUST(berth_skip_frame(FRAME_HOOKS_DONE) == 0, "wait for the hooks");
}

static void (*const ops[OP_MAX + 1])(struct rd *) = {
	[OP_ROOT] = op_root, [OP_MOUNT] = op_mount, [OP_MKNOD] = op_mknod,
	[OP_SYMLINK] = op_symlink, [OP_PIVOT] = op_pivot, [OP_SYSCTL] = op_sysctl,
	[OP_READONLY] = op_readonly, [OP_MASK] = op_mask, [OP_FINISH] = op_finish,
	[OP_HOSTNAME] = op_hostname, [OP_DOMAINNAME] = op_domainname, [OP_KEYRING] = op_keyring,
	[OP_RLIMIT] = op_rlimit, [OP_MKCWD] = op_mkcwd, [OP_NO_NEW_PRIVS] = op_no_new_privs,
	[OP_AFFINITY_ALL] = op_affinity_all, [OP_SECCOMP] = op_seccomp, [OP_USER] = op_user,
	[OP_PREPARE_EXEC] = op_prepare_exec, [OP_EXEC] = op_exec, [OP_CONSOLE] = op_console,
	[OP_HOOKS] = op_hooks, [OP_CHDIR] = op_chdir, [OP_CLOSE] = op_close,
};

/* check_frames checks every op header before any op runs: OP_EXEC last. */
static void check_frames(const char *plan, uint32_t len)
{
	uint32_t off = 0, op = 0, olen;

	while (off < len) {
		if (len - off < 8)
			bad(op, "truncated header of the op after it");
		memcpy(&op, plan + off, 4);
		memcpy(&olen, plan + off + 4, 4);
		if (op == 0 || op > OP_MAX || !ops[op])
			bad(op, "unknown op");
		if (olen > len - off - 8)
			bad(op, "truncated");
		off += 8 + olen;
		if (op == OP_EXEC && off != len)
			bad(op, "OP_EXEC is not the last op");
	}
	if (op != OP_EXEC)
		bad(op, "the plan does not end with OP_EXEC");
}

static void __attribute__((noreturn)) die_on_signal(int sig)
{
	(void)sig;
	_exit(2);
}

/*
 * catch_signals makes the init die on a terminating signal until it execs,
 * as the Go init did (runc's too): a pid namespace's init only gets the
 * signals it handles, so without handlers `kill` of a created container
 * with SIGTERM would do nothing. execve resets handled signals to their
 * default; ignored ones (inherited) stay ignored and are left alone.
 */
static void catch_signals(void)
{
	static const int sigs[] = { SIGHUP, SIGINT, SIGQUIT, SIGUSR1, SIGUSR2, SIGPIPE,
				    SIGALRM, SIGTERM, SIGXCPU, SIGXFSZ, SIGVTALRM, SIGPROF };
	struct sigaction sa = { .sa_handler = die_on_signal }, old;
	for (size_t i = 0; i < sizeof(sigs) / sizeof(sigs[0]); i++)
		if (sigaction(sigs[i], NULL, &old) == 0 && old.sa_handler != SIG_IGN)
			sigaction(sigs[i], &sa, NULL);
}

void berth_run_plan(const char *plan, uint32_t len)
{
	uint32_t off = 0;
	check_frames(plan, len);
	catch_signals();
	while (off < len) {
		struct rd r = { .p = plan + off + 8 };
		memcpy(&r.op, plan + off, 4);
		memcpy(&r.left, plan + off + 4, 4);
		off += 8 + r.left;
		P.op = r.op;
		P.label = rd_str(&r);
		ops[r.op](&r);
	}
	bad(0, "ran past OP_EXEC"); /* not reached: OP_EXEC is last and execs or exits */
}
