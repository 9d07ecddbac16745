//go:build amd64 && !purego

#include "textflag.h"

// The int8 tiles of qgemm.go with AVX-512 VNNI: VPDPBUSD multiplies 64
// unsigned bytes of a row of A by 64 signed bytes of a row of B and adds
// each group of four products to a 32-bit lane, exactly. The last k%64
// bytes load under a mask (AVX-512 BW), as zeros past the end.

// HSUM sums the 16 lanes of z into the int32 at off(DI).
#define HSUM(z, y, off) \
	VEXTRACTI64X4 $1, z, Y24; \
	VPADDD        Y24, y, Y25; \
	VEXTRACTI32X4 $1, Y25, X26; \
	VPADDD        X26, X25, X25; \
	VPSHUFD       $0x4E, X25, X26; \
	VPADDD        X26, X25, X25; \
	VPSHUFD       $0xB1, X25, X26; \
	VPADDD        X26, X25, X25; \
	VMOVD         X25, off(DI)

// func qdot4x4VNNI(k int, a0, a1, a2, a3, b0, b1, b2, b3 unsafe.Pointer, acc *[16]int32)
TEXT ·qdot4x4VNNI(SB), NOSPLIT, $0-80
	MOVQ k+0(FP), CX
	MOVQ a0+8(FP), R8
	MOVQ a1+16(FP), R9
	MOVQ a2+24(FP), R10
	MOVQ a3+32(FP), R11
	MOVQ b0+40(FP), R12
	MOVQ b1+48(FP), R13
	MOVQ b2+56(FP), R14
	MOVQ b3+64(FP), R15
	MOVQ acc+72(FP), DI
	VPXORD Z0, Z0, Z0
	VPXORD Z1, Z1, Z1
	VPXORD Z2, Z2, Z2
	VPXORD Z3, Z3, Z3
	VPXORD Z4, Z4, Z4
	VPXORD Z5, Z5, Z5
	VPXORD Z6, Z6, Z6
	VPXORD Z7, Z7, Z7
	VPXORD Z8, Z8, Z8
	VPXORD Z9, Z9, Z9
	VPXORD Z10, Z10, Z10
	VPXORD Z11, Z11, Z11
	VPXORD Z12, Z12, Z12
	VPXORD Z13, Z13, Z13
	VPXORD Z14, Z14, Z14
	VPXORD Z15, Z15, Z15
	XORQ AX, AX

loop4:
	CMPQ CX, $64
	JLT  tail4
	VMOVDQU8 (R8)(AX*1), Z16
	VMOVDQU8 (R9)(AX*1), Z17
	VMOVDQU8 (R10)(AX*1), Z18
	VMOVDQU8 (R11)(AX*1), Z19
	VMOVDQU8 (R12)(AX*1), Z20
	VMOVDQU8 (R13)(AX*1), Z21
	VMOVDQU8 (R14)(AX*1), Z22
	VMOVDQU8 (R15)(AX*1), Z23
	ADDQ $64, AX
	SUBQ $64, CX

dot4:
	VPDPBUSD Z20, Z16, Z0
	VPDPBUSD Z21, Z16, Z1
	VPDPBUSD Z22, Z16, Z2
	VPDPBUSD Z23, Z16, Z3
	VPDPBUSD Z20, Z17, Z4
	VPDPBUSD Z21, Z17, Z5
	VPDPBUSD Z22, Z17, Z6
	VPDPBUSD Z23, Z17, Z7
	VPDPBUSD Z20, Z18, Z8
	VPDPBUSD Z21, Z18, Z9
	VPDPBUSD Z22, Z18, Z10
	VPDPBUSD Z23, Z18, Z11
	VPDPBUSD Z20, Z19, Z12
	VPDPBUSD Z21, Z19, Z13
	VPDPBUSD Z22, Z19, Z14
	VPDPBUSD Z23, Z19, Z15
	JMP      loop4

tail4:
	TESTQ CX, CX
	JZ    done4
	MOVQ  $-1, DX
	SHLQ  CX, DX
	NOTQ  DX
	KMOVQ DX, K1
	VMOVDQU8.Z (R8)(AX*1), K1, Z16
	VMOVDQU8.Z (R9)(AX*1), K1, Z17
	VMOVDQU8.Z (R10)(AX*1), K1, Z18
	VMOVDQU8.Z (R11)(AX*1), K1, Z19
	VMOVDQU8.Z (R12)(AX*1), K1, Z20
	VMOVDQU8.Z (R13)(AX*1), K1, Z21
	VMOVDQU8.Z (R14)(AX*1), K1, Z22
	VMOVDQU8.Z (R15)(AX*1), K1, Z23
	XORQ  CX, CX
	JMP   dot4

done4:
	HSUM(Z0, Y0, 0)
	HSUM(Z1, Y1, 4)
	HSUM(Z2, Y2, 8)
	HSUM(Z3, Y3, 12)
	HSUM(Z4, Y4, 16)
	HSUM(Z5, Y5, 20)
	HSUM(Z6, Y6, 24)
	HSUM(Z7, Y7, 28)
	HSUM(Z8, Y8, 32)
	HSUM(Z9, Y9, 36)
	HSUM(Z10, Y10, 40)
	HSUM(Z11, Y11, 44)
	HSUM(Z12, Y12, 48)
	HSUM(Z13, Y13, 52)
	HSUM(Z14, Y14, 56)
	HSUM(Z15, Y15, 60)
	VZEROUPPER
	RET

// func qdot1x4VNNI(k int, a0, b0, b1, b2, b3 unsafe.Pointer, acc *[16]int32)
// sets acc[0:4], one row of A against four of B.
TEXT ·qdot1x4VNNI(SB), NOSPLIT, $0-56
	MOVQ k+0(FP), CX
	MOVQ a0+8(FP), R8
	MOVQ b0+16(FP), R12
	MOVQ b1+24(FP), R13
	MOVQ b2+32(FP), R14
	MOVQ b3+40(FP), R15
	MOVQ acc+48(FP), DI
	VPXORD Z0, Z0, Z0
	VPXORD Z1, Z1, Z1
	VPXORD Z2, Z2, Z2
	VPXORD Z3, Z3, Z3
	XORQ AX, AX

loop1:
	CMPQ CX, $64
	JLT  tail1
	VMOVDQU8 (R8)(AX*1), Z16
	VMOVDQU8 (R12)(AX*1), Z20
	VMOVDQU8 (R13)(AX*1), Z21
	VMOVDQU8 (R14)(AX*1), Z22
	VMOVDQU8 (R15)(AX*1), Z23
	ADDQ $64, AX
	SUBQ $64, CX

dot1:
	VPDPBUSD Z20, Z16, Z0
	VPDPBUSD Z21, Z16, Z1
	VPDPBUSD Z22, Z16, Z2
	VPDPBUSD Z23, Z16, Z3
	JMP      loop1

tail1:
	TESTQ CX, CX
	JZ    done1
	MOVQ  $-1, DX
	SHLQ  CX, DX
	NOTQ  DX
	KMOVQ DX, K1
	VMOVDQU8.Z (R8)(AX*1), K1, Z16
	VMOVDQU8.Z (R12)(AX*1), K1, Z20
	VMOVDQU8.Z (R13)(AX*1), K1, Z21
	VMOVDQU8.Z (R14)(AX*1), K1, Z22
	VMOVDQU8.Z (R15)(AX*1), K1, Z23
	XORQ  CX, CX
	JMP   dot1

done1:
	HSUM(Z0, Y0, 0)
	HSUM(Z1, Y1, 4)
	HSUM(Z2, Y2, 8)
	HSUM(Z3, Y3, 12)
	VZEROUPPER
	RET

// func quantizeAVX512(dst *uint8, x *float32, n int, inv, zp float32)
// stores clamp(x·inv + zp, 0, 255) rounded half to even (VCVTPS2DQ under
// the default MXCSR), as Quantize's loop does: 64 at a time in four
// independent chains, then 16, then the rest under a mask.
TEXT ·quantizeAVX512(SB), NOSPLIT, $0-32
	MOVQ         dst+0(FP), DI
	MOVQ         x+8(FP), SI
	MOVQ         n+16(FP), CX
	VBROADCASTSS inv+24(FP), Z1
	VBROADCASTSS zp+28(FP), Z2
	VPXORD       Z3, Z3, Z3
	MOVL         $0x437f0000, AX // 255.0
	VPBROADCASTD AX, Z4

q4loop:
	CMPQ      CX, $64
	JLT       qloop
	VMULPS    0(SI), Z1, Z5
	VMULPS    64(SI), Z1, Z6
	VMULPS    128(SI), Z1, Z7
	VMULPS    192(SI), Z1, Z8
	VADDPS    Z2, Z5, Z5
	VADDPS    Z2, Z6, Z6
	VADDPS    Z2, Z7, Z7
	VADDPS    Z2, Z8, Z8
	VMAXPS    Z3, Z5, Z5
	VMAXPS    Z3, Z6, Z6
	VMAXPS    Z3, Z7, Z7
	VMAXPS    Z3, Z8, Z8
	VMINPS    Z4, Z5, Z5
	VMINPS    Z4, Z6, Z6
	VMINPS    Z4, Z7, Z7
	VMINPS    Z4, Z8, Z8
	VCVTPS2DQ Z5, Z5
	VCVTPS2DQ Z6, Z6
	VCVTPS2DQ Z7, Z7
	VCVTPS2DQ Z8, Z8
	VPMOVDB   Z5, 0(DI)
	VPMOVDB   Z6, 16(DI)
	VPMOVDB   Z7, 32(DI)
	VPMOVDB   Z8, 48(DI)
	ADDQ      $256, SI
	ADDQ      $64, DI
	SUBQ      $64, CX
	JMP       q4loop

qloop:
	CMPQ      CX, $16
	JLT       qtail
	VMULPS    (SI), Z1, Z0
	VADDPS    Z2, Z0, Z0
	VMAXPS    Z3, Z0, Z0
	VMINPS    Z4, Z0, Z0
	VCVTPS2DQ Z0, Z0
	VPMOVDB   Z0, (DI)
	ADDQ      $64, SI
	ADDQ      $16, DI
	SUBQ      $16, CX
	JMP       qloop

qtail:
	TESTQ     CX, CX
	JZ        qdone
	MOVQ      $1, DX
	SHLQ      CX, DX
	DECQ      DX
	KMOVW     DX, K1
	VMOVUPS.Z (SI), K1, Z0
	VMULPS    Z0, Z1, Z0
	VADDPS    Z2, Z0, Z0
	VMAXPS    Z3, Z0, Z0
	VMINPS    Z4, Z0, Z0
	VCVTPS2DQ Z0, Z0
	VPMOVDB   Z0, K1, (DI)

qdone:
	VZEROUPPER
	RET

// The AVX2 int8 tile: VPMADDUBSW would saturate on u8×s8 pairs, so the
// bytes are widened to 16 bits (VPMOVZXBW, VPMOVSXBW) and multiplied with
// VPMADDWD, whose pairs of products sum exactly into 32 bits. k is a
// multiple of 16; the caller adds the rest.

// HSUM8 sums the 8 lanes of y into the int32 at off(DI).
#define HSUM8(y, x, off) \
	VEXTRACTI128 $1, y, X14; \
	VPADDD       X14, x, X14; \
	VPSHUFD      $0x4E, X14, X15; \
	VPADDD       X15, X14, X14; \
	VPSHUFD      $0xB1, X14, X15; \
	VPADDD       X15, X14, X14; \
	VMOVD        X14, off(DI)

// func qdot2x4AVX2(k int, a0, a1, b0, b1, b2, b3 unsafe.Pointer, acc *[16]int32)
// sets acc[0:4] and acc[4:8]: two rows of A against four of B.
TEXT ·qdot2x4AVX2(SB), NOSPLIT, $0-64
	MOVQ  k+0(FP), CX
	MOVQ  a0+8(FP), R8
	MOVQ  a1+16(FP), R9
	MOVQ  b0+24(FP), R12
	MOVQ  b1+32(FP), R13
	MOVQ  b2+40(FP), R14
	MOVQ  b3+48(FP), R15
	MOVQ  acc+56(FP), DI
	VPXOR Y0, Y0, Y0
	VPXOR Y1, Y1, Y1
	VPXOR Y2, Y2, Y2
	VPXOR Y3, Y3, Y3
	VPXOR Y4, Y4, Y4
	VPXOR Y5, Y5, Y5
	VPXOR Y6, Y6, Y6
	VPXOR Y7, Y7, Y7
	XORQ  AX, AX
	TESTQ CX, CX
	JZ    a2done

a2loop:
	VPMOVZXBW (R8)(AX*1), Y8
	VPMOVZXBW (R9)(AX*1), Y9
	VPMOVSXBW (R12)(AX*1), Y10
	VPMADDWD  Y10, Y8, Y11
	VPADDD    Y11, Y0, Y0
	VPMADDWD  Y10, Y9, Y11
	VPADDD    Y11, Y4, Y4
	VPMOVSXBW (R13)(AX*1), Y10
	VPMADDWD  Y10, Y8, Y11
	VPADDD    Y11, Y1, Y1
	VPMADDWD  Y10, Y9, Y11
	VPADDD    Y11, Y5, Y5
	VPMOVSXBW (R14)(AX*1), Y10
	VPMADDWD  Y10, Y8, Y11
	VPADDD    Y11, Y2, Y2
	VPMADDWD  Y10, Y9, Y11
	VPADDD    Y11, Y6, Y6
	VPMOVSXBW (R15)(AX*1), Y10
	VPMADDWD  Y10, Y8, Y11
	VPADDD    Y11, Y3, Y3
	VPMADDWD  Y10, Y9, Y11
	VPADDD    Y11, Y7, Y7
	ADDQ      $16, AX
	SUBQ      $16, CX
	JNZ       a2loop

a2done:
	HSUM8(Y0, X0, 0)
	HSUM8(Y1, X1, 4)
	HSUM8(Y2, X2, 8)
	HSUM8(Y3, X3, 12)
	HSUM8(Y4, X4, 16)
	HSUM8(Y5, X5, 20)
	HSUM8(Y6, X6, 24)
	HSUM8(Y7, X7, 28)
	VZEROUPPER
	RET

// func requantAVX512(dst *uint8, acc *int32, n int, bias int32, mult, zp, lo float32)
// sets dst[i] to requant(acc[i]+bias, mult, zp, lo) of qgemm.go.
TEXT ·requantAVX512(SB), NOSPLIT, $0-40
	MOVQ         dst+0(FP), DI
	MOVQ         acc+8(FP), SI
	MOVQ         n+16(FP), CX
	MOVL         bias+24(FP), AX
	VPBROADCASTD AX, Z5
	VBROADCASTSS mult+28(FP), Z1
	VBROADCASTSS zp+32(FP), Z2
	VBROADCASTSS lo+36(FP), Z3
	MOVL         $0x437f0000, AX // 255.0
	VPBROADCASTD AX, Z4

rloop:
	CMPQ      CX, $16
	JLT       rtail
	VPADDD    (SI), Z5, Z0
	VCVTDQ2PS Z0, Z0
	VMULPS    Z1, Z0, Z0
	VADDPS    Z2, Z0, Z0
	VMAXPS    Z3, Z0, Z0
	VMINPS    Z4, Z0, Z0
	VCVTPS2DQ Z0, Z0
	VPMOVDB   Z0, (DI)
	ADDQ      $64, SI
	ADDQ      $16, DI
	SUBQ      $16, CX
	JMP       rloop

rtail:
	TESTQ     CX, CX
	JZ        rdone
	MOVQ      $1, DX
	SHLQ      CX, DX
	DECQ      DX
	KMOVW     DX, K1
	VMOVDQU32.Z (SI), K1, Z0
	VPADDD    Z0, Z5, Z0
	VCVTDQ2PS Z0, Z0
	VMULPS    Z1, Z0, Z0
	VADDPS    Z2, Z0, Z0
	VMAXPS    Z3, Z0, Z0
	VMINPS    Z4, Z0, Z0
	VCVTPS2DQ Z0, Z0
	VPMOVDB   Z0, K1, (DI)

rdone:
	VZEROUPPER
	RET

// The int8 Linear kernels on packed weights (QPackLinear): for each run of
// four inputs t, the group's blocks of 16 outputs sit at w + t·step + o
// (o = 0, o1, o2, o3) as [16][4] bytes; four input bytes of a row
// broadcast to every lane, VPDPBUSD adds their products with a block's
// weights into the block's 16 int32 sums. acc is [6][64]int32: row r,
// block b at byte r·256 + b·64.

// func qmk6VNNI(k4 int, a0, a1, a2, a3, a4, a5, w unsafe.Pointer, step, o1, o2, o3 int, acc *[384]int32)
// six rows against four blocks: 24 accumulators.
TEXT ·qmk6VNNI(SB), NOSPLIT, $0-104
	MOVQ k4+0(FP), CX
	MOVQ a0+8(FP), R8
	MOVQ a1+16(FP), R9
	MOVQ a2+24(FP), R10
	MOVQ a3+32(FP), R11
	MOVQ a4+40(FP), SI
	MOVQ a5+48(FP), DX
	MOVQ w+56(FP), R12
	MOVQ step+64(FP), AX
	MOVQ o1+72(FP), R13
	MOVQ o2+80(FP), R14
	MOVQ o3+88(FP), R15
	VPXORD Z0, Z0, Z0
	VPXORD Z1, Z1, Z1
	VPXORD Z2, Z2, Z2
	VPXORD Z3, Z3, Z3
	VPXORD Z4, Z4, Z4
	VPXORD Z5, Z5, Z5
	VPXORD Z6, Z6, Z6
	VPXORD Z7, Z7, Z7
	VPXORD Z8, Z8, Z8
	VPXORD Z9, Z9, Z9
	VPXORD Z10, Z10, Z10
	VPXORD Z11, Z11, Z11
	VPXORD Z12, Z12, Z12
	VPXORD Z13, Z13, Z13
	VPXORD Z14, Z14, Z14
	VPXORD Z15, Z15, Z15
	VPXORD Z16, Z16, Z16
	VPXORD Z17, Z17, Z17
	VPXORD Z18, Z18, Z18
	VPXORD Z19, Z19, Z19
	VPXORD Z20, Z20, Z20
	VPXORD Z21, Z21, Z21
	VPXORD Z22, Z22, Z22
	VPXORD Z23, Z23, Z23
	XORQ  BX, BX
	TESTQ CX, CX
	JZ    m6done

m6loop:
	VMOVDQU32 (R12), Z24
	VMOVDQU32 (R12)(R13*1), Z25
	VMOVDQU32 (R12)(R14*1), Z26
	VMOVDQU32 (R12)(R15*1), Z27
	VPBROADCASTD (R8)(BX*1), Z28
	VPDPBUSD     Z24, Z28, Z0
	VPDPBUSD     Z25, Z28, Z1
	VPDPBUSD     Z26, Z28, Z2
	VPDPBUSD     Z27, Z28, Z3
	VPBROADCASTD (R9)(BX*1), Z29
	VPDPBUSD     Z24, Z29, Z4
	VPDPBUSD     Z25, Z29, Z5
	VPDPBUSD     Z26, Z29, Z6
	VPDPBUSD     Z27, Z29, Z7
	VPBROADCASTD (R10)(BX*1), Z28
	VPDPBUSD     Z24, Z28, Z8
	VPDPBUSD     Z25, Z28, Z9
	VPDPBUSD     Z26, Z28, Z10
	VPDPBUSD     Z27, Z28, Z11
	VPBROADCASTD (R11)(BX*1), Z29
	VPDPBUSD     Z24, Z29, Z12
	VPDPBUSD     Z25, Z29, Z13
	VPDPBUSD     Z26, Z29, Z14
	VPDPBUSD     Z27, Z29, Z15
	VPBROADCASTD (SI)(BX*1), Z28
	VPDPBUSD     Z24, Z28, Z16
	VPDPBUSD     Z25, Z28, Z17
	VPDPBUSD     Z26, Z28, Z18
	VPDPBUSD     Z27, Z28, Z19
	VPBROADCASTD (DX)(BX*1), Z29
	VPDPBUSD     Z24, Z29, Z20
	VPDPBUSD     Z25, Z29, Z21
	VPDPBUSD     Z26, Z29, Z22
	VPDPBUSD     Z27, Z29, Z23
	ADDQ $4, BX
	ADDQ AX, R12
	DECQ CX
	JNZ  m6loop

m6done:
	MOVQ acc+96(FP), DI
	VMOVDQU32 Z0, 0(DI)
	VMOVDQU32 Z1, 64(DI)
	VMOVDQU32 Z2, 128(DI)
	VMOVDQU32 Z3, 192(DI)
	VMOVDQU32 Z4, 256(DI)
	VMOVDQU32 Z5, 320(DI)
	VMOVDQU32 Z6, 384(DI)
	VMOVDQU32 Z7, 448(DI)
	VMOVDQU32 Z8, 512(DI)
	VMOVDQU32 Z9, 576(DI)
	VMOVDQU32 Z10, 640(DI)
	VMOVDQU32 Z11, 704(DI)
	VMOVDQU32 Z12, 768(DI)
	VMOVDQU32 Z13, 832(DI)
	VMOVDQU32 Z14, 896(DI)
	VMOVDQU32 Z15, 960(DI)
	VMOVDQU32 Z16, 1024(DI)
	VMOVDQU32 Z17, 1088(DI)
	VMOVDQU32 Z18, 1152(DI)
	VMOVDQU32 Z19, 1216(DI)
	VMOVDQU32 Z20, 1280(DI)
	VMOVDQU32 Z21, 1344(DI)
	VMOVDQU32 Z22, 1408(DI)
	VMOVDQU32 Z23, 1472(DI)
	VZEROUPPER
	RET

// func qmk1VNNI(k4 int, a0, w unsafe.Pointer, step, o1, o2, o3 int, acc *[384]int32)
// one row against four blocks, the even and the odd runs of four inputs
// in two sets of accumulators so that eight chains of VPDPBUSD overlap.
TEXT ·qmk1VNNI(SB), NOSPLIT, $0-64
	MOVQ k4+0(FP), CX
	MOVQ a0+8(FP), R8
	MOVQ w+16(FP), R12
	MOVQ step+24(FP), AX
	MOVQ o1+32(FP), R13
	MOVQ o2+40(FP), R14
	MOVQ o3+48(FP), R15
	VPXORD Z0, Z0, Z0
	VPXORD Z1, Z1, Z1
	VPXORD Z2, Z2, Z2
	VPXORD Z3, Z3, Z3
	VPXORD Z4, Z4, Z4
	VPXORD Z5, Z5, Z5
	VPXORD Z6, Z6, Z6
	VPXORD Z7, Z7, Z7

m1loop:
	CMPQ         CX, $2
	JLT          m1tail
	VPBROADCASTD (R8), Z28
	VPBROADCASTD 4(R8), Z29
	VPDPBUSD     (R12), Z28, Z0
	VPDPBUSD     (R12)(R13*1), Z28, Z1
	VPDPBUSD     (R12)(R14*1), Z28, Z2
	VPDPBUSD     (R12)(R15*1), Z28, Z3
	ADDQ         AX, R12
	VPDPBUSD     (R12), Z29, Z4
	VPDPBUSD     (R12)(R13*1), Z29, Z5
	VPDPBUSD     (R12)(R14*1), Z29, Z6
	VPDPBUSD     (R12)(R15*1), Z29, Z7
	ADDQ         AX, R12
	ADDQ         $8, R8
	SUBQ         $2, CX
	JMP          m1loop

m1tail:
	TESTQ        CX, CX
	JZ           m1done
	VPBROADCASTD (R8), Z28
	VPDPBUSD     (R12), Z28, Z0
	VPDPBUSD     (R12)(R13*1), Z28, Z1
	VPDPBUSD     (R12)(R14*1), Z28, Z2
	VPDPBUSD     (R12)(R15*1), Z28, Z3

m1done:
	VPADDD    Z4, Z0, Z0
	VPADDD    Z5, Z1, Z1
	VPADDD    Z6, Z2, Z2
	VPADDD    Z7, Z3, Z3
	MOVQ      acc+56(FP), DI
	VMOVDQU32 Z0, 0(DI)
	VMOVDQU32 Z1, 64(DI)
	VMOVDQU32 Z2, 128(DI)
	VMOVDQU32 Z3, 192(DI)
	VZEROUPPER
	RET

// func requantColsAVX512(dst *uint8, acc *int32, n int, bias *int32, mult *float32, zp, lo float32)
// sets dst[i] to requant(acc[i]+bias[i], mult[i], zp, lo) of qgemm.go.
TEXT ·requantColsAVX512(SB), NOSPLIT, $0-48
	MOVQ         dst+0(FP), DI
	MOVQ         acc+8(FP), SI
	MOVQ         n+16(FP), CX
	MOVQ         bias+24(FP), R8
	MOVQ         mult+32(FP), R9
	VBROADCASTSS zp+40(FP), Z2
	VBROADCASTSS lo+44(FP), Z3
	MOVL         $0x437f0000, AX // 255.0
	VPBROADCASTD AX, Z4

rcloop:
	CMPQ      CX, $16
	JLT       rctail
	VMOVDQU32 (SI), Z0
	VPADDD    (R8), Z0, Z0
	VCVTDQ2PS Z0, Z0
	VMULPS    (R9), Z0, Z0
	VADDPS    Z2, Z0, Z0
	VMAXPS    Z3, Z0, Z0
	VMINPS    Z4, Z0, Z0
	VCVTPS2DQ Z0, Z0
	VPMOVDB   Z0, (DI)
	ADDQ      $64, SI
	ADDQ      $64, R8
	ADDQ      $64, R9
	ADDQ      $16, DI
	SUBQ      $16, CX
	JMP       rcloop

rctail:
	TESTQ       CX, CX
	JZ          rcdone
	MOVQ        $1, DX
	SHLQ        CX, DX
	DECQ        DX
	KMOVW       DX, K1
	VMOVDQU32.Z (SI), K1, Z0
	VMOVDQU32.Z (R8), K1, Z1
	VPADDD      Z1, Z0, Z0
	VCVTDQ2PS   Z0, Z0
	VMOVUPS.Z   (R9), K1, Z1
	VMULPS      Z1, Z0, Z0
	VADDPS      Z2, Z0, Z0
	VMAXPS      Z3, Z0, Z0
	VMINPS      Z4, Z0, Z0
	VCVTPS2DQ   Z0, Z0
	VPMOVDB     Z0, K1, (DI)

rcdone:
	VZEROUPPER
	RET

// func qmultsAVX512(dst *float32, wscale *float32, n int, inScale, outScale float64)
// sets dst[i] to float32(inScale·float64(wscale[i])/outScale), eight at a
// time in float64, each operation rounded as Go rounds it; n is a
// multiple of 8.
TEXT ·qmultsAVX512(SB), NOSPLIT, $0-40
	MOVQ         dst+0(FP), DI
	MOVQ         wscale+8(FP), SI
	MOVQ         n+16(FP), CX
	VBROADCASTSD inScale+24(FP), Z1
	VBROADCASTSD outScale+32(FP), Z2

mloop:
	VCVTPS2PD (SI), Z0
	VMULPD    Z1, Z0, Z0
	VDIVPD    Z2, Z0, Z0
	VCVTPD2PS Z0, Y0
	VMOVUPS   Y0, (DI)
	ADDQ      $32, SI
	ADDQ      $32, DI
	SUBQ      $8, CX
	JNZ       mloop
	VZEROUPPER
	RET

// func qmk1AVX2(k4 int, a0, w unsafe.Pointer, step, o0, o1 int, acc *[32]int32)
// one row against the blocks at offsets o0 and o1 of each run of four
// inputs (packed as for the VNNI kernels) with AVX2: the four input bytes
// widened to words and broadcast, each block's 16 columns' weights widened
// four columns at a time (VPMOVSXBW), VPMADDWD summing the products in
// pairs exactly; a pair of lanes per column, added at the end (VPHADDD,
// VPERMQ putting the columns in order).
TEXT ·qmk1AVX2(SB), NOSPLIT, $0-56
	MOVQ  k4+0(FP), CX
	MOVQ  a0+8(FP), R8
	MOVQ  w+16(FP), R12
	MOVQ  step+24(FP), AX
	MOVQ  o0+32(FP), R13
	MOVQ  o1+40(FP), R14
	ADDQ  R12, R13
	ADDQ  R12, R14
	VPXOR Y0, Y0, Y0
	VPXOR Y1, Y1, Y1
	VPXOR Y2, Y2, Y2
	VPXOR Y3, Y3, Y3
	VPXOR Y4, Y4, Y4
	VPXOR Y5, Y5, Y5
	VPXOR Y6, Y6, Y6
	VPXOR Y7, Y7, Y7

a1loop:
	VPBROADCASTD (R8), X8
	VPMOVZXBW    X8, Y8
	VPMOVSXBW    0(R13), Y9
	VPMADDWD     Y9, Y8, Y9
	VPADDD       Y9, Y0, Y0
	VPMOVSXBW    16(R13), Y10
	VPMADDWD     Y10, Y8, Y10
	VPADDD       Y10, Y1, Y1
	VPMOVSXBW    32(R13), Y11
	VPMADDWD     Y11, Y8, Y11
	VPADDD       Y11, Y2, Y2
	VPMOVSXBW    48(R13), Y12
	VPMADDWD     Y12, Y8, Y12
	VPADDD       Y12, Y3, Y3
	VPMOVSXBW    0(R14), Y9
	VPMADDWD     Y9, Y8, Y9
	VPADDD       Y9, Y4, Y4
	VPMOVSXBW    16(R14), Y10
	VPMADDWD     Y10, Y8, Y10
	VPADDD       Y10, Y5, Y5
	VPMOVSXBW    32(R14), Y11
	VPMADDWD     Y11, Y8, Y11
	VPADDD       Y11, Y6, Y6
	VPMOVSXBW    48(R14), Y12
	VPMADDWD     Y12, Y8, Y12
	VPADDD       Y12, Y7, Y7
	ADDQ         $4, R8
	ADDQ         AX, R13
	ADDQ         AX, R14
	DECQ         CX
	JNZ          a1loop

	MOVQ    acc+48(FP), DI
	VPHADDD Y1, Y0, Y0
	VPERMQ  $0xD8, Y0, Y0
	VMOVDQU Y0, 0(DI)
	VPHADDD Y3, Y2, Y2
	VPERMQ  $0xD8, Y2, Y2
	VMOVDQU Y2, 32(DI)
	VPHADDD Y5, Y4, Y4
	VPERMQ  $0xD8, Y4, Y4
	VMOVDQU Y4, 64(DI)
	VPHADDD Y7, Y6, Y6
	VPERMQ  $0xD8, Y6, Y6
	VMOVDQU Y6, 96(DI)
	VZEROUPPER
	RET

// func quantizeAVX2(dst *uint8, x *float32, n int, inv, zp float32)
// is quantizeAVX512 with AVX2, eight at a time (n a multiple of 8, not
// 0): the clamped dwords packed to words and bytes with saturation, which
// leaves them as they are.
TEXT ·quantizeAVX2(SB), NOSPLIT, $0-32
	MOVQ         dst+0(FP), DI
	MOVQ         x+8(FP), SI
	MOVQ         n+16(FP), CX
	VBROADCASTSS inv+24(FP), Y1
	VBROADCASTSS zp+28(FP), Y2
	VPXOR        Y3, Y3, Y3
	MOVL         $0x437f0000, AX // 255.0
	MOVD         AX, X4
	VPBROADCASTD X4, Y4

q2loop:
	VMULPS       (SI), Y1, Y0
	VADDPS       Y2, Y0, Y0
	VMAXPS       Y3, Y0, Y0
	VMINPS       Y4, Y0, Y0
	VCVTPS2DQ    Y0, Y0
	VEXTRACTI128 $1, Y0, X5
	VPACKSSDW    X5, X0, X0
	VPACKUSWB    X0, X0, X0
	VMOVQ        X0, (DI)
	ADDQ         $32, SI
	ADDQ         $8, DI
	SUBQ         $8, CX
	JNZ          q2loop
	VZEROUPPER
	RET

// func requantColsAVX2(dst *uint8, acc *int32, n int, bias *int32, mult *float32, zp, lo float32)
// is requantColsAVX512 with AVX2, eight at a time (n a multiple of 8, not
// 0), packed to bytes as quantizeAVX2 does.
TEXT ·requantColsAVX2(SB), NOSPLIT, $0-48
	MOVQ         dst+0(FP), DI
	MOVQ         acc+8(FP), SI
	MOVQ         n+16(FP), CX
	MOVQ         bias+24(FP), R8
	MOVQ         mult+32(FP), R9
	VBROADCASTSS zp+40(FP), Y2
	VBROADCASTSS lo+44(FP), Y3
	MOVL         $0x437f0000, AX // 255.0
	MOVD         AX, X4
	VPBROADCASTD X4, Y4

rc2loop:
	VMOVDQU      (SI), Y0
	VPADDD       (R8), Y0, Y0
	VCVTDQ2PS    Y0, Y0
	VMULPS       (R9), Y0, Y0
	VADDPS       Y2, Y0, Y0
	VMAXPS       Y3, Y0, Y0
	VMINPS       Y4, Y0, Y0
	VCVTPS2DQ    Y0, Y0
	VEXTRACTI128 $1, Y0, X5
	VPACKSSDW    X5, X0, X0
	VPACKUSWB    X0, X0, X0
	VMOVQ        X0, (DI)
	ADDQ         $32, SI
	ADDQ         $32, R8
	ADDQ         $32, R9
	ADDQ         $8, DI
	SUBQ         $8, CX
	JNZ          rc2loop
	VZEROUPPER
	RET
