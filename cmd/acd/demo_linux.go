package main

import "syscall"

// demoSysProcAttr puts a demo child in its own process group (a
// terminal's Ctrl-C reaches acd demo, which stops the children in order)
// and has the kernel stop it should acd demo die without stopping it.
func demoSysProcAttr() *syscall.SysProcAttr {
	return &syscall.SysProcAttr{Setpgid: true, Pdeathsig: syscall.SIGTERM}
}
