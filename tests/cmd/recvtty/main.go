// Command recvtty is a console-socket receiver for the integration tests.
//
// A runtime started with --console-socket SOCKET connects to SOCKET and sends
// the master end of the container's pty as an SCM_RIGHTS control message.
// recvtty listens on SOCKET, accepts exactly one connection, receives that fd
// and then, depending on --mode:
//
//	single  copy the pty output to stdout (and stdin to the pty, unless
//	        --no-stdin) until the master reports EOF or EIO
//	null    read and discard the pty output until EOF or EIO
//
// Usage:
//
//	recvtty [--mode single|null] [--pid-file F] [--no-stdin] SOCKET_PATH
//
// The pid file is written once the socket is listening, so a test can wait
// for it before handing the socket to the runtime.
package main

import (
	"errors"
	"flag"
	"fmt"
	"io"
	"net"
	"os"
	"strconv"

	"github.com/containerd/console"
	"golang.org/x/sys/unix"
)

func main() {
	mode := flag.String("mode", "single", "what to do with the pty: single or null")
	pidFile := flag.String("pid-file", "", "write recvtty's pid here once listening")
	noStdin := flag.Bool("no-stdin", false, "do not copy stdin to the pty (single mode)")
	flag.Usage = func() {
		fmt.Fprintf(os.Stderr, "usage: %s [--mode single|null] [--pid-file F] [--no-stdin] SOCKET_PATH\n", os.Args[0])
		flag.PrintDefaults()
	}
	flag.Parse()
	if flag.NArg() != 1 {
		flag.Usage()
		os.Exit(2)
	}
	if *mode != "single" && *mode != "null" {
		fmt.Fprintf(os.Stderr, "recvtty: unknown mode %q (want single or null)\n", *mode)
		os.Exit(2)
	}
	if err := run(flag.Arg(0), *mode, *pidFile, *noStdin); err != nil {
		fmt.Fprintf(os.Stderr, "recvtty: %v\n", err)
		os.Exit(1)
	}
}

func run(path, mode, pidFile string, noStdin bool) error {
	ln, err := net.ListenUnix("unix", &net.UnixAddr{Name: path, Net: "unix"})
	if err != nil {
		return fmt.Errorf("listen on %s: %w", path, err)
	}
	defer ln.Close() // also removes the socket file

	if pidFile != "" {
		if err := writePidFile(pidFile); err != nil {
			return err
		}
	}

	conn, err := ln.AcceptUnix()
	if err != nil {
		return fmt.Errorf("accept on %s: %w", path, err)
	}
	master, err := recvFd(conn)
	conn.Close()
	if err != nil {
		return err
	}
	defer master.Close()

	if mode == "null" {
		return drain(master, io.Discard)
	}
	c, err := console.ConsoleFromFile(master)
	if err != nil {
		return fmt.Errorf("received fd is not a console: %w", err)
	}
	if !noStdin {
		go func() {
			// Ends when stdin hits EOF or the pty is closed; the process
			// exits when the output side is done, so no join is needed.
			_, _ = io.Copy(c, os.Stdin)
		}()
	}
	return drain(c, os.Stdout)
}

// writePidFile writes our pid atomically (temp file + rename) so a reader
// never sees a partial file.
func writePidFile(path string) error {
	tmp := path + ".tmp"
	if err := os.WriteFile(tmp, []byte(strconv.Itoa(os.Getpid())), 0o644); err != nil {
		return fmt.Errorf("write pid file: %w", err)
	}
	if err := os.Rename(tmp, path); err != nil {
		return fmt.Errorf("write pid file: %w", err)
	}
	return nil
}

// recvFd reads one message from conn and returns the single fd carried in
// its SCM_RIGHTS control data. The message body (the runtime may put the
// pty name there) is used as the file name.
func recvFd(conn *net.UnixConn) (*os.File, error) {
	name := make([]byte, 4096)
	oob := make([]byte, unix.CmsgSpace(4*4))
	n, oobn, _, _, err := conn.ReadMsgUnix(name, oob)
	if err != nil {
		return nil, fmt.Errorf("receive console fd: %w", err)
	}
	msgs, err := unix.ParseSocketControlMessage(oob[:oobn])
	if err != nil {
		return nil, fmt.Errorf("parse control message: %w", err)
	}
	var fds []int
	for i := range msgs {
		got, err := unix.ParseUnixRights(&msgs[i])
		if err != nil {
			return nil, fmt.Errorf("parse SCM_RIGHTS: %w", err)
		}
		fds = append(fds, got...)
	}
	if len(fds) != 1 {
		for _, fd := range fds {
			unix.Close(fd)
		}
		return nil, fmt.Errorf("expected exactly 1 fd, got %d", len(fds))
	}
	return os.NewFile(uintptr(fds[0]), string(name[:n])), nil
}

// drain copies r to w until EOF. A pty master reports EIO once every slave
// fd is closed; that is the normal end of a container's output, not an error.
func drain(r io.Reader, w io.Writer) error {
	_, err := io.Copy(w, r)
	if err == nil || errors.Is(err, unix.EIO) {
		return nil
	}
	return fmt.Errorf("copy pty output: %w", err)
}
