//go:build race

package connmgr_test

const raceEnabled = true
