package cgroups

import (
	"fmt"
	"math"
	"sort"
	"strings"

	sd "github.com/coreos/go-systemd/v22/dbus"
	godbus "github.com/godbus/dbus/v5"
	specs "github.com/opencontainers/runtime-spec/specs-go"
)

// resourceProperties translates r into the systemd unit properties that
// have an equivalent (systemd 252 names). What has none is left to the fs
// writes that follow. "No limit" is the largest uint64 (systemd's
// infinity).
func resourceProperties(r *specs.LinuxResources) ([]sd.Property, error) {
	var props []sd.Property
	add := func(name string, v any) {
		props = append(props, sd.Property{Name: name, Value: godbus.MakeVariant(v)})
	}
	unlimited := func(v int64) uint64 {
		if v < 0 {
			return math.MaxUint64
		}
		return uint64(v)
	}
	if m := r.Memory; m != nil {
		if m.Limit != nil && *m.Limit != 0 {
			add("MemoryMax", unlimited(*m.Limit))
		}
		if m.Reservation != nil && *m.Reservation != 0 {
			add("MemoryLow", unlimited(*m.Reservation))
		}
		if m.Swap != nil && *m.Swap != 0 && m.Limit != nil && *m.Limit > 0 {
			if *m.Swap == -1 {
				add("MemorySwapMax", uint64(math.MaxUint64))
			} else if *m.Swap >= *m.Limit {
				add("MemorySwapMax", uint64(*m.Swap-*m.Limit))
			}
		}
	}
	if c := r.CPU; c != nil {
		if c.Shares != nil && *c.Shares != 0 {
			add("CPUWeight", SharesToWeight(*c.Shares))
		}
		if c.Period != nil && *c.Period != 0 {
			add("CPUQuotaPeriodUSec", *c.Period)
		}
		if c.Quota != nil && *c.Quota != 0 {
			add("CPUQuotaPerSecUSec", quotaPerSec(*c.Quota, c.Period))
		}
		for _, l := range []struct{ name, field, list string }{
			{"AllowedCPUs", "cpus", c.Cpus}, {"AllowedMemoryNodes", "mems", c.Mems},
		} {
			if l.list == "" {
				continue
			}
			mask, err := bitmask(l.list)
			if err != nil {
				return nil, fmt.Errorf("%s%s: %w", cpuField, l.field, err)
			}
			add(l.name, mask)
		}
	}
	if r.Pids != nil && r.Pids.Limit != nil {
		limit := uint64(math.MaxUint64)
		if *r.Pids.Limit > 0 {
			limit = uint64(*r.Pids.Limit)
		}
		add("TasksMax", limit)
	}
	if b := r.BlockIO; b != nil && b.Weight != nil && *b.Weight != 0 {
		add("IOWeight", BlkioWeightToIOWeight(uint64(*b.Weight)))
	}
	return props, nil
}

// quotaPerSec converts a quota over a period (default 100ms) to systemd's
// CPUQuotaPerSecUSec, rounded up to whole 10ms as runc does (systemd keeps
// percent precision); -1 is no quota.
func quotaPerSec(quota int64, period *uint64) uint64 {
	if quota < 0 {
		return math.MaxUint64
	}
	p := uint64(100000)
	if period != nil && *period != 0 {
		p = *period
	}
	v := uint64(quota) * 1000000 / p
	if v%10000 != 0 {
		v = (v/10000 + 1) * 10000
	}
	return v
}

// bitmask renders a cpu or node list ("0-3,7") as systemd's byte array,
// bit n of byte n/8 for cpu n.
func bitmask(list string) ([]byte, error) {
	ids, err := ParseList(list)
	if err != nil {
		return nil, err
	}
	var out []byte
	for _, id := range ids {
		for int(id)/8 >= len(out) {
			out = append(out, 0)
		}
		out[id/8] |= 1 << (id % 8)
	}
	return out, nil
}

const propAnnotation = "org.systemd.property."

// annotationProperties turns org.systemd.property.<Name> annotations into
// unit properties. Values are GVariant text, as with runc and systemctl
// set-property's D-Bus form: "true", "'text'", "uint64 100", "@t 100",
// "[1, 2]". A <Name> ending in "Sec" takes seconds (integer or fraction)
// and is sent as <Name minus Sec>USec in microseconds, since systemd's
// D-Bus API has only the USec forms. Properties berth sets itself are
// refused. Errors name the annotation.
func annotationProperties(ann map[string]string) ([]sd.Property, error) {
	keys := make([]string, 0, len(ann))
	for k := range ann {
		if strings.HasPrefix(k, propAnnotation) {
			keys = append(keys, k)
		}
	}
	sort.Strings(keys)
	var props []sd.Property
	for _, k := range keys {
		name := strings.TrimPrefix(k, propAnnotation)
		field := fmt.Sprintf("annotations[%q]", k)
		switch name {
		case "", "PIDs", "Slice", "Delegate", "Description", "DefaultDependencies":
			return nil, fmt.Errorf("%s: property %q cannot be set by an annotation", field, name)
		}
		v, err := godbus.ParseVariant(ann[k], godbus.Signature{})
		if err != nil {
			return nil, fmt.Errorf("%s: %q is not a GVariant value: %w", field, ann[k], err)
		}
		if strings.HasSuffix(name, "Sec") && !strings.HasSuffix(name, "USec") {
			usec, ok := seconds(v.Value())
			if !ok {
				return nil, fmt.Errorf("%s: %q is not a number of seconds", field, ann[k])
			}
			name, v = strings.TrimSuffix(name, "Sec")+"USec", godbus.MakeVariant(usec)
		}
		props = append(props, sd.Property{Name: name, Value: v})
	}
	return props, nil
}

// seconds converts a parsed numeric value in seconds to microseconds.
func seconds(v any) (uint64, bool) {
	var f float64
	switch n := v.(type) {
	case int32:
		f = float64(n)
	case int64:
		f = float64(n)
	case uint32:
		f = float64(n)
	case uint64:
		f = float64(n)
	case float64:
		f = n
	default:
		return 0, false
	}
	if f < 0 {
		return 0, false
	}
	return uint64(f * 1e6), true
}
