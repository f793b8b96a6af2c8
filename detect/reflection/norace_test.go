//go:build !race

package reflection

const raceEnabled = false
