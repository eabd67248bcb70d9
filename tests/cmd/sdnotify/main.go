// Command sdnotify is a systemd stand-in for the integration tests (notify
// and socket activation), built static so it also runs in a busybox rootfs.
//
//	sdnotify listen SOCKET          print each datagram received on SOCKET
//	                                (unixgram), one line per variable, fds
//	                                (a BARRIER=1 pipe) closed as systemd does
//	sdnotify send MSG...            send each MSG as a datagram to $NOTIFY_SOCKET
//	sdnotify activate SOCKET CMD... listen (unix stream) on SOCKET as fd 3 and
//	                                exec CMD with LISTEN_FDS=1 LISTEN_PID=self
//	sdnotify accept                 accept one connection on fd 3 (LISTEN_FDS),
//	                                answer "pid=P LISTEN_PID=L LISTEN_FDS=N"
//	sdnotify connect SOCKET         connect to SOCKET and print the answer
package main

import (
	"bytes"
	"fmt"
	"io"
	"net"
	"os"
	"strconv"
	"syscall"

	"golang.org/x/sys/unix"
)

func main() {
	if len(os.Args) < 2 {
		usage()
	}
	var err error
	switch args := os.Args[2:]; os.Args[1] {
	case "listen":
		err = listen(arg(args, 0))
	case "send":
		err = send(args)
	case "activate":
		if len(args) < 2 {
			usage()
		}
		err = activate(args[0], args[1:])
	case "accept":
		err = accept()
	case "connect":
		err = connect(arg(args, 0))
	default:
		usage()
	}
	if err != nil {
		fmt.Fprintf(os.Stderr, "sdnotify %s: %v\n", os.Args[1], err)
		os.Exit(1)
	}
}

func usage() {
	fmt.Fprintln(os.Stderr, "usage: sdnotify listen SOCKET | send MSG... | activate SOCKET CMD... | accept | connect SOCKET")
	os.Exit(2)
}

func arg(args []string, i int) string {
	if len(args) <= i {
		usage()
	}
	return args[i]
}

func listen(path string) error {
	fd, err := unix.Socket(unix.AF_UNIX, unix.SOCK_DGRAM|unix.SOCK_CLOEXEC, 0)
	if err != nil {
		return err
	}
	if err := unix.Bind(fd, &unix.SockaddrUnix{Name: path}); err != nil {
		return err
	}
	buf := make([]byte, 4096)
	oob := make([]byte, unix.CmsgSpace(4*16))
	for {
		n, oobn, _, _, err := unix.Recvmsg(fd, buf, oob, unix.MSG_CMSG_CLOEXEC)
		if err == unix.EINTR {
			continue
		}
		if err != nil {
			return err
		}
		closeFds(oob[:oobn])
		for _, line := range bytes.Split(bytes.TrimRight(buf[:n], "\n"), []byte{'\n'}) {
			fmt.Printf("%s\n", line)
		}
	}
}

// closeFds closes the fds of a message: that is what answers a barrier.
func closeFds(oob []byte) {
	msgs, err := unix.ParseSocketControlMessage(oob)
	if err != nil {
		return
	}
	for _, m := range msgs {
		fds, err := unix.ParseUnixRights(&m)
		if err != nil {
			continue
		}
		for _, fd := range fds {
			unix.Close(fd)
		}
	}
}

func send(msgs []string) error {
	path := os.Getenv("NOTIFY_SOCKET")
	if path == "" {
		return fmt.Errorf("NOTIFY_SOCKET is not set")
	}
	conn, err := net.DialUnix("unixgram", nil, &net.UnixAddr{Name: path, Net: "unixgram"})
	if err != nil {
		return err
	}
	defer conn.Close()
	for _, m := range msgs {
		if _, err := conn.Write([]byte(m)); err != nil {
			return err
		}
	}
	return nil
}

func activate(path string, argv []string) error {
	fd, err := unix.Socket(unix.AF_UNIX, unix.SOCK_STREAM|unix.SOCK_CLOEXEC, 0)
	if err != nil {
		return err
	}
	if err := unix.Bind(fd, &unix.SockaddrUnix{Name: path}); err != nil {
		return err
	}
	if err := unix.Listen(fd, 8); err != nil {
		return err
	}
	// fd 3 without close-on-exec, as systemd passes it.
	if err := unix.Dup3(fd, 3, 0); err != nil {
		return err
	}
	env := append(os.Environ(), "LISTEN_FDS=1", "LISTEN_PID="+strconv.Itoa(os.Getpid()))
	bin := argv[0]
	if p, err := lookPath(bin); err == nil {
		bin = p
	}
	return syscall.Exec(bin, argv, env)
}

func lookPath(name string) (string, error) {
	if bytes.ContainsRune([]byte(name), '/') {
		return name, nil
	}
	for _, dir := range bytes.Split([]byte(os.Getenv("PATH")), []byte{':'}) {
		p := string(dir) + "/" + name
		if st, err := os.Stat(p); err == nil && st.Mode().IsRegular() {
			return p, nil
		}
	}
	return "", fmt.Errorf("%s not found", name)
}

func accept() error {
	if os.Getenv("LISTEN_FDS") == "" {
		return fmt.Errorf("LISTEN_FDS is not set")
	}
	nfd, _, err := unix.Accept(3)
	if err != nil {
		return fmt.Errorf("accept on fd 3: %w", err)
	}
	defer unix.Close(nfd)
	msg := fmt.Sprintf("pid=%d LISTEN_PID=%s LISTEN_FDS=%s\n", os.Getpid(), os.Getenv("LISTEN_PID"), os.Getenv("LISTEN_FDS"))
	_, err = unix.Write(nfd, []byte(msg))
	return err
}

func connect(path string) error {
	conn, err := net.Dial("unix", path)
	if err != nil {
		return err
	}
	defer conn.Close()
	_, err = io.Copy(os.Stdout, conn)
	return err
}
