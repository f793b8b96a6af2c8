//go:build race

package ddos

const raceEnabled = true
