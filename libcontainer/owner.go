package libcontainer

import (
	"bufio"
	"os"
	"strconv"
	"strings"
)

// ownerName names uid from the host's /etc/passwd, as runc's state does;
// "#<uid>" when there is no entry.
func ownerName(uid int) string {
	f, err := os.Open("/etc/passwd")
	if err == nil {
		defer f.Close()
		sc := bufio.NewScanner(f)
		want := strconv.Itoa(uid)
		for sc.Scan() {
			fields := strings.SplitN(sc.Text(), ":", 4)
			if len(fields) >= 3 && fields[2] == want {
				return fields[0]
			}
		}
	}
	return "#" + strconv.Itoa(uid)
}
