// seccompagent is a seccomp notify agent for berth's tests: it listens on a
// unix socket for the runtime's message (the container state and the
// listener fd, config-linux.md "Seccomp notify"), records the state, and
// answers notified mkdir/mkdirat calls with EXDEV and every other notified
// call with "continue" (a notified execve only after --execve-delay).
//
// Usage: seccompagent --socket PATH --state FILE [--pid-file FILE] [--execve-delay D]
package main

import (
	"flag"
	"fmt"
	"log"
	"net"
	"os"
	"strconv"
	"time"

	libseccomp "github.com/seccomp/libseccomp-golang"
	"golang.org/x/sys/unix"
)

func main() {
	sock := flag.String("socket", "", "unix socket to listen on")
	stateFile := flag.String("state", "", "file to write each received state to")
	pidFile := flag.String("pid-file", "", "file to write our pid to once listening")
	flag.DurationVar(&execveDelay, "execve-delay", 0, "wait this long before letting a notified execve go on")
	flag.Parse()
	if *sock == "" || *stateFile == "" {
		log.Fatal("usage: seccompagent --socket PATH --state FILE [--pid-file FILE] [--execve-delay D]")
	}
	l, err := net.ListenUnix("unix", &net.UnixAddr{Name: *sock, Net: "unix"})
	if err != nil {
		log.Fatal(err)
	}
	if *pidFile != "" {
		if err := os.WriteFile(*pidFile, []byte(strconv.Itoa(os.Getpid())), 0o644); err != nil {
			log.Fatal(err)
		}
	}
	for {
		c, err := l.AcceptUnix()
		if err != nil {
			log.Fatal(err)
		}
		fd, err := receive(c, *stateFile)
		c.Close()
		if err != nil {
			log.Print(err)
			continue
		}
		go serve(fd)
	}
}

// receive reads the runtime's one message: the state JSON and the fd.
func receive(c *net.UnixConn, stateFile string) (int, error) {
	buf := make([]byte, 1<<16)
	oob := make([]byte, unix.CmsgSpace(4))
	n, oobn, _, _, err := c.ReadMsgUnix(buf, oob)
	if err != nil {
		return -1, err
	}
	msgs, err := unix.ParseSocketControlMessage(oob[:oobn])
	if err != nil || len(msgs) != 1 {
		return -1, fmt.Errorf("no fd in the message")
	}
	fds, err := unix.ParseUnixRights(&msgs[0])
	if err != nil || len(fds) != 1 {
		return -1, fmt.Errorf("want one fd")
	}
	if err := os.WriteFile(stateFile, buf[:n], 0o644); err != nil {
		return -1, err
	}
	return fds[0], nil
}

var execveDelay time.Duration

func serve(fd int) {
	defer unix.Close(fd)
	for {
		req, err := libseccomp.NotifReceive(libseccomp.ScmpFd(fd))
		if err != nil {
			return // the filter's last user is gone
		}
		resp := &libseccomp.ScmpNotifResp{ID: req.ID, Flags: libseccomp.NotifRespFlagContinue}
		name, _ := req.Data.Syscall.GetName()
		switch name {
		case "mkdir", "mkdirat":
			resp.Flags, resp.Error = 0, int32(unix.EXDEV)
		case "execve":
			time.Sleep(execveDelay)
		}
		if err := libseccomp.NotifRespond(libseccomp.ScmpFd(fd), resp); err != nil {
			log.Print(err)
		}
	}
}
