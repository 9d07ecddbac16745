//go:build amd64 && !purego

#include "textflag.h"

// The direct int8 convolution of qconv.go with AVX-512 VNNI. The input is
// laid out with four channels to a 32-bit word, so that the 16 words at
// in+taps[t] are the four channels of tap t (a channel group, a kernel row
// and column) under 16 consecutive output pixels. VPDPBUSD multiplies them
// (unsigned) by one broadcast word of four int8 weights of one output
// channel and adds each group of four products to the pixel's lane,
// exactly. No unfold, no horizontal sums: lane l of accumulator k is
// output channel k at pixel l.

#define NARROW(off) \
	VPDPBUSD.BCST off+0(DX), Z16, Z0; \
	VPDPBUSD.BCST off+4(DX), Z16, Z1; \
	VPDPBUSD.BCST off+8(DX), Z16, Z2; \
	VPDPBUSD.BCST off+12(DX), Z16, Z3; \
	VPDPBUSD.BCST off+16(DX), Z16, Z4; \
	VPDPBUSD.BCST off+20(DX), Z16, Z5; \
	VPDPBUSD.BCST off+24(DX), Z16, Z6; \
	VPDPBUSD.BCST off+28(DX), Z16, Z7

#define WIDE \
	NARROW(0); \
	VPDPBUSD.BCST 32(DX), Z16, Z8; \
	VPDPBUSD.BCST 36(DX), Z16, Z9; \
	VPDPBUSD.BCST 40(DX), Z16, Z10; \
	VPDPBUSD.BCST 44(DX), Z16, Z11; \
	VPDPBUSD.BCST 48(DX), Z16, Z12; \
	VPDPBUSD.BCST 52(DX), Z16, Z13; \
	VPDPBUSD.BCST 56(DX), Z16, Z14; \
	VPDPBUSD.BCST 60(DX), Z16, Z15

// STORE(z) stores accumulator z under the lane mask K1 and moves to the
// next row of out, or ends when the block's nk channels are stored.
#define STORE(z) \
	VMOVDQU32 z, K1, (DI); \
	DECQ      R9; \
	JZ        done; \
	ADDQ      R8, DI

// REQUANT(z) stores requant(z + bias[k], mults[k], zp, lo) of qgemm.go as
// bytes under K1 (the steps of requantAVX512), and moves to the next
// channel or ends.
#define REQUANT(z) \
	VPADDD.BCST   (R10), z, z; \
	VCVTDQ2PS     z, z; \
	VMULPS.BCST   (R11), z, z; \
	VADDPS        Z17, z, z; \
	VMAXPS        Z18, z, z; \
	VMINPS        Z19, z, z; \
	VCVTPS2DQ     z, z; \
	VPMOVDB       z, K1, (DI); \
	DECQ          R9; \
	JZ            done; \
	ADDQ          $4, R10; \
	ADDQ          $4, R11; \
	ADDQ          R8, DI

// func qconvTileVNNI(in unsafe.Pointer, taps *int32, ntaps int, w, out unsafe.Pointer, ldout, nk int, mask uint16, bias *int32, mults *int32, zp, lo float32)
// computes acc[k][l] = Σ_t Σ_j in[taps[t]+4l+j]·w[t][k][j] for the lanes l
// of mask and the nk < 17 channels k of the block (w holds 8 channels'
// words per tap when nk ≤ 8, else 16), and stores it as int32 to
// out[k*ldout+l] when bias is nil, else requantized to a byte.
TEXT ·qconvTileVNNI(SB), NOSPLIT, $0-88
	MOVQ    in+0(FP), SI
	MOVQ    taps+8(FP), BX
	MOVQ    ntaps+16(FP), CX
	MOVQ    w+24(FP), DX
	MOVQ    out+32(FP), DI
	MOVQ    ldout+40(FP), R8
	MOVQ    nk+48(FP), R9
	MOVWLZX mask+56(FP), AX
	KMOVW   AX, K1
	MOVQ    bias+64(FP), R10
	MOVQ    mults+72(FP), R11
	VPXORD  Z0, Z0, Z0
	VPXORD  Z1, Z1, Z1
	VPXORD  Z2, Z2, Z2
	VPXORD  Z3, Z3, Z3
	VPXORD  Z4, Z4, Z4
	VPXORD  Z5, Z5, Z5
	VPXORD  Z6, Z6, Z6
	VPXORD  Z7, Z7, Z7
	CMPQ    R9, $8
	JGT     wide

narrow:
	MOVLQSX   (BX), AX
	VMOVDQU32 (SI)(AX*1), Z16
	NARROW(0)
	ADDQ      $4, BX
	ADDQ      $32, DX
	DECQ      CX
	JNZ       narrow
	JMP       store

wide:
	VPXORD Z8, Z8, Z8
	VPXORD Z9, Z9, Z9
	VPXORD Z10, Z10, Z10
	VPXORD Z11, Z11, Z11
	VPXORD Z12, Z12, Z12
	VPXORD Z13, Z13, Z13
	VPXORD Z14, Z14, Z14
	VPXORD Z15, Z15, Z15

wloop:
	MOVLQSX   (BX), AX
	VMOVDQU32 (SI)(AX*1), Z16
	WIDE
	ADDQ      $4, BX
	ADDQ      $64, DX
	DECQ      CX
	JNZ       wloop

store:
	TESTQ R10, R10
	JNZ   requant
	SHLQ  $2, R8
	STORE(Z0)
	STORE(Z1)
	STORE(Z2)
	STORE(Z3)
	STORE(Z4)
	STORE(Z5)
	STORE(Z6)
	STORE(Z7)
	STORE(Z8)
	STORE(Z9)
	STORE(Z10)
	STORE(Z11)
	STORE(Z12)
	STORE(Z13)
	STORE(Z14)
	VMOVDQU32 Z15, K1, (DI)
	JMP       done

requant:
	VBROADCASTSS zp+80(FP), Z17
	VBROADCASTSS lo+84(FP), Z18
	MOVL         $0x437f0000, AX // 255.0
	VPBROADCASTD AX, Z19
	REQUANT(Z0)
	REQUANT(Z1)
	REQUANT(Z2)
	REQUANT(Z3)
	REQUANT(Z4)
	REQUANT(Z5)
	REQUANT(Z6)
	REQUANT(Z7)
	REQUANT(Z8)
	REQUANT(Z9)
	REQUANT(Z10)
	REQUANT(Z11)
	REQUANT(Z12)
	REQUANT(Z13)
	REQUANT(Z14)
	REQUANT(Z15)

done:
	VZEROUPPER
	RET

// func qmaxPool2x2AVX512(dst, x *uint8, rows, w, ow int)
// pools 2×2 windows at stride 2: for each of rows pairs of input rows of
// w bytes (row pair r at x + 2rw), the ow maxima of bytes 2i, 2i+1 of both
// rows, to dst + r·ow. The pairs of one output byte are the two bytes of a
// 16-bit word: VPSRLW brings the odd byte beside the even one and VPMOVWB
// keeps the low byte of each word.
TEXT ·qmaxPool2x2AVX512(SB), NOSPLIT, $0-40
	MOVQ dst+0(FP), DI
	MOVQ x+8(FP), SI
	MOVQ rows+16(FP), CX
	MOVQ w+24(FP), R8
	MOVQ ow+32(FP), R9
	TESTQ CX, CX
	JZ    pdone
	// K2: the last 2·(ow mod 32) input bytes of a row; K3: their ow mod 32
	// outputs.
	MOVQ   R9, AX
	ANDQ   $31, AX
	MOVQ   $1, BX
	SHLXQ  AX, BX, DX
	DECQ   DX
	KMOVD  DX, K3
	ADDQ   AX, AX
	SHLXQ  AX, BX, DX
	DECQ   DX
	KMOVQ  DX, K2
	MOVQ  R9, R10
	SHRQ  $5, R10 // whole blocks of 32 outputs per row

prow:
	MOVQ SI, R11
	MOVQ DI, R12
	MOVQ R10, R13
	TESTQ R13, R13
	JZ    ptail

pblock:
	VMOVDQU8  (R11), Z0
	VPMAXUB   (R11)(R8*1), Z0, Z0
	VPSRLW    $8, Z0, Z1
	VPMAXUB   Z1, Z0, Z0
	VPMOVWB   Z0, (R12)
	ADDQ      $64, R11
	ADDQ      $32, R12
	DECQ      R13
	JNZ       pblock

ptail:
	MOVQ      R9, AX
	ANDQ      $31, AX
	JZ        pnext
	LEAQ      (R11)(R8*1), DX
	VMOVDQU8.Z (R11), K2, Z0
	VMOVDQU8.Z (DX), K2, Z1
	VPMAXUB   Z1, Z0, Z0
	VPSRLW    $8, Z0, Z1
	VPMAXUB   Z1, Z0, Z0
	VPMOVWB   Z0, K3, (R12)

pnext:
	LEAQ (SI)(R8*2), SI
	ADDQ R9, DI
	DECQ CX
	JNZ  prow

pdone:
	VZEROUPPER
	RET

// func qconvWordsAVX512(dst *uint32, a, b, c, d *uint8, n int)
// sets dst[i] = a[i] | b[i]<<8 | c[i]<<16 | d[i]<<24 for i < n: the words
// of the direct convolution's layout from four rows of bytes (four
// channels, or one padded row at four offsets), sixteen at a time.
TEXT ·qconvWordsAVX512(SB), NOSPLIT, $0-48
	MOVQ dst+0(FP), DI
	MOVQ a+8(FP), R8
	MOVQ b+16(FP), R9
	MOVQ c+24(FP), R10
	MOVQ d+32(FP), R11
	MOVQ n+40(FP), CX

wloop16:
	CMPQ       CX, $16
	JLT        wtail
	VPMOVZXBD  (R8), Z0
	VPMOVZXBD  (R9), Z1
	VPMOVZXBD  (R10), Z2
	VPMOVZXBD  (R11), Z3
	VPSLLD     $8, Z1, Z1
	VPSLLD     $16, Z2, Z2
	VPSLLD     $24, Z3, Z3
	VPORD      Z1, Z0, Z0
	VPTERNLOGD $0xfe, Z3, Z2, Z0
	VMOVDQU32  Z0, (DI)
	ADDQ       $16, R8
	ADDQ       $16, R9
	ADDQ       $16, R10
	ADDQ       $16, R11
	ADDQ       $64, DI
	SUBQ       $16, CX
	JMP        wloop16

wtail:
	TESTQ        CX, CX
	JZ           wdone
	MOVQ         $1, AX
	SHLQ         CX, AX
	DECQ         AX
	KMOVW        AX, K1
	VPMOVZXBD.Z  (R8), K1, Z0
	VPMOVZXBD.Z  (R9), K1, Z1
	VPMOVZXBD.Z  (R10), K1, Z2
	VPMOVZXBD.Z  (R11), K1, Z3
	VPSLLD       $8, Z1, Z1
	VPSLLD       $16, Z2, Z2
	VPSLLD       $24, Z3, Z3
	VPORD        Z1, Z0, Z0
	VPTERNLOGD   $0xfe, Z3, Z2, Z0
	VMOVDQU32    Z0, K1, (DI)

wdone:
	VZEROUPPER
	RET
