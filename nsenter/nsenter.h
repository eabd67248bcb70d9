/*
 * Shared constants of the berth nsenter stub. nsenter/bootstrap.go mirrors
 * them; TestCConstants checks that both agree.
 */
#ifndef BERTH_NSENTER_H
#define BERTH_NSENTER_H

/* Environment variable holding the sync socket fd; unset: not an init. */
#define BERTH_SYNC_ENV "_BERTH_SYNC"

/* Frame types (libcontainer/sync). */
#define FRAME_BOOTSTRAP 1
#define FRAME_USERMAP_REQ 2
#define FRAME_USERMAP_ACK 3
#define FRAME_PID 4
#define FRAME_ERROR 8
#define FRAME_HOOKS 9       /* from the init plan's OP_HOOKS */
#define FRAME_HOOKS_DONE 10

/* Bootstrap attribute types. */
#define ATTR_CLONE_FLAGS 1   /* u32: CLONE_NEW* to create */
#define ATTR_NS_PATH 2       /* u32 CLONE_NEW* + path: a namespace to join */
#define ATTR_TIMENS_OFFSETS 3 /* text for /proc/self/timens_offsets */
#define ATTR_PLAN 4          /* the init plan (plan.h): the stub sets up and execs */

/* Limits. */
#define BOOTSTRAP_MAX (64 * 1024)
#define NS_PATHS_MAX 16

#include <stdint.h>

/* nsenter.c, for plan.c: the sync socket, a frame to the parent, one from it
 * (its payload dropped), an error frame and exit. */
extern int berth_sync_fd;
int berth_write_frame(uint32_t type, const void *payload, uint32_t len);
int berth_skip_frame(uint32_t type);
void berth_bail(const char *fmt, ...) __attribute__((noreturn, format(printf, 1, 2)));

/* plan.c: runs the init plan (plan.h) and execs the container process. */
void berth_run_plan(const char *plan, uint32_t len) __attribute__((noreturn));

#endif
