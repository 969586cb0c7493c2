// Package inns runs a function on an OS thread switched into a network
// namespace, so that the sockets it creates live there: the packages'
// NetNS path turned into sockets (Linux only; callers use it from their
// _linux.go files).
package inns
