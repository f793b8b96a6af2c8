// Package ddos detects volumetric floods per destination: packets, bits and
// flows per second in each flood vector (TCP SYN, UDP, ICMP, UDP from
// amplifier ports, flagless TCP, other protocols), against a learned
// per-destination baseline and absolute floors, with sampled counters
// scaled. It names the victim (detect.RoleDDoSVictim), the vector, and for
// direct floods the bots (detect.RoleDDoSSource); reflectors of an
// amplification flood are left to the reflection detector. See README.md.
package ddos
