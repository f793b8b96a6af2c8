//go:build !race

package bruteforce

const raceEnabled = false
