package cgroups

import (
	"fmt"
	"os"
	"strings"
	"testing"

	"github.com/moby/sys/mountinfo"
)

// mountTables is this host's mountinfo and a busy container host's: 1000
// overlay and shm mounts around the same cgroup mounts.
func mountTables(b *testing.B) map[string]string {
	host, err := os.ReadFile("/proc/self/mountinfo")
	if err != nil {
		b.Skip(err)
	}
	var big strings.Builder
	for i := range 1000 {
		fmt.Fprintf(&big, "%d 22 0:%d / /var/lib/docker/overlay2/%064d/merged rw,relatime - overlay overlay rw,lowerdir=/l/%d:/l/b,upperdir=/u/%d,workdir=/w/%d\n", 100+i, 50+i, i, i, i, i)
	}
	big.WriteString(hybridMountinfo)
	return map[string]string{"host": string(host), "busy": big.String()}
}

// The hand parser against moby/sys/mountinfo with an fstype filter, which
// parses and unescapes every field of every line before filtering.
func BenchmarkParseMountinfo(b *testing.B) {
	for name, table := range mountTables(b) {
		b.Run(name+"/berth", func(b *testing.B) {
			for b.Loop() {
				if _, err := parseMountinfo(strings.NewReader(table)); err != nil {
					b.Fatal(err)
				}
			}
		})
		b.Run(name+"/moby", func(b *testing.B) {
			for b.Loop() {
				_, err := mountinfo.GetMountsFromReader(strings.NewReader(table), mountinfo.FSTypeFilter("cgroup", "cgroup2"))
				if err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}
