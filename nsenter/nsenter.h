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

/* Bootstrap attribute types. */
#define ATTR_CLONE_FLAGS 1   /* u32: CLONE_NEW* to create */
#define ATTR_NS_PATH 2       /* u32 CLONE_NEW* + path: a namespace to join */
#define ATTR_TIMENS_OFFSETS 3 /* text for /proc/self/timens_offsets */

/* Limits. */
#define BOOTSTRAP_MAX (64 * 1024)
#define NS_PATHS_MAX 16

#endif
