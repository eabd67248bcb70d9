//go:build linux && cgo

package nsenter

/*
#cgo CFLAGS: -Wall -Wextra -O2
extern void berth_nsenter(void);
void __attribute__((constructor)) berth_nsenter_ctor(void) { berth_nsenter(); }
*/
import "C"
