/*
 * The init plan: the container setup compiled by the runtime's parent into
 * primitive operations that the C stub executes itself (plan.c), so that
 * no Go runtime starts inside the container. nsenter/plan.go is the Go
 * encoder; TestPlanConstants checks that both agree on the numbers below.
 *
 * The plan travels as the value of the ATTR_PLAN bootstrap attribute. It is
 * a sequence of operations, each:
 *
 *	u32 op, u32 len, then len bytes of fields
 *
 * Fields are read in the order listed for each op; all numbers are in host
 * byte order:
 *
 *	u32, u64     fixed-size numbers
 *	str          u32 n, then n bytes, then one NUL (not counted in n)
 *	strs         u32 count, then count str
 *	bytes        u32 n, then n bytes (no NUL)
 *	u32s         u32 count, then count u32
 *	u64s         u32 count, then count u64
 *
 * Every op's first field is a str label: the config path the op comes from
 * (e.g. "rootfs: mounts[2] (tmpfs on /dev)"). An error is reported to the
 * parent as an ERROR frame whose text is "<label>: <detail>" (the detail alone
 * for an empty label) and whose errno
 * is the failing call's; the parent appends the errno's text itself. A
 * refusal that is no call's failure (the /proc and /dev/null checks, a
 * procfs check, a name not found in $PATH) has errno 0. A malformed plan
 * (truncated, a str without its NUL or with one inside, bytes left after an
 * op's fields, an unknown op, no OP_EXEC last) is refused with EINVAL,
 * "nsenter: bad plan: op N: ...": its framing before any op runs, an op's
 * fields before that op does anything.
 *
 * Paths called "in-root" are absolute paths inside the container's rootfs.
 * Before OP_PIVOT they are resolved under the rootfs handle that OP_ROOT
 * opened, after OP_PIVOT under "/" (the rootfs by then); resolution follows
 * symlinks as the container would see them but never leaves the root
 * (openat2 RESOLVE_IN_ROOT; creating missing parents walks component by
 * component, a dangling symlink's target being created inside the root, as
 * filepath-securejoin does). Missing directories are made with mode 0755.
 */
#ifndef BERTH_PLAN_H
#define BERTH_PLAN_H

/*
 * OP_ROOT: label, str rootfs (absolute, symlinks resolved), u64 propagation
 *   mount(NULL, "/", NULL, propagation, NULL) (e.g. MS_SLAVE|MS_REC); make
 *   the mount holding rootfs private (MS_PRIVATE on rootfs, then each parent
 *   directory in turn while the kernel answers EINVAL: it is not a mount
 *   point); bind rootfs onto itself (MS_BIND|MS_REC); open it O_PATH as the
 *   root handle for the in-root paths of the ops that follow.
 */
#define OP_ROOT 1

/*
 * OP_MOUNT: label, str dest (in-root), str source, str fstype, str data,
 *   u64 flags, u32 kind, u32 remount, u64 remount_flags, u64 cleared,
 *   u64 rec_set, u64 rec_clr, u64s propagation, str alt_source
 *   1. target = dest made a directory (kind MOUNT_DIR, mkdir -p) or an empty
 *      file (kind MOUNT_FILE: parents mkdir -p, then the file created
 *      O_CREAT|O_EXCL|O_NOFOLLOW mode 0644 if missing), opened O_PATH;
 *   2. /proc check: the target's real path (readlink of /proc/self/fd/N)
 *      minus the rootfs prefix must equal dest when it is /proc or under
 *      /proc/ (the parent vetted dest itself; a symlink that leads into
 *      /proc is refused): "<dest resolved> is inside /proc, where mounts are
 *      not allowed" (errno 0). The comparison is of strings: dest must be
 *      clean, rootfs symlink-free; a real path outside rootfs is refused;
 *   3. mount(source, "/proc/self/fd/N", fstype, flags, data) (NULL for an
 *      empty fstype or data); when that fails with EPERM or EBUSY and
 *      alt_source is not empty, mount(alt_source, target, NULL,
 *      MS_BIND|MS_REC, NULL) instead, and remount is then treated as set;
 *   4. if remount, rec_set|rec_clr or propagation: reopen dest (the new
 *      mount's root) and, in order, remount it (see REMOUNT below) with
 *      remount_flags and cleared if remount is set, mount_setattr(
 *      AT_EMPTY_PATH|AT_RECURSIVE) with rec_set/rec_clr if either is
 *      non-zero, then mount(NULL, fd path, NULL, p, NULL) for each
 *      propagation value p.
 * REMOUNT of a handle h with flags and cleared: locked = the statfs
 *   (fstatfs(h)) flags ST_NOSUID|ST_NODEV|ST_NOEXEC mapped to MS_NOSUID|
 *   MS_NODEV|MS_NOEXEC; mount(NULL, fd path, NULL, MS_REMOUNT|MS_BIND|
 *   flags|(locked & ~cleared), NULL). (The parent has already kept only
 *   the per-mount flags in remount_flags.)
 */
#define OP_MOUNT 2
#define MOUNT_DIR 0
#define MOUNT_FILE 1

/*
 * OP_MKNOD: label, str path (in-root), u32 mode (S_IF* | permissions),
 *   u64 dev (makedev), u32 uid, u32 gid
 *   mkdir -p the parent, mknodat(parent, base, mode, dev) with umask 0;
 *   EEXIST is success (the image has it; left as it is); else
 *   fchownat(parent, base, uid, gid, AT_SYMLINK_NOFOLLOW).
 */
#define OP_MKNOD 3

/*
 * OP_SYMLINK: label, str dir (in-root), str name, str target, u32 replace
 *   dir is made (mkdir -p) if missing, as for the devices;
 *   symlinkat(target, dir, name); EEXIST is success. With replace set,
 *   unlinkat(dir, name, 0) first (ENOENT is fine) and EEXIST is an error.
 */
#define OP_SYMLINK 4

/*
 * OP_PIVOT: label, u64 propagation
 *   pivot_root(".", ".") from the root handle: open "/" O_PATH, fchdir to
 *   the root handle, pivot_root(".", "."), fchdir to the old root,
 *   mount(NULL, ".", NULL, MS_SLAVE|MS_REC, NULL), umount2(".",
 *   MNT_DETACH), chdir("/"); then, if propagation is non-zero,
 *   mount(NULL, "/", NULL, propagation, NULL). From here in-root paths are
 *   resolved under "/".
 */
#define OP_PIVOT 5

/*
 * OP_SYSCTL: label, str rel (path under /proc/sys: "net/ipv4/ip_forward"),
 *   str value
 *   /proc is opened O_PATH|O_DIRECTORY|O_NOFOLLOW and must be the root of a
 *   procfs: fstatfs PROC_SUPER_MAGIC and inode 1 ("/proc is not the root
 *   of a procfs mount"); "sys" is opened under it, then rel under that,
 *   O_WRONLY, each with openat2 RESOLVE_BENEATH|RESOLVE_NO_SYMLINKS|
 *   RESOLVE_NO_MAGICLINKS|RESOLVE_NO_XDEV and O_NOFOLLOW; the file must be
 *   on a procfs (fstatfs) and the value is written in one write(2).
 */
#define OP_SYSCTL 6

/*
 * OP_READONLY: label, str path (in-root)
 *   a path that does not exist (ENOENT) is skipped; else bind it onto
 *   itself (MS_BIND|MS_REC through its fd path), reopen, REMOUNT with
 *   MS_RDONLY, cleared 0.
 */
#define OP_READONLY 7

/*
 * OP_MASK: label, str path (in-root)
 *   a path that does not exist (ENOENT) is skipped; a directory gets
 *   mount("tmpfs", fd path, "tmpfs", MS_RDONLY, NULL); anything else gets
 *   the container's /dev/null bound over it (MS_BIND). /dev/null is opened
 *   O_PATH in-root once, at the first OP_MASK, and must be the 1:3 char
 *   device: "/dev/null: not the 1:3 char device" otherwise (CVE-2025-31133).
 */
#define OP_MASK 8

/*
 * OP_FINISH: label, str path (in-root), u32 remount, u64 remount_flags,
 *   u64 cleared, u64 rec_set, u64 rec_clr, u64s propagation
 *   open path (it must exist: the mount on top of it) and do step 4 of
 *   OP_MOUNT on it. A read-only /dev or root is remount 1, remount_flags
 *   MS_RDONLY, cleared 0.
 */
#define OP_FINISH 9

/* OP_HOSTNAME, OP_DOMAINNAME: label, str name (sethostname/setdomainname) */
#define OP_HOSTNAME 10
#define OP_DOMAINNAME 11

/*
 * OP_KEYRING: label, str name
 *   keyctl(KEYCTL_JOIN_SESSION_KEYRING, name); ENOSYS is success.
 */
#define OP_KEYRING 12

/*
 * OP_RLIMIT: label, u32 resource, u64 soft, u64 hard
 *   prlimit(0, resource, {soft, hard}, NULL). On EPERM the detail says why
 *   before the errno: " (above fs.nr_open, N)" for RLIMIT_NOFILE above
 *   /proc/sys/fs/nr_open, else " (the hard limit is N here and can only be
 *   raised with CAP_SYS_RESOURCE)" when hard is above the current hard
 *   limit.
 */
#define OP_RLIMIT 13

/*
 * OP_MKCWD: label, str cwd (in-root, after OP_PIVOT)
 *   mkdir -p, symlinks followed inside the root.
 */
#define OP_MKCWD 14

/* OP_NO_NEW_PRIVS: label. prctl(PR_SET_NO_NEW_PRIVS, 1). */
#define OP_NO_NEW_PRIVS 15

/* OP_AFFINITY_ALL: label. sched_setaffinity(0) to every CPU. */
#define OP_AFFINITY_ALL 16

/*
 * OP_SECCOMP: label, u32 flags, u32 spec_allow_default, bytes bpf
 *   seccomp(SECCOMP_SET_MODE_FILTER, flags, {len(bpf)/8, bpf}); with EINVAL
 *   and spec_allow_default set, again without SECCOMP_FILTER_FLAG_SPEC_ALLOW.
 *   A notify listener fd it returns is closed (the plan cannot hand it on).
 *   EACCES gets the detail "load filter (without no_new_privs, loading
 *   needs CAP_SYS_ADMIN)", other errors "load filter".
 */
#define OP_SECCOMP 17

/*
 * OP_USER: label, u32 uid, u32 gid, u32s additional_gids, u32 has_umask,
 *   u32 umask, u32 last_cap, u64 bounding, u64 effective, u64 permitted,
 *   u64 inheritable, u64 ambient (last_cap at most 63)
 *   prctl(PR_SET_KEEPCAPS, 1); drop from the bounding set every capability
 *   0..last_cap not in bounding (PR_CAPBSET_READ first: skip those already
 *   out); setgroups(additional_gids) (EPERM with an empty list is fine);
 *   setresgid(gid x3); setresuid(uid x3); prctl(PR_SET_KEEPCAPS, 0);
 *   umask(has_umask ? umask : 022); capget then capset with effective =
 *   permitted (v3 header); drop the bounding set again as above; capset
 *   effective/permitted/inheritable; PR_CAP_AMBIENT_CLEAR_ALL (EINVAL with
 *   ambient 0 is fine) and PR_CAP_AMBIENT_RAISE for each bit of ambient.
 *   Details name the value: "process.user.uid 1000", "process.user.gid 5",
 *   "process.user.additionalGids", "drop capability 12 from the bounding
 *   set", "set effective/permitted/inheritable capabilities", "raise
 *   ambient capability 12".
 */
#define OP_USER 18

/*
 * OP_PREPARE_EXEC: label, u32 flags, u32 uid, str cwd, strs args, strs env
 *   the process's environment is env, plus HOME=<home of uid in the
 *   container's /etc/passwd, else "/"> when env has no HOME= and flags has
 *   EXEC_HOME, plus LISTEN_PID=<getpid()> (replacing any LISTEN_PID= of env)
 *   when flags has EXEC_LISTEN_PID.
 *   A cwd of "" is left as it is.
 *   args[0] is looked up: with a "/" it must exist, not be a directory
 *   (EISDIR) and pass access(X_OK); else each directory of the env's last
 *   PATH= (default "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:
 *   /sbin:/bin"; an empty entry is ".") is tried in turn, the first passing
 *   the same checks wins; none: detail "process.args[0]: \"<name>\":
 *   executable file not found in $PATH" with errno 0. Then chdir(cwd):
 *   detail "process.cwd: chdir \"<cwd>\"".
 */
#define OP_PREPARE_EXEC 19
#define EXEC_HOME 1
#define EXEC_LISTEN_PID 2

/*
 * OP_EXEC: label, u32 fifo_fd, u32 close_from, u32 joined
 *   The last op. Sends a READY frame (no payload).
 *   With joined set (a process exec'd into a running container, `berth
 *   exec`; fifo_fd is unused): keeps the sync socket, marks every fd from
 *   close_from up close-on-exec (the socket among them, so the parent
 *   reads EOF at the exec) and execve's; errors still go to the parent as
 *   ERROR frames.
 *   Else (the container's init) it closes the sync socket. From here the
 *   parent no longer listens: errors go to stderr as
 *   "berth init: <label>: <detail>: <strerror>" and the init exits 1.
 *   Opens /proc/self/fd/<fifo_fd> O_WRONLY|O_CLOEXEC (this blocks until
 *   `berth start` opens the fifo), writes "0", keeps that fd open (it is
 *   close-on-exec: start waits for its end), closes fifo_fd, marks every fd
 *   from close_from up close-on-exec (close_range CLOSE_RANGE_CLOEXEC), and
 *   execve(path found by OP_PREPARE_EXEC, args, env).
 */
#define OP_EXEC 20
#define FRAME_READY 6

/*
 * OP_CONSOLE: label, u32 sock_fd, u32 has_size, u32 height, u32 width,
 *   u32 bind_console
 *   After OP_PIVOT (the container's /dev/ptmx and devpts): open
 *   "/dev/ptmx" O_RDWR|O_NOCTTY|O_CLOEXEC, unlock it (TIOCSPTLCK 0), the
 *   slave is "/dev/pts/<TIOCGPTN>"; clear ONLCR on the master (as runc: the
 *   caller's terminal adds its own CR); with has_size, TIOCSWINSZ rows
 *   height, columns width; sendmsg the master to sock_fd with SCM_RIGHTS
 *   and the payload "/dev/ptmx"; close both. Then, with bind_console (the
 *   init, not an exec'd process), /dev/console: created in
 *   the in-root /dev as an empty file (O_CREAT|O_EXCL|O_NOFOLLOW, 0600) if
 *   missing, opened O_PATH|O_NOFOLLOW, and it must be a regular file or a
 *   char device (never a symlink); the slave is bound onto it (MS_BIND).
 *   Last, the slave is opened O_RDWR|O_NOCTTY, dup'ed onto 0, 1 and 2, and
 *   made the controlling terminal (TIOCSCTTY on 0).
 */
#define OP_CONSOLE 21

/*
 * OP_HOOKS: label
 *   Before OP_PIVOT, where the prestart and createRuntime hooks belong:
 *   sends a FRAME_HOOKS frame (no payload) to the parent, which runs them,
 *   and waits for its FRAME_HOOKS_DONE (the payload, the hooks' state, is
 *   dropped). When a hook fails the parent ends the init instead.
 */
#define OP_HOOKS 22

/* OP_CHDIR: label, str dir. chdir(dir) (an exec'd process, as root). */
#define OP_CHDIR 23

/*
 * OP_CLOSE: label, u32 fd. close(fd): an exec plan's first op, for the
 *   handle on the host's /proc/<pid>/ns the stub joined the namespaces
 *   through, which nothing in the container may ever reach.
 */
#define OP_CLOSE 24
#define OP_MAX 24

#endif
