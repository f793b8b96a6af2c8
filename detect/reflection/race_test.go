//go:build race

package reflection

const raceEnabled = true
