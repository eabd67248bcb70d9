// Command recvpidfd is a --pidfd-socket receiver for the integration tests.
//
// It listens on SOCKET, accepts one connection, receives one fd (SCM_RIGHTS)
// and checks that it is a pidfd: it prints "pid N" (the Pid: line of the
// fd's fdinfo), then waits for the process to exit through the pidfd and
// prints "exited".
//
// Usage:
//
//	recvpidfd [--pid-file F] SOCKET_PATH
//
// The pid file is written once the socket is listening.
package main

import (
	"bufio"
	"flag"
	"fmt"
	"net"
	"os"
	"strconv"
	"strings"

	"golang.org/x/sys/unix"
)

func main() {
	pidFile := flag.String("pid-file", "", "write recvpidfd's pid here once listening")
	flag.Parse()
	if flag.NArg() != 1 {
		fmt.Fprintln(os.Stderr, "usage: recvpidfd [--pid-file F] SOCKET_PATH")
		os.Exit(2)
	}
	if err := run(flag.Arg(0), *pidFile); err != nil {
		fmt.Fprintf(os.Stderr, "recvpidfd: %v\n", err)
		os.Exit(1)
	}
}

func run(path, pidFile string) error {
	ln, err := net.ListenUnix("unix", &net.UnixAddr{Name: path, Net: "unix"})
	if err != nil {
		return err
	}
	defer ln.Close()
	if pidFile != "" {
		if err := os.WriteFile(pidFile, []byte(strconv.Itoa(os.Getpid())), 0o644); err != nil {
			return err
		}
	}
	conn, err := ln.AcceptUnix()
	if err != nil {
		return err
	}
	defer conn.Close()
	buf := make([]byte, 256)
	oob := make([]byte, unix.CmsgSpace(4))
	_, oobn, _, _, err := conn.ReadMsgUnix(buf, oob)
	if err != nil {
		return fmt.Errorf("receive: %w", err)
	}
	msgs, err := unix.ParseSocketControlMessage(oob[:oobn])
	if err != nil || len(msgs) != 1 {
		return fmt.Errorf("no control message")
	}
	fds, err := unix.ParseUnixRights(&msgs[0])
	if err != nil || len(fds) != 1 {
		return fmt.Errorf("want one fd")
	}
	pid, err := fdinfoPid(fds[0])
	if err != nil {
		return err
	}
	fmt.Printf("pid %s\n", pid)
	pfd := []unix.PollFd{{Fd: int32(fds[0]), Events: unix.POLLIN}}
	for {
		if _, err := unix.Poll(pfd, -1); err != unix.EINTR {
			break
		}
	}
	fmt.Println("exited")
	return nil
}

// fdinfoPid returns the Pid: field of a pidfd's fdinfo.
func fdinfoPid(fd int) (string, error) {
	f, err := os.Open("/proc/self/fdinfo/" + strconv.Itoa(fd))
	if err != nil {
		return "", err
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		if v, ok := strings.CutPrefix(sc.Text(), "Pid:"); ok {
			return strings.TrimSpace(v), nil
		}
	}
	return "", fmt.Errorf("fd %d is not a pidfd (no Pid: in its fdinfo)", fd)
}
