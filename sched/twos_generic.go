//go:build !amd64 || purego

package sched

// twosAVX2 is false where twos_amd64.s is not built.
const twosAVX2 = false

func twosDraw2AVX2(*twosNode, []int, uint32, uint32) (int, int) {
	panic("sched: twosDraw2AVX2 without AVX2")
}
