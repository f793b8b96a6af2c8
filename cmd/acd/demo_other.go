//go:build !linux

package main

import "syscall"

// demoSysProcAttr: the defaults (Ctrl-C reaches the children too; they
// stop on it).
func demoSysProcAttr() *syscall.SysProcAttr { return nil }
