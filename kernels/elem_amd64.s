//go:build amd64 && !purego

#include "textflag.h"

// AVX-512 float32 loops for elementwise kernels, called from elem_amd64.go
// only when hasAVX512. Each takes n elements; the last partial vector is
// loaded and stored through a mask.

// TAILMASK sets K1 to the lanes of the last min(CX, 16) elements: all 16,
// or the first CX. Clobbers AX.
#define TAILMASK \
	MOVL  $0xffff, AX; \
	CMPQ  CX, $16; \
	JGE   4(PC); \
	MOVL  $1, AX; \
	SHLL  CX, AX; \
	DECL  AX; \
	KMOVW AX, K1

// func sreluGrad(dx, dy, x unsafe.Pointer, n int)
//
// dx[i] = dy[i] where x[i] > 0, else 0 (NaN in x gives 0, as torch's
// threshold_backward).
TEXT ·sreluGrad(SB), NOSPLIT, $0-32
	MOVQ dx+0(FP), DI
	MOVQ dy+8(FP), SI
	MOVQ x+16(FP), DX
	MOVQ n+24(FP), CX
	VPXORD Z0, Z0, Z0

rgloop:
	TESTQ CX, CX
	JLE   rgdone
	TAILMASK
	VMOVUPS.Z (DX), K1, Z1
	VCMPPS    $0x1e, Z0, Z1, K1, K2 // x > 0 (ordered, quiet), within K1
	VMOVUPS.Z (SI), K2, Z2
	VMOVUPS   Z2, K1, (DI)
	ADDQ $64, DI
	ADDQ $64, SI
	ADDQ $64, DX
	SUBQ $16, CX
	JMP  rgloop

rgdone:
	VZEROUPPER
	RET

// func saxpy(dst, x, y unsafe.Pointer, n int, a float32)
//
// dst[i] = x[i] + a·y[i], rounded after the product as the Go loop it
// replaces (no fused multiply-add).
TEXT ·saxpy(SB), NOSPLIT, $0-36
	MOVQ dst+0(FP), DI
	MOVQ x+8(FP), SI
	MOVQ y+16(FP), DX
	MOVQ n+24(FP), CX
	VBROADCASTSS a+32(FP), Z0

axloop64:
	CMPQ CX, $64
	JLT  axloop
	VMULPS (DX), Z0, Z1
	VMULPS 64(DX), Z0, Z2
	VMULPS 128(DX), Z0, Z3
	VMULPS 192(DX), Z0, Z4
	VADDPS (SI), Z1, Z1
	VADDPS 64(SI), Z2, Z2
	VADDPS 128(SI), Z3, Z3
	VADDPS 192(SI), Z4, Z4
	VMOVUPS Z1, (DI)
	VMOVUPS Z2, 64(DI)
	VMOVUPS Z3, 128(DI)
	VMOVUPS Z4, 192(DI)
	ADDQ $256, DI
	ADDQ $256, SI
	ADDQ $256, DX
	SUBQ $64, CX
	JMP  axloop64

axloop:
	TESTQ CX, CX
	JLE   axdone
	TAILMASK
	VMOVUPS.Z (SI), K1, Z1
	VMOVUPS.Z (DX), K1, Z2
	VMULPS Z2, Z0, Z2
	VADDPS Z2, Z1, Z1
	VMOVUPS Z1, K1, (DI)
	ADDQ $64, DI
	ADDQ $64, SI
	ADDQ $64, DX
	SUBQ $16, CX
	JMP  axloop

axdone:
	VZEROUPPER
	RET

// func scolSum(dst, src unsafe.Pointer, rows, w int)
//
// dst[j] = Σ_r src[r·w + j] for j < w: the column sums of a rows×w matrix,
// sixteen columns at a time in one register, rows unrolled by two.
TEXT ·scolSum(SB), NOSPLIT, $0-32
	MOVQ dst+0(FP), DI
	MOVQ src+8(FP), SI
	MOVQ w+24(FP), CX
	MOVQ CX, R8
	SHLQ $2, R8 // row stride in bytes

csblock:
	TESTQ CX, CX
	JLE   csdone
	TAILMASK
	MOVQ  rows+16(FP), BX
	MOVQ  SI, DX
	VPXORD Z0, Z0, Z0
	VPXORD Z1, Z1, Z1

csrow2:
	CMPQ BX, $2
	JLT  csrow1
	VMOVUPS.Z (DX), K1, Z2
	VADDPS    Z2, Z0, Z0
	VMOVUPS.Z (DX)(R8*1), K1, Z3
	VADDPS    Z3, Z1, Z1
	LEAQ (DX)(R8*2), DX
	SUBQ $2, BX
	JMP  csrow2

csrow1:
	TESTQ BX, BX
	JZ    csstore
	VMOVUPS.Z (DX), K1, Z2
	VADDPS    Z2, Z0, Z0

csstore:
	VADDPS  Z1, Z0, Z0
	VMOVUPS Z0, K1, (DI)
	ADDQ $64, DI
	ADDQ $64, SI
	SUBQ $16, CX
	JMP  csblock

csdone:
	VZEROUPPER
	RET

// func srelu(dst, x unsafe.Pointer, n int)
//
// dst[i] = max(x[i], 0), NaN kept (VMAXPS returns its second source, x,
// when either is NaN).
TEXT ·srelu(SB), NOSPLIT, $0-24
	MOVQ dst+0(FP), DI
	MOVQ x+8(FP), SI
	MOVQ n+16(FP), CX
	VPXORD Z0, Z0, Z0

rlloop:
	TESTQ CX, CX
	JLE   rldone
	TAILMASK
	VMOVUPS.Z (SI), K1, Z1
	VMAXPS    Z1, Z0, Z1
	VMOVUPS   Z1, K1, (DI)
	ADDQ $64, DI
	ADDQ $64, SI
	SUBQ $16, CX
	JMP  rlloop

rldone:
	VZEROUPPER
	RET
