//go:build race

package bruteforce

const raceEnabled = true
