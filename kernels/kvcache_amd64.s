//go:build amd64 && !purego

#include "textflag.h"

// func sattnScores(q, k, p unsafe.Pointer, width, e int, scale float32)
//
// The scores of one query against the first width rows of a key matrix:
// p[j] = scale·Σ_c q[c]·k[j·e + c] for j < width, c < e (width, e ≥ 1),
// sixteen elements of a row at a time, those past e under a mask.
TEXT ·sattnScores(SB), NOSPLIT, $0-44
	MOVQ q+0(FP), SI
	MOVQ k+8(FP), R8
	MOVQ p+16(FP), DI
	MOVQ width+24(FP), R10
	MOVQ e+32(FP), R9
	VMOVSS scale+40(FP), X5

asrow:
	VPXORD Z1, Z1, Z1
	MOVQ   R9, CX
	XORQ   AX, AX

aschunk:
	MOVL  $0xffff, DX
	CMPQ  CX, $16
	JGE   asfull
	MOVL  $1, DX
	SHLL  CX, DX
	DECL  DX

asfull:
	KMOVW DX, K1
	VMOVUPS.Z (SI)(AX*1), K1, Z0
	VMOVUPS.Z (R8)(AX*1), K1, Z2
	VFMADD231PS Z2, Z0, Z1
	ADDQ $64, AX
	SUBQ $16, CX
	JG   aschunk

	VEXTRACTF64X4 $1, Z1, Y2
	VADDPS        Y2, Y1, Y1
	VEXTRACTF32X4 $1, Y1, X2
	VADDPS        X2, X1, X1
	VHADDPS       X1, X1, X1
	VHADDPS       X1, X1, X1
	VMULSS        X5, X1, X1
	VMOVSS        X1, (DI)
	ADDQ          $4, DI
	LEAQ          (R8)(R9*4), R8
	DECQ          R10
	JG            asrow
	VZEROUPPER
	RET

// func sattnMix(p, v, out unsafe.Pointer, width, ev int)
//
// The probabilities' mix of the first width rows of a value matrix:
// out[c] = Σ_j p[j]·v[j·ev + c] for c < ev, j < width (width, ev ≥ 1),
// in order of j, sixteen columns at a time, those past ev under a mask.
TEXT ·sattnMix(SB), NOSPLIT, $0-40
	MOVQ p+0(FP), SI
	MOVQ v+8(FP), R8
	MOVQ out+16(FP), DI
	MOVQ ev+32(FP), CX
	MOVQ CX, R9
	SHLQ $2, R9 // the row stride in bytes

amchunk:
	MOVL  $0xffff, DX
	CMPQ  CX, $16
	JGE   amfull
	MOVL  $1, DX
	SHLL  CX, DX
	DECL  DX

amfull:
	KMOVW  DX, K1
	VPXORD Z1, Z1, Z1
	MOVQ   width+24(FP), R10
	XORQ   AX, AX
	MOVQ   R8, BX

amrow:
	VBROADCASTSS (SI)(AX*4), Z0
	VMOVUPS.Z    (BX), K1, Z2
	VFMADD231PS  Z2, Z0, Z1
	ADDQ         R9, BX
	INCQ         AX
	CMPQ         AX, R10
	JLT          amrow

	VMOVUPS Z1, K1, (DI)
	ADDQ    $64, R8
	ADDQ    $64, DI
	SUBQ    $16, CX
	JG      amchunk
	VZEROUPPER
	RET
