package main

import "syscall"

const stopSignal = syscall.SIGSTOP
