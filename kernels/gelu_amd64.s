//go:build amd64 && !purego

#include "textflag.h"

// AVX-512 loops of the tanh form of GELU in float32, called from
// gelu_amd64.go only when hasAVX512. They do gelu.go's operations in its
// order, rounding after each (no fused multiply-add), so that they give
// the Go loops' bits.

DATA geluConst<>+0(SB)/4, $0x40fcf84f  // tanhClamp
DATA geluConst<>+4(SB)/4, $0xc0fcf84f  // -tanhClamp
DATA geluConst<>+8(SB)/4, $0x3ba059dc  // tanhA1
DATA geluConst<>+12(SB)/4, $0x3a270ded // tanhA3
DATA geluConst<>+16(SB)/4, $0x3779434a // tanhA5
DATA geluConst<>+20(SB)/4, $0x335c0041 // tanhA7
DATA geluConst<>+24(SB)/4, $0xaebd37ff // tanhA9
DATA geluConst<>+28(SB)/4, $0x2a61337e // tanhA11
DATA geluConst<>+32(SB)/4, $0xa59f25c0 // tanhA13
DATA geluConst<>+36(SB)/4, $0x3ba059dd // tanhB0
DATA geluConst<>+40(SB)/4, $0x3b14aa05 // tanhB2
DATA geluConst<>+44(SB)/4, $0x38f895d6 // tanhB4
DATA geluConst<>+48(SB)/4, $0x35a0d3d8 // tanhB6
DATA geluConst<>+52(SB)/4, $0x3d372713 // geluKappa32
DATA geluConst<>+56(SB)/4, $0x3f4c422a // geluBeta32
DATA geluConst<>+60(SB)/4, $0x3f000000 // 0.5
DATA geluConst<>+64(SB)/4, $0x3f800000 // 1
DATA geluConst<>+68(SB)/4, $0x3e095d4f // gelu3Kappa32
GLOBL geluConst<>(SB), RODATA|NOPTR, $72

// GELUCONSTS broadcasts the constants to Z12..Z29, in geluConst's order.
#define GELUCONSTS \
	VBROADCASTSS geluConst<>+0(SB), Z12; \
	VBROADCASTSS geluConst<>+4(SB), Z13; \
	VBROADCASTSS geluConst<>+8(SB), Z14; \
	VBROADCASTSS geluConst<>+12(SB), Z15; \
	VBROADCASTSS geluConst<>+16(SB), Z16; \
	VBROADCASTSS geluConst<>+20(SB), Z17; \
	VBROADCASTSS geluConst<>+24(SB), Z18; \
	VBROADCASTSS geluConst<>+28(SB), Z19; \
	VBROADCASTSS geluConst<>+32(SB), Z20; \
	VBROADCASTSS geluConst<>+36(SB), Z21; \
	VBROADCASTSS geluConst<>+40(SB), Z22; \
	VBROADCASTSS geluConst<>+44(SB), Z23; \
	VBROADCASTSS geluConst<>+48(SB), Z24; \
	VBROADCASTSS geluConst<>+52(SB), Z25; \
	VBROADCASTSS geluConst<>+56(SB), Z26; \
	VBROADCASTSS geluConst<>+60(SB), Z27; \
	VBROADCASTSS geluConst<>+64(SB), Z28; \
	VBROADCASTSS geluConst<>+68(SB), Z29

// GELUINNER sets Z2 = x² and Z7 = t = tanh32(u) from x in Z0, as
// geluInner: x2 = x·x, u = β·(x + (κ·x2)·x), u clamped to ±tanhClamp
// (VMINPS/VMAXPS return their second source, u, when it is NaN), u2 = u·u,
// p = ((((((u2·A13 + A11)·u2 + A9)·u2 + A7)·u2 + A5)·u2 + A3)·u2 + A1)·u,
// q = ((u2·B6 + B4)·u2 + B2)·u2 + B0, t = p/q. Clobbers Z3..Z6.
#define GELUINNER \
	VMULPS Z0, Z0, Z2; \
	VMULPS Z2, Z25, Z3; \
	VMULPS Z0, Z3, Z3; \
	VADDPS Z3, Z0, Z3; \
	VMULPS Z3, Z26, Z3; \
	VMINPS Z3, Z12, Z3; \
	VMAXPS Z3, Z13, Z3; \
	VMULPS Z3, Z3, Z4; \
	VMULPS Z20, Z4, Z5; \
	VADDPS Z19, Z5, Z5; \
	VMULPS Z4, Z5, Z5;  \
	VADDPS Z18, Z5, Z5; \
	VMULPS Z4, Z5, Z5;  \
	VADDPS Z17, Z5, Z5; \
	VMULPS Z4, Z5, Z5;  \
	VADDPS Z16, Z5, Z5; \
	VMULPS Z4, Z5, Z5;  \
	VADDPS Z15, Z5, Z5; \
	VMULPS Z4, Z5, Z5;  \
	VADDPS Z14, Z5, Z5; \
	VMULPS Z3, Z5, Z5; \
	VMULPS Z24, Z4, Z6; \
	VADDPS Z23, Z6, Z6; \
	VMULPS Z4, Z6, Z6;  \
	VADDPS Z22, Z6, Z6; \
	VMULPS Z4, Z6, Z6;  \
	VADDPS Z21, Z6, Z6; \
	VDIVPS Z6, Z5, Z7

// GTAILMASK sets K1 to the lanes of the last min(CX, 16) elements: all 16,
// or the first CX. Clobbers AX.
#define GTAILMASK \
	MOVL  $0xffff, AX; \
	CMPQ  CX, $16; \
	JGE   4(PC); \
	MOVL  $1, AX; \
	SHLL  CX, AX; \
	DECL  AX; \
	KMOVW AX, K1

// func sgeluTanh(dst, x unsafe.Pointer, n int)
//
// dst[i] = (0.5·x)·(1 + t).
TEXT ·sgeluTanh(SB), NOSPLIT, $0-24
	MOVQ dst+0(FP), DI
	MOVQ x+8(FP), SI
	MOVQ n+16(FP), CX
	GELUCONSTS

gfloop:
	TESTQ CX, CX
	JLE   gfdone
	GTAILMASK
	VMOVUPS.Z (SI), K1, Z0
	GELUINNER
	VMULPS  Z27, Z0, Z8 // h = 0.5*x
	VADDPS  Z28, Z7, Z9 // 1 + t
	VMULPS  Z9, Z8, Z9  // h*(1+t)
	VMOVUPS Z9, K1, (DI)
	ADDQ $64, DI
	ADDQ $64, SI
	SUBQ $16, CX
	JMP  gfloop

gfdone:
	VZEROUPPER
	RET

// func sgeluTanhGrad(dx, dy, x unsafe.Pointer, n int)
//
// dx[i] = dy[i]·(0.5·(1 + t) + ((0.5·x)·(1 − t·t))·(β·(1 + 3κ·x²))).
TEXT ·sgeluTanhGrad(SB), NOSPLIT, $0-32
	MOVQ dx+0(FP), DI
	MOVQ dy+8(FP), BX
	MOVQ x+16(FP), SI
	MOVQ n+24(FP), CX
	GELUCONSTS

gbloop:
	TESTQ CX, CX
	JLE   gbdone
	GTAILMASK
	VMOVUPS.Z (SI), K1, Z0
	VMOVUPS.Z (BX), K1, Z1
	GELUINNER
	VADDPS  Z28, Z7, Z9   // 1 + t
	VMULPS  Z9, Z27, Z9   // a = 0.5*(1+t)
	VMULPS  Z7, Z7, Z10   // t*t
	VSUBPS  Z10, Z28, Z10 // b = 1 - t*t
	VMULPS  Z2, Z29, Z11  // 3κ*x2
	VADDPS  Z28, Z11, Z11 // 1 + 3κ*x2
	VMULPS  Z11, Z26, Z11 // c = β*(1 + 3κ*x2)
	VMULPS  Z27, Z0, Z8   // h = 0.5*x
	VMULPS  Z10, Z8, Z8   // h*b
	VMULPS  Z11, Z8, Z8   // (h*b)*c
	VADDPS  Z8, Z9, Z9    // d = a + (h*b)*c
	VMULPS  Z9, Z1, Z9    // dy*d
	VMOVUPS Z9, K1, (DI)
	ADDQ $64, DI
	ADDQ $64, BX
	ADDQ $64, SI
	SUBQ $16, CX
	JMP  gbloop

gbdone:
	VZEROUPPER
	RET
