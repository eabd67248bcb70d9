package checkpoint

import (
	"os"
	"testing"

	"golang.org/x/sys/unix"
)

// TestFlagsReachCRIU: every runc flag berth takes for checkpoint and restore
// turns into the matching field of CRIU's RPC request (and nothing is set
// when the flag is not given).
func TestFlagsReachCRIU(t *testing.T) {
	img, err := os.Open(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	defer img.Close()
	all := Options{TCPEstablished: true, TCPSkipInFlight: true, LinkRemap: true, ExtUnixSk: true,
		ShellJob: true, FileLocks: true, AutoDedup: true, LazyPages: true, LeaveRunning: true,
		ManageCgroupsMode: "strict", EmptyNs: unix.CLONE_NEWNET, ParentPath: "../pre",
		PageServer: "127.0.0.1:27", LsmProfile: "p", LsmMountContext: "c"}

	d, err := (&DumpRequest{Options: all, Pid: 7, Root: "/r"}).rpcOpts(img, img, dumpLog)
	if err != nil {
		t.Fatal(err)
	}
	for name, ok := range map[string]bool{
		"tcp-established": d.GetTcpEstablished(), "tcp-skip-in-flight": d.GetTcpSkipInFlight(),
		"link-remap": d.GetLinkRemap(), "ext-unix-sk": d.GetExtUnixSk(), "shell-job": d.GetShellJob(),
		"file-locks": d.GetFileLocks(), "auto-dedup": d.GetAutoDedup(), "lazy-pages": d.GetLazyPages(),
		"leave-running": d.GetLeaveRunning(), "manage-cgroups-mode": d.GetManageCgroupsMode().String() == "STRICT",
		"empty-ns": d.GetEmptyNs() == unix.CLONE_NEWNET, "parent-path": d.GetParentImg() == "../pre" && d.GetTrackMem(),
		"page-server": d.GetPs().GetAddress() == "127.0.0.1" && d.GetPs().GetPort() == 27,
		"work-path":   d.WorkDirFd != nil, "pid": d.GetPid() == 7, "root": d.GetRoot() == "/r",
	} {
		if !ok {
			t.Errorf("dump: --%s does not reach CRIU", name)
		}
	}
	r := (&RestoreRequest{Options: all, Root: "/r"}).rpcOpts(img, img, &swrkIO{})
	for name, ok := range map[string]bool{
		"tcp-established": r.GetTcpEstablished(), "ext-unix-sk": r.GetExtUnixSk(), "shell-job": r.GetShellJob(),
		"file-locks": r.GetFileLocks(), "auto-dedup": r.GetAutoDedup(), "lazy-pages": r.GetLazyPages(),
		"manage-cgroups-mode": r.GetManageCgroupsMode().String() == "STRICT",
		"empty-ns":            r.GetEmptyNs() == unix.CLONE_NEWNET, "lsm-profile": r.GetLsmProfile() == "p",
		"lsm-mount-context": r.GetLsmMountContext() == "c", "work-path": r.WorkDirFd != nil,
	} {
		if !ok {
			t.Errorf("restore: --%s does not reach CRIU", name)
		}
	}

	d, _ = (&DumpRequest{Pid: 7}).rpcOpts(img, nil, dumpLog)
	if d.GetTcpEstablished() || d.GetShellJob() || d.GetFileLocks() || d.GetLinkRemap() || d.GetExtUnixSk() ||
		d.GetAutoDedup() || d.GetLazyPages() || d.GetLeaveRunning() || d.GetEmptyNs() != 0 ||
		d.ManageCgroupsMode != nil || d.ParentImg != nil || d.Ps != nil || d.WorkDirFd != nil {
		t.Errorf("dump without flags sets some: %v", d)
	}
}
