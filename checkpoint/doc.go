// Package checkpoint will drive CRIU to checkpoint and restore containers.
// It is empty for now: berth has no checkpoint or restore command yet, and
// `berth features` says so.
package checkpoint
