//go:build !purego

#include "textflag.h"

// func twosDraw2AVX2(tree *twosNode, off []int, t1, t2 uint32) (p1, p2 int)
//
// draw2's two descents with each node compared in two AVX2 instructions:
// the child is the number of entries at most t, less one (entry 0 is 0).
// Entry k of a node is its k-th 32-bit word (little-endian halves).
TEXT ·twosDraw2AVX2(SB), NOSPLIT, $0-56
	MOVQ tree+0(FP), SI
	MOVQ off_base+8(FP), DI
	MOVQ off_len+16(FP), CX
	MOVL t1+32(FP), R8
	MOVL t2+36(FP), R9
	XORQ R10, R10
	XORQ R11, R11
	TESTQ CX, CX
	JZ   done

loop:
	MOVQ (DI), AX
	LEAQ (AX)(R10*1), BX
	SHLQ $6, BX
	ADDQ SI, BX
	LEAQ (AX)(R11*1), DX
	SHLQ $6, DX
	ADDQ SI, DX

	// Broadcast t+1: t+1 > e is e <= t; all values are below 2^31.
	LEAL 1(R8), R12
	MOVQ R12, X0
	VPBROADCASTD X0, Y0
	LEAL 1(R9), R13
	MOVQ R13, X1
	VPBROADCASTD X1, Y1
	VPCMPGTD (BX), Y0, Y2
	VPCMPGTD 32(BX), Y0, Y3
	VPCMPGTD (DX), Y1, Y4
	VPCMPGTD 32(DX), Y1, Y5

	VMOVMSKPS Y2, R12
	VMOVMSKPS Y3, AX
	SHLL $8, AX
	ORL  AX, R12
	POPCNTL R12, R12
	DECL R12
	VMOVMSKPS Y4, R13
	VMOVMSKPS Y5, AX
	SHLL $8, AX
	ORL  AX, R13
	POPCNTL R13, R13
	DECL R13

	SUBL (BX)(R12*4), R8
	SUBL (DX)(R13*4), R9
	SHLQ $4, R10
	ADDQ R12, R10
	SHLQ $4, R11
	ADDQ R13, R11
	ADDQ $8, DI
	DECQ CX
	JNZ  loop

done:
	VZEROUPPER
	MOVQ R10, p1+40(FP)
	MOVQ R11, p2+48(FP)
	RET
