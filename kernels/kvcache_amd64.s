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

// The constants of sexpSoftmax's e^x, those of expNeg (loss.go): log2(e),
// ln 2 in two parts, and 1/i! for i = 8 down to 0.
DATA expc<>+0(SB)/8, $0x3ff71547652b82fe
DATA expc<>+8(SB)/8, $0x3fe62e42fee00000
DATA expc<>+16(SB)/8, $0x3dea39ef35793c76
DATA expc<>+24(SB)/8, $0x3efa01a01a01a01a
DATA expc<>+32(SB)/8, $0x3f2a01a01a01a01a
DATA expc<>+40(SB)/8, $0x3f56c16c16c16c17
DATA expc<>+48(SB)/8, $0x3f81111111111111
DATA expc<>+56(SB)/8, $0x3fa5555555555555
DATA expc<>+64(SB)/8, $0x3fc5555555555555
DATA expc<>+72(SB)/8, $0x3fe0000000000000
DATA expc<>+80(SB)/8, $0x3ff0000000000000
DATA expc<>+88(SB)/8, $0xc087500000000000 // -746: e^x is 0 in float32 below
GLOBL expc<>(SB), RODATA|NOPTR, $96

// func sexpSoftmax(row unsafe.Pointer, n int, max float64)
//
// The softmax of the n ≥ 1 float32 of row, in place, as softmaxRow
// computes it but eight at a time: e = e^(x - max) in float64 (x = k·ln2
// + r, e^r by its Taylor polynomial of degree 8, times 2^k, as expNeg),
// stored rounded to float32 and summed in float64 (eight partial sums),
// then each stored value times 1/sum, rounded to float32. Below -746
// (-Inf too) e is 0, as expNeg's; NaN stays NaN.
TEXT ·sexpSoftmax(SB), NOSPLIT, $0-24
	MOVQ row+0(FP), SI
	MOVQ n+8(FP), R10
	VBROADCASTSD max+16(FP), Z20
	VBROADCASTSD expc<>+0(SB), Z21
	VBROADCASTSD expc<>+8(SB), Z22
	VBROADCASTSD expc<>+16(SB), Z23
	VBROADCASTSD expc<>+24(SB), Z24
	VBROADCASTSD expc<>+32(SB), Z25
	VBROADCASTSD expc<>+40(SB), Z26
	VBROADCASTSD expc<>+48(SB), Z27
	VBROADCASTSD expc<>+56(SB), Z28
	VBROADCASTSD expc<>+64(SB), Z29
	VBROADCASTSD expc<>+72(SB), Z30
	VBROADCASTSD expc<>+80(SB), Z31
	VBROADCASTSD expc<>+88(SB), Z18
	VXORPD Z19, Z19, Z19 // the sums
	MOVQ   R10, CX
	MOVQ   SI, DI

seexp:
	MOVL $0xff, DX
	CMPQ CX, $8
	JGE  sefull
	MOVL $1, DX
	SHLL CX, DX
	DECL DX

sefull:
	KMOVW     DX, K1
	VMOVUPS.Z (DI), K1, Y0
	VCVTPS2PD Y0, Z0
	VSUBPD    Z20, Z0, Z0          // x - max
	VMAXPD    Z0, Z18, Z0          // at least -746 (-Inf too), NaN kept
	VMULPD    Z21, Z0, Z1
	VRNDSCALEPD $0, Z1, Z1         // k = round(x·log2 e)
	VFNMADD231PD Z22, Z1, Z0       // r = x - k·ln2hi
	VFNMADD231PD Z23, Z1, Z0       //     - k·ln2lo
	VMOVAPD   Z24, Z2
	VFMADD213PD Z25, Z0, Z2        // p = p·r + c
	VFMADD213PD Z26, Z0, Z2
	VFMADD213PD Z27, Z0, Z2
	VFMADD213PD Z28, Z0, Z2
	VFMADD213PD Z29, Z0, Z2
	VFMADD213PD Z30, Z0, Z2
	VFMADD213PD Z31, Z0, Z2
	VFMADD213PD Z31, Z0, Z2
	VSCALEFPD Z1, Z2, Z2           // p·2^k
	VADDPD    Z2, Z19, K1, Z19
	VCVTPD2PS Z2, Y2
	VMOVUPS   Y2, K1, (DI)
	ADDQ      $32, DI
	SUBQ      $8, CX
	JG        seexp

	// 1/Σ in every lane.
	VEXTRACTF64X4 $1, Z19, Y0
	VADDPD        Y0, Y19, Y0
	VEXTRACTF128  $1, Y0, X1
	VADDPD        X1, X0, X0
	VHADDPD       X0, X0, X0
	VDIVSD        X0, X31, X0
	VBROADCASTSD  X0, Z19
	MOVQ          R10, CX

senorm:
	MOVL $0xff, DX
	CMPQ CX, $8
	JGE  senfull
	MOVL $1, DX
	SHLL CX, DX
	DECL DX

senfull:
	KMOVW     DX, K1
	VMOVUPS.Z (SI), K1, Y0
	VCVTPS2PD Y0, Z0
	VMULPD    Z19, Z0, Z0
	VCVTPD2PS Z0, Y0
	VMOVUPS   Y0, K1, (SI)
	ADDQ      $32, SI
	SUBQ      $8, CX
	JG        senorm
	VZEROUPPER
	RET
