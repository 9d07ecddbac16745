//go:build amd64 && !purego

#include "textflag.h"

// GVZERO clears the sixteen accumulators Z0-Z15.
#define GVZERO \
	VPXORD Z0, Z0, Z0; \
	VPXORD Z1, Z1, Z1; \
	VPXORD Z2, Z2, Z2; \
	VPXORD Z3, Z3, Z3; \
	VPXORD Z4, Z4, Z4; \
	VPXORD Z5, Z5, Z5; \
	VPXORD Z6, Z6, Z6; \
	VPXORD Z7, Z7, Z7; \
	VPXORD Z8, Z8, Z8; \
	VPXORD Z9, Z9, Z9; \
	VPXORD Z10, Z10, Z10; \
	VPXORD Z11, Z11, Z11; \
	VPXORD Z12, Z12, Z12; \
	VPXORD Z13, Z13, Z13; \
	VPXORD Z14, Z14, Z14; \
	VPXORD Z15, Z15, Z15

// func sgemvNT(m, k, n int, x unsafe.Pointer, ldx uintptr, w unsafe.Pointer, ldw uintptr, y unsafe.Pointer, ldy uintptr, bias unsafe.Pointer, flags int, alpha, floor float32)
//
// A few rows times a row-major matrix transposed, every length in bytes
// but m, k and n (rows of x, elements, rows of W):
//
//	acc[i][j] = Σ_p X(i, p)·W(j, p), p < k, X(i, p) at x + i·ldx + 4p,
//	                                        W(j, p) at w + j·ldw + 4p
//	Y(i, j) = max(floor, alpha·acc[i][j] + Y(i, j)·[flags&1] + bias[j]·[flags&2])
//
// Y(i, j) at y + i·ldy + 4j, for i < m (at least 1) and j < n (at least
// 16): sixteen rows of W at a time, and for each row of x in turn, the
// sixteen rows against the same sixteen elements of x in sixteen
// accumulators, whose lanes are then summed into one vector of sixteen
// results by a tree of shuffles (no horizontal sum per row). The rows of
// x go by under one block of W, which stays in L1. A last block of fewer
// than sixteen rows moves back to end at row n and stores only its new
// columns. W is read in place, row by row, as Linear stores it: no
// packing, no transpose. The depth past a multiple of 16 is read under a
// mask, whose lanes off neither load (nor fault) nor change the sums.
TEXT ·sgemvNT(SB), NOSPLIT, $0-96
	MOVQ n+16(FP), R10
	MOVQ w+40(FP), R8
	MOVQ ldw+48(FP), BX
	LEAQ (BX)(BX*2), R12 // 3·ldw
	LEAQ (BX*4), R9      // 4·ldw
	MOVQ bias+72(FP), R13
	VBROADCASTSS alpha+88(FP), Z30
	VBROADCASTSS floor+92(FP), Z31

gvblock:
	MOVL $0xffff, DX // the columns of the block stored
	CMPQ R10, $16
	JGE  gvfull
	// Fewer than 16 rows of W left: back up to the block ending at row
	// n and store only the last R10 columns.
	MOVQ $16, CX
	SUBQ R10, CX
	MOVQ CX, AX
	IMULQ BX, AX
	SUBQ AX, R8
	LEAQ (CX*4), AX
	SUBQ AX, R13
	SHLL CX, DX
	ANDL $0xffff, DX
	MOVQ $16, R10

gvfull:
	KMOVW DX, K4
	MOVQ  flags+80(FP), AX
	KXORW K3, K3, K3
	TESTQ $1, AX
	JZ    gvnoc
	KMOVW DX, K3

gvnoc:
	KXORW K5, K5, K5
	TESTQ $2, AX
	JZ    gvnob
	KMOVW DX, K5

gvnob:
	MOVQ x+24(FP), SI
	MOVQ R13, DI // y + the block's column, as far from y as R13 from bias
	SUBQ bias+72(FP), DI
	ADDQ y+56(FP), DI
	MOVQ m+0(FP), R11

gvrow:
	GVZERO
	MOVQ k+8(FP), CX
	XORQ AX, AX

gvloop:
	CMPQ CX, $16
	JLT  gvtail
	VMOVUPS (SI)(AX*1), Z16
	LEAQ    (R8)(AX*1), DX
	VFMADD231PS (DX), Z16, Z0
	VFMADD231PS (DX)(BX*1), Z16, Z1
	VFMADD231PS (DX)(BX*2), Z16, Z2
	VFMADD231PS (DX)(R12*1), Z16, Z3
	ADDQ R9, DX
	VFMADD231PS (DX), Z16, Z4
	VFMADD231PS (DX)(BX*1), Z16, Z5
	VFMADD231PS (DX)(BX*2), Z16, Z6
	VFMADD231PS (DX)(R12*1), Z16, Z7
	ADDQ R9, DX
	VFMADD231PS (DX), Z16, Z8
	VFMADD231PS (DX)(BX*1), Z16, Z9
	VFMADD231PS (DX)(BX*2), Z16, Z10
	VFMADD231PS (DX)(R12*1), Z16, Z11
	ADDQ R9, DX
	VFMADD231PS (DX), Z16, Z12
	VFMADD231PS (DX)(BX*1), Z16, Z13
	VFMADD231PS (DX)(BX*2), Z16, Z14
	VFMADD231PS (DX)(R12*1), Z16, Z15
	ADDQ $64, AX
	SUBQ $16, CX
	JMP  gvloop

gvtail:
	TESTQ CX, CX
	JZ    gvreduce
	MOVL  $1, DX
	SHLL  CX, DX
	DECL  DX
	KMOVW DX, K2
	VMOVUPS.Z (SI)(AX*1), K2, Z16
	LEAQ    (R8)(AX*1), DX
	VFMADD231PS (DX), Z16, K2, Z0
	VFMADD231PS (DX)(BX*1), Z16, K2, Z1
	VFMADD231PS (DX)(BX*2), Z16, K2, Z2
	VFMADD231PS (DX)(R12*1), Z16, K2, Z3
	ADDQ R9, DX
	VFMADD231PS (DX), Z16, K2, Z4
	VFMADD231PS (DX)(BX*1), Z16, K2, Z5
	VFMADD231PS (DX)(BX*2), Z16, K2, Z6
	VFMADD231PS (DX)(R12*1), Z16, K2, Z7
	ADDQ R9, DX
	VFMADD231PS (DX), Z16, K2, Z8
	VFMADD231PS (DX)(BX*1), Z16, K2, Z9
	VFMADD231PS (DX)(BX*2), Z16, K2, Z10
	VFMADD231PS (DX)(R12*1), Z16, K2, Z11
	ADDQ R9, DX
	VFMADD231PS (DX), Z16, K2, Z12
	VFMADD231PS (DX)(BX*1), Z16, K2, Z13
	VFMADD231PS (DX)(BX*2), Z16, K2, Z14
	VFMADD231PS (DX)(R12*1), Z16, K2, Z15

gvreduce:
	// Pairs of rows: [a0+a2, b0+b2, a1+a3, b1+b3] in each 128-bit lane.
	VUNPCKLPS Z1, Z0, Z16
	VUNPCKHPS Z1, Z0, Z17
	VADDPS    Z17, Z16, Z0
	VUNPCKLPS Z3, Z2, Z18
	VUNPCKHPS Z3, Z2, Z19
	VADDPS    Z19, Z18, Z2
	VUNPCKLPS Z5, Z4, Z20
	VUNPCKHPS Z5, Z4, Z21
	VADDPS    Z21, Z20, Z4
	VUNPCKLPS Z7, Z6, Z22
	VUNPCKHPS Z7, Z6, Z23
	VADDPS    Z23, Z22, Z6
	VUNPCKLPS Z9, Z8, Z16
	VUNPCKHPS Z9, Z8, Z17
	VADDPS    Z17, Z16, Z8
	VUNPCKLPS Z11, Z10, Z18
	VUNPCKHPS Z11, Z10, Z19
	VADDPS    Z19, Z18, Z10
	VUNPCKLPS Z13, Z12, Z20
	VUNPCKHPS Z13, Z12, Z21
	VADDPS    Z21, Z20, Z12
	VUNPCKLPS Z15, Z14, Z22
	VUNPCKHPS Z15, Z14, Z23
	VADDPS    Z23, Z22, Z14

	// Fours: [Σa, Σb, Σc, Σd] of each 128-bit lane.
	VUNPCKLPD Z2, Z0, Z16
	VUNPCKHPD Z2, Z0, Z17
	VADDPS    Z17, Z16, Z0
	VUNPCKLPD Z6, Z4, Z18
	VUNPCKHPD Z6, Z4, Z19
	VADDPS    Z19, Z18, Z4
	VUNPCKLPD Z10, Z8, Z20
	VUNPCKHPD Z10, Z8, Z21
	VADDPS    Z21, Z20, Z8
	VUNPCKLPD Z14, Z12, Z22
	VUNPCKHPD Z14, Z12, Z23
	VADDPS    Z23, Z22, Z12

	// Eights: lanes 0-1 and 2-3 of rows 0-3, of rows 4-7 (Z0), of rows
	// 8-11 and 12-15 (Z8), then the sixteen sums in row order (Z0).
	VSHUFF32X4 $0x88, Z4, Z0, Z16
	VSHUFF32X4 $0xdd, Z4, Z0, Z17
	VADDPS     Z17, Z16, Z0
	VSHUFF32X4 $0x88, Z12, Z8, Z18
	VSHUFF32X4 $0xdd, Z12, Z8, Z19
	VADDPS     Z19, Z18, Z8
	VSHUFF32X4 $0x88, Z8, Z0, Z16
	VSHUFF32X4 $0xdd, Z8, Z0, Z17
	VADDPS     Z17, Z16, Z0

	// Y = max(floor, alpha·acc + Y·[read] + bias·[read]) in the columns K4.
	VMOVUPS.Z (DI), K3, Z1
	VFMADD231PS Z0, Z30, Z1
	VMOVUPS.Z (R13), K5, Z2
	VADDPS    Z2, Z1, Z1
	VMAXPS    Z1, Z31, Z1
	VMOVUPS   Z1, K4, (DI)

	// The next row of x under the same block of W.
	ADDQ ldx+32(FP), SI
	ADDQ ldy+64(FP), DI
	DECQ R11
	JG   gvrow

	// The next sixteen rows of W.
	LEAQ (R8)(R9*4), R8
	ADDQ $64, R13
	SUBQ $16, R10
	JG   gvblock
	VZEROUPPER
	RET
